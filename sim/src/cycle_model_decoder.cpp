#include "cycle_model_decoder.hpp"

namespace wsim {

namespace {
ws::TansDecoderParams params_with(int lanes) {
  ws::TansDecoderParams p;
  p.lanes = lanes;
  return p;
}
}  // namespace

CycleModelDecoder::CycleModelDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer,
                                     int bus_values, int out_beats, double mhz, int lanes)
    : PinDecoder(name, w, buffer, bus_values, out_beats, mhz), model_(params_with(lanes)) {}

TansOutputs CycleModelDecoder::cycle(const TansInputs& in) {
  ws::TansDecoderModel& m = model_;
  m.cfg_valid = in.cfg_valid;
  m.cfg_addr = in.cfg_addr;
  m.cfg_data = in.cfg_data;
  m.desc_valid = in.desc_valid;
  m.desc.table_log = in.table_log;
  m.desc.no_stream = in.no_stream;
  m.desc.count = in.count;
  for (size_t j = 0; j < m.desc.states.size(); ++j) m.desc.states[j] = in.state[j];
  m.in_valid = in.in_valid;
  m.in_data = in.in_data;
  m.in_last = in.in_last;
  m.out_ready = in.out_ready;
  m.eval();
  TansOutputs o;
  o.cfg_ready = m.cfg_ready;
  o.desc_ready = m.desc_ready;
  o.in_ready = m.in_ready;
  o.out_valid = m.out_valid;
  for (int i = 0; i < m.out_count && i < 8; ++i) o.out_data |= uint64_t(m.out_data[size_t(i)]) << (8 * i);
  o.out_count = uint32_t(m.out_count);
  o.out_last = m.out_last;
  o.err = m.err;
  o.err_cause = uint32_t(m.err_cause);
  wait(period_ / 2);  // to the rising edge
  m.tick();
  return o;
}

}  // namespace wsim
