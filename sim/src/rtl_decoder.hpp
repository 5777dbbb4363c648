// The Verilated RTL (verilator --sc of rtl/ws_tans_decoder.sv, files from rtl/tans_decoder.f) as a
// decoder unit: its own clock at the decoder frequency (reset in the first clocks, before any chunk can
// have arrived); the pins (ws::TansDecoderPins) driven on the falling edge, sampled at the rising edge,
// the 2 x Lanes state ports packed into the port vectors as docs/tans_decoder.md section 1 has them.
#pragma once

#ifdef WS_SIM_RTL

#include <memory>

#include "core/ws_pkg.hpp"
#include "pin_decoder.hpp"

class Vws_tans_decoder;

namespace wsim {

class RtlDecoder : public PinDecoder {
 public:
  static constexpr int kLanes = 4;       // the Verilated instance's Lanes parameter (its default)
  static constexpr int kCountBits = 32;  // and its CountBits (its default)
  static constexpr int kStates = 2 * kLanes;

  RtlDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values, int out_beats,
             double mhz);
  ~RtlDecoder() override;

 private:
  ws::TansDecoderOutputs cycle(const ws::TansDecoderInputs& in) override;
  void reset();

  sc_core::sc_clock clk_;
  sc_core::sc_signal<bool> rst_n_, cfg_valid_, cfg_ready_, cfg_bank_, desc_valid_, desc_ready_, out_valid_,
      out_ready_, out_last_, err_clear_, err_;
  sc_core::sc_signal<uint32_t> cfg_addr_, cfg_data_, in_valid_, in_ready_, in_last_, out_data_, out_count_,
      err_cause_;
  sc_core::sc_signal<uint64_t> desc_data_;  // {count, bank, table log}: 5 + kCountBits bits
  sc_core::sc_signal<sc_dt::sc_bv<16 * kStates>> in_data_;
  std::unique_ptr<Vws_tans_decoder> dut_;
  bool reset_done_ = false;
};

}  // namespace wsim

#endif
