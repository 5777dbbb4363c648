// A decoder unit that runs a pin-accurate ws_tans_decoder a clock at a time through TansDriver: the
// Verilated RTL (RtlDecoder) or the C++ cycle model (CycleModelDecoder) implement cycle() on the
// decoder's one pin structure (ws::TansDecoderPins). It holds up to two chunks: the one decoding and
// the next, whose table loads into the other bank meanwhile (taken from `jobs` once the current
// chunk's descriptor is in). Its decoded symbols are checked against the exponents of the functional
// unpacker's values (counted; the values that go on are the unpacker's).
#pragma once

#include <deque>
#include <memory>

#include "decoder_unit.hpp"
#include "tans_driver.hpp"

namespace wsim {

class PinDecoder : public DecoderUnit {
 public:
  PinDecoder(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values, int out_beats,
             double mhz, int lanes);

 protected:
  // Called at a falling edge with the inputs for the rest of the cycle; returns the outputs seen at
  // the next rising edge, and returns at it.
  virtual ws::TansDecoderOutputs cycle(const ws::TansDecoderInputs& in) = 0;

 private:
  void run() override;
  // Gives the driver a chunk taken from `jobs` (a chunk of no values goes out at once).
  void take(FetchedChunk* c);

  int lanes_;
  TansDriver driver_;
  std::deque<FetchedChunk*> chunks_;  // in the driver, oldest (whose values go out) first
  std::vector<uint8_t> symbols_;      // of the oldest
  uint64_t clocks_ = 0;               // since the last chunk's last beat
};

}  // namespace wsim
