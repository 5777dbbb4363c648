// A decoder unit that runs a pin-accurate ws_tans_decoder a clock at a time through TansDriver: the
// Verilated RTL (RtlDecoder) or the C++ cycle model (CycleModelDecoder) implement cycle() on the
// decoder's one pin structure (ws::TansDecoderPins). Its
// decoded symbols are checked against the exponents of the functional unpacker's values.
#pragma once

#include "decoder_unit.hpp"
#include "tans_driver.hpp"

namespace wsim {

class PinDecoder : public DecoderUnit {
 public:
  using DecoderUnit::DecoderUnit;
 protected:
  // Called at a falling edge with the inputs for the rest of the cycle; returns the outputs seen at
  // the next rising edge, and returns at it.
  virtual ws::TansDecoderOutputs cycle(const ws::TansDecoderInputs& in) = 0;
  virtual int lanes() const = 0;

 private:
  void run_chunk(const StreamChunk& c, const std::vector<uint8_t>& bytes) override;

  TansDriver driver_;
  std::vector<uint8_t> symbols_;
};

}  // namespace wsim
