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
    : PinDecoder(name, w, buffer, bus_values, out_beats, mhz, lanes), model_(params_with(lanes)) {}

ws::TansDecoderOutputs CycleModelDecoder::cycle(const ws::TansDecoderInputs& in) {
  model_.in = in;
  model_.eval();
  const ws::TansDecoderOutputs out = model_.out;
  wait(period_ / 2);  // to the rising edge
  model_.tick();
  return out;
}

}  // namespace wsim
