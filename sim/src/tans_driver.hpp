// Drives one ws_tans_decoder (the RTL, or its C++ cycle model: the same pins) through a chunk: the
// decode table through the configuration port, the descriptor, the symbol-stream words, and takes
// the decoded symbols. Pure C++ with no clock of its own, so that the RTL and the cycle model see the
// very same stimulus: each cycle, drive() says what to put on the inputs, and edge() is told what the
// outputs showed at the rising edge with those inputs.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/tans.hpp"

namespace wsim {

struct TansInputs {
  bool cfg_valid = false;
  uint32_t cfg_addr = 0, cfg_data = 0;
  bool desc_valid = false;
  std::array<uint16_t, ws::tans::kMaxLanes> state{};
  uint32_t count = 0;
  bool no_stream = false;
  uint32_t table_log = 0;
  bool in_valid = false;
  uint32_t in_data = 0;
  bool in_last = false;
  bool out_ready = false;
};

struct TansOutputs {
  bool cfg_ready = false, desc_ready = false, in_ready = false;
  bool out_valid = false;
  uint64_t out_data = 0;  // lane 0 in the low byte
  uint32_t out_count = 0;
  bool out_last = false;
  bool err = false;
  uint32_t err_cause = 0;
};

class TansDriver {
 public:
  // A chunk to decode; `v` points into bytes that outlive the run. Chunks of 0 values need no run.
  void start(const ws::ChunkView& v);
  bool done() const { return done_; }
  TansInputs drive(bool out_ready) const;
  // Transfers at the edge; appends the symbols taken. Throws std::runtime_error on err.
  void edge(const TansInputs& in, const TansOutputs& out, std::vector<uint8_t>& symbols);

 private:
  std::vector<uint32_t> table_;  // packed entries
  std::vector<uint32_t> words_;  // the symbol stream
  TansInputs desc_;
  size_t next_entry_ = 0, next_word_ = 0;
  bool desc_sent_ = false, done_ = true;
};

}  // namespace wsim
