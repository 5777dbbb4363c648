#ifdef WS_SIM_RTL

#include "rtl_decoder.hpp"

#include <vector>

#include "Vws_tans_decoder.h"

namespace wsim {

using namespace sc_core;

RtlDecoder::RtlDecoder(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values, int out_beats,
                       double mhz)
    : PinDecoder(name, w, buffer, bus_values, out_beats, mhz, kLanes), clk_("clk", period_, 0.5, SC_ZERO_TIME, true),
      dut_(std::make_unique<Vws_tans_decoder>("dut")) {
  Vws_tans_decoder& d = *dut_;
  d.clk_i(clk_);
  d.rst_ni(rst_n_);
  d.cfg_valid_i(cfg_valid_);
  d.cfg_ready_o(cfg_ready_);
  d.cfg_bank_i(cfg_bank_);
  d.cfg_addr_i(cfg_addr_);
  d.cfg_data_i(cfg_data_);
  d.desc_valid_i(desc_valid_);
  d.desc_ready_o(desc_ready_);
  d.desc_data_i(desc_data_);
  d.in_valid_i(in_valid_);
  d.in_ready_o(in_ready_);
  d.in_data_i(in_data_);
  d.in_last_i(in_last_);
  d.out_valid_o(out_valid_);
  d.out_ready_i(out_ready_);
  d.out_data_o(out_data_);
  d.out_count_o(out_count_);
  d.out_last_o(out_last_);
  d.err_clear_i(err_clear_);
  d.err_o(err_);
  d.err_cause_o(err_cause_);
  SC_HAS_PROCESS(RtlDecoder);
  SC_THREAD(reset);
}

RtlDecoder::~RtlDecoder() = default;

void RtlDecoder::reset() {
  rst_n_.write(false);
  wait(clk_.posedge_event());
  wait(clk_.posedge_event());
  wait(clk_.negedge_event());
  rst_n_.write(true);
  wait(clk_.posedge_event());
  reset_done_ = true;
}

ws::TansDecoderOutputs RtlDecoder::cycle(const ws::TansDecoderInputs& in) {
  if (!reset_done_) SC_REPORT_FATAL("decoder", "RTL used before its reset");
  cfg_valid_.write(in.cfg_valid);
  cfg_bank_.write(in.cfg_bank);
  cfg_addr_.write(in.cfg_addr);
  cfg_data_.write(in.cfg_data);
  desc_valid_.write(in.desc_valid);
  if (in.desc_valid) {
    ws::TansDecoderParams p;
    p.lanes = kLanes;
    p.count_bits = kCountBits;
    const std::vector<uint32_t> words = in.desc.pack(p);
    uint64_t desc = 0;
    for (size_t i = 0; i < words.size() && i < 2; ++i) desc |= uint64_t(words[i]) << (32 * i);
    desc_data_.write(desc);
  }
  uint32_t valid = 0, last = 0;
  bool any = false;
  for (int s = 0; s < kStates; ++s) {
    valid |= uint32_t(in.in_valid[size_t(s)]) << s;
    last |= uint32_t(in.in_last[size_t(s)]) << s;
    any |= in.in_valid[size_t(s)];
  }
  in_valid_.write(valid);
  in_last_.write(last);
  if (any) {  // an sc_bv write is costly: only while a unit is offered
    sc_dt::sc_bv<16 * kStates> data;
    for (int s = 0; s < kStates; s += 2)
      data.set_word(s / 2, uint32_t(in.in_data[size_t(s)]) | uint32_t(in.in_data[size_t(s + 1)]) << 16);
    in_data_.write(data);
  }
  out_ready_.write(in.out_ready);
  err_clear_.write(in.err_clear);
  wait(clk_.posedge_event());
  // Woken with the edge: the signals still hold the values the edge sampled.
  ws::TansDecoderOutputs o;
  o.cfg_ready = cfg_ready_.read();
  o.desc_ready = desc_ready_.read();
  const uint32_t ready = in_ready_.read();
  for (int s = 0; s < kStates; ++s) o.in_ready[size_t(s)] = (ready >> s) & 1;
  o.out_valid = out_valid_.read();
  const uint32_t data = out_data_.read();
  for (int j = 0; j < kLanes; ++j) o.out_data[size_t(j)] = uint8_t(data >> (8 * j));
  o.out_count = int(out_count_.read());
  o.out_last = out_last_.read();
  o.err = err_.read();
  o.err_cause = ws::pkg::tans_err_e(err_cause_.read());
  return o;
}

}  // namespace wsim

#endif
