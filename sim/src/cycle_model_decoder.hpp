// The C++ cycle model of the RTL decoder (ws::TansDecoderModel) as a decoder unit: its pins set,
// eval(), outputs read, tick() once per decoder clock.
#pragma once

#include "pin_decoder.hpp"
#include "hw/tans_decoder_model.hpp"

namespace wsim {

class CycleModelDecoder : public PinDecoder {
 public:
  CycleModelDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
                    int out_beats, double mhz, int lanes);

 private:
  ws::TansDecoderOutputs cycle(const ws::TansDecoderInputs& in) override;

  ws::TansDecoderModel model_;
};

}  // namespace wsim
