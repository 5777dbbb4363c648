// Drives one ws_tans_decoder (the RTL, or its C++ cycle model: the same pins, ws::TansDecoderPins)
// through a chunk: what the stream program (hw/stream_program.hpp) makes of it, the table through the
// configuration port, the descriptor, the symbol-stream words; and takes the decoded symbols. Pure
// C++ with no clock of its own, so that the RTL and the cycle model see the very same stimulus: each
// cycle, drive() says what to put on the inputs, and edge() is told what the outputs showed at the
// rising edge with those inputs.
#pragma once

#include <cstdint>
#include <vector>

#include "codec/chunk.hpp"
#include "hw/stream_program.hpp"
#include "hw/tans_decoder_model.hpp"

namespace wsim {

class TansDriver {
 public:
  // A chunk to decode; `v` points into bytes that outlive the run. Chunks of 0 values need no run.
  void start(const ws::ChunkView& v);
  bool done() const { return done_; }
  ws::TansDecoderInputs drive(bool out_ready) const;
  // Transfers at the edge; appends the symbols taken. Throws std::runtime_error on err.
  void edge(const ws::TansDecoderInputs& in, const ws::TansDecoderOutputs& out, std::vector<uint8_t>& symbols);

 private:
  ws::TansChunkProgram chunk_;
  size_t next_entry_ = 0, next_word_ = 0;
  bool desc_sent_ = false, done_ = true;
};

}  // namespace wsim
