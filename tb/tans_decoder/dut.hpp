// The two implementations of the tANS decoder behind its one pin structure, ws::TansDecoderPins: the
// cycle model itself, and the Verilated RTL through its adapter. A test body written against the pins
// (set `in`, eval(), read `out`, tick()) runs on either.
#pragma once

#include <cstdint>
#include <string>

#include "hw/tans_decoder_model.hpp"
#include "verilated_dut.hpp"

namespace tbdec {

template <int Lanes, int MaxTableLog>
ws::TansDecoderParams params_of() {
  ws::TansDecoderParams p;
  p.lanes = Lanes;
  p.max_table_log = MaxTableLog;
  return p;
}

// The cycle model.
template <int Lanes, int MaxTableLog = 12>
class ModelDut : public ws::TansDecoderModel {
 public:
  static constexpr bool kRtl = false;
  static ws::TansDecoderParams params() { return params_of<Lanes, MaxTableLog>(); }
  static std::string name() { return "model_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog); }

  explicit ModelDut(const std::string& /*waves*/) : ws::TansDecoderModel(params()) {}
  bool assertion_failed() const { return false; }
};

// The Verilated RTL, V = Vws_tans_decoder_<config>: the pins to and from V's ports.
template <class V, int Lanes, int MaxTableLog = 12>
class RtlDut : public tb::VerilatedPins<RtlDut<V, Lanes, MaxTableLog>, V, ws::TansDecoderPins> {
 public:
  static constexpr bool kRtl = true;
  static ws::TansDecoderParams params() { return params_of<Lanes, MaxTableLog>(); }
  static std::string name() { return "rtl_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog); }

  explicit RtlDut(const std::string& waves) : RtlDut::VerilatedPins(waves) { this->eval(); }

  void drive(V& t) const {
    const ws::TansDecoderInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.desc_valid_i = in.desc_valid;
    tb::set_words(t.desc_data_i, in.desc.pack(params()));
    t.in_valid_i = in.in_valid;
    t.in_data_i = uint32_t(in.in_data);
    t.in_last_i = in.in_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::TansDecoderOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.desc_ready = t.desc_ready_o;
    out.in_ready = t.in_ready_o;
    out.out_valid = t.out_valid_o;
    const uint64_t d = t.out_data_o;  // 8 * Lanes bits
    for (int j = 0; j < Lanes; ++j) out.out_data[size_t(j)] = uint8_t(d >> (8 * j));
    out.out_count = t.out_count_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::tans_err_e(t.err_cause_o);
  }
};

}  // namespace tbdec
