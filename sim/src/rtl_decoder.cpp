#ifdef WS_SIM_RTL

#include "rtl_decoder.hpp"

#include "Vws_tans_decoder.h"

namespace wsim {

using namespace sc_core;

RtlDecoder::RtlDecoder(sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values, int out_beats,
                       double mhz)
    : PinDecoder(name, w, buffer, bus_values, out_beats, mhz), clk_("clk", period_, 0.5, SC_ZERO_TIME, true),
      dut_(std::make_unique<Vws_tans_decoder>("dut")) {
  Vws_tans_decoder& d = *dut_;
  d.clk_i(clk_);
  d.rst_ni(rst_n_);
  d.cfg_valid_i(cfg_valid_);
  d.cfg_ready_o(cfg_ready_);
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

TansOutputs RtlDecoder::cycle(const TansInputs& in) {
  if (!reset_done_) SC_REPORT_FATAL("decoder", "RTL used before its reset");
  cfg_valid_.write(in.cfg_valid);
  cfg_addr_.write(in.cfg_addr);
  cfg_data_.write(in.cfg_data);
  desc_valid_.write(in.desc_valid);
  if (in.desc_valid) {  // an sc_bv write is costly: only while a descriptor is offered
    sc_dt::sc_bv<5 + 32 + 16 * kLanes> desc;
    desc.range(3, 0) = in.table_log;
    desc[4] = in.no_stream;
    desc.range(36, 5) = in.count;
    for (int j = 0; j < kLanes; ++j) desc.range(37 + 16 * j + 15, 37 + 16 * j) = in.state[size_t(j)];
    desc_data_.write(desc);
  }
  in_valid_.write(in.in_valid);
  in_data_.write(in.in_data);
  in_last_.write(in.in_last);
  out_ready_.write(in.out_ready);
  wait(clk_.posedge_event());
  // Woken with the edge: the signals still hold the values the edge sampled.
  TansOutputs o;
  o.cfg_ready = cfg_ready_.read();
  o.desc_ready = desc_ready_.read();
  o.in_ready = in_ready_.read();
  o.out_valid = out_valid_.read();
  o.out_data = out_data_.read();
  o.out_count = out_count_.read();
  o.out_last = out_last_.read();
  o.err = err_.read();
  o.err_cause = err_cause_.read();
  return o;
}

}  // namespace wsim

#endif
