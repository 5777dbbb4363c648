#include "pin_decoder.hpp"

#include <string>

namespace wsim {

void PinDecoder::run_chunk(const StreamChunk& c, const std::vector<uint8_t>& bytes) {
  if (!c.coded) SC_REPORT_FATAL("decoder", "a raw chunk sent to a tANS decoder");
  const ws::ChunkView v = ws::parse_chunk(bytes.data() + c.value_chunk_offset, c.value_chunk_bytes);
  if (v.lanes != lanes())
    SC_REPORT_FATAL("decoder", ("chunk has " + std::to_string(v.lanes) + " lanes, the decoder " +
                                std::to_string(lanes())).c_str());
  driver_.start(v);
  symbols_.clear();
  const std::vector<uint16_t>& values = chunk_values();
  uint64_t clocks = 0;
  size_t emitted = 0;
  while (!driver_.done()) {
    // Inputs are decided at the falling edge, where nothing else touches the output FIFO (the bus
    // reads it at rising edges): both implementations see the same backpressure. out_ready only
    // when a whole step fits, so emit() below never waits.
    wait(period_ / 2);
    const ws::TansDecoderInputs in = driver_.drive(can_emit(lanes()));
    driver_.edge(in, cycle(in), symbols_);
    ++clocks;
    for (size_t i = emitted; i < symbols_.size(); ++i)
      if (i >= values.size() || symbols_[i] != ((values[i] >> 7) & 0xff))
        SC_REPORT_FATAL("decoder", ("symbol " + std::to_string(i) + " differs from the functional decode").c_str());
    if (symbols_.size() > emitted) {
      emit(int(symbols_.size() - emitted));
      emitted = symbols_.size();
    }
  }
  cycles_ += clocks;
}

}  // namespace wsim
