// Drives one ws_tans_decoder (the RTL, or its C++ cycle model: the same pins, ws::TansDecoderPins)
// through a queue of layout-2 chunks, each as the stream program (hw/stream_program.hpp) makes it:
// its table through the configuration port into a bank, its descriptor, and each state's units on
// the state's port; and takes the decoded symbols. Chunks alternate between the two table banks, so
// the next chunk's table loads while one decodes (docs/tans_decoder.md section 1): a chunk's writes
// start once the descriptor of the chunk before it has been taken (the bank they overwrite is then
// free), its descriptor follows its last write, and each port takes the next chunk's units after
// the current chunk's last. Pure C++ with no clock of its own, so that the RTL and the cycle model
// see the very same stimulus: each cycle, drive() says what to put on the inputs, and edge() is told
// what the outputs showed at the rising edge with those inputs.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "codec/chunk.hpp"
#include "hw/stream_program.hpp"
#include "hw/tans_decoder_model.hpp"

namespace wsim {

class TansDriver {
 public:
  explicit TansDriver(int lanes) : lanes_(lanes) {}

  // Queues a chunk of n > 0 values; `v` points into bytes that outlive its run. `shared_cfg_slots`:
  // clocks the configuration port spends on another decoder's table (a 2:4 chunk's metadata table,
  // on the port the two decoders share) before this chunk's table.
  void add(const ws::ChunkView& v, uint32_t shared_cfg_slots = 0);
  // Chunks whose last beat has not come yet.
  size_t queued() const { return chunks_.size(); }
  // Whether a chunk added now could start its table at once: every queued chunk's descriptor has
  // been taken (at most one chunk waits on the port at a time).
  bool ready_for_next() const;

  ws::TansDecoderInputs drive(bool out_ready) const;
  // Transfers at the edge; appends the symbols taken and returns true on the front chunk's last beat
  // (the chunk leaves the queue). Throws std::runtime_error on err.
  bool edge(const ws::TansDecoderInputs& in, const ws::TansDecoderOutputs& out, std::vector<uint8_t>& symbols);

 private:
  struct Chunk {
    ws::TansChunkProgram program;
    uint32_t shared_slots = 0;  // left before the table
    size_t next_write = 0;
    bool desc_taken = false;
    std::vector<size_t> next_unit;  // per state
  };
  // The chunk on the configuration and descriptor ports: the first whose descriptor is not taken.
  const Chunk* loading() const;
  Chunk* loading() { return const_cast<Chunk*>(static_cast<const TansDriver*>(this)->loading()); }
  // The chunk on state s's port: the first with units left there.
  const Chunk* on_port(int s) const;
  Chunk* on_port(int s) { return const_cast<Chunk*>(static_cast<const TansDriver*>(this)->on_port(s)); }

  int lanes_;
  bool bank_ = true;  // the bank of the chunk added last
  std::deque<Chunk> chunks_;
};

}  // namespace wsim
