// The analytical bound: a pass (one token on each of the N processors) takes at least as long as
// its busiest resource needs, each counted alone from the workload and the parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"
#include "workload.hpp"

namespace wsim {

// Per-token attention traffic of a processor's KV port, for the pass's layers (all, or the sampled
// ones). KV cache: reads of `context` cached positions and the write of the new one, keys and values
// in bf16. DiJiang: its state read and written whole (state_bytes each), whatever the context; none
// when it stays on chip.
uint64_t kv_read_bytes(const Workload& w, const Config& cfg);
uint64_t kv_write_bytes(const Workload& w, const Config& cfg);

// DiJiang: one token's state for the pass's layers, [layers][heads][d][d] values of
// cfg.state_bytes_per_value bytes.
uint64_t state_bytes(const Workload& w, const Config& cfg);
// Whether the whole model's state fits a processor's SRAM (cfg.state_sram_bytes): then it stays there.
bool state_on_chip(const Workload& w, const Config& cfg);

struct Roofline {
  // Seconds per pass each resource needs on its own.
  double dram = 0;     // (weight stream + N x KV traffic) / bandwidth
  double fetch = 0;    // weight requests: one per memory clock, and `outstanding` in flight per latency
  double decoder = 0;  // decoder clocks of a pass in the steady state, chunks spread over the decoders
  double bus = 0;      // one beat per decoder clock
  double proc = 0;     // ceil(beat / array) clocks per beat
  double pass = 0;     // the largest
  std::string bound;   // which one
  uint64_t dram_bytes_per_pass = 0;
  double tokens_per_s = 0;         // N / pass
  double dram_bytes_per_token = 0;
};

Roofline roofline(const Workload& w, const Config& cfg);

// Decoder clocks of each chunk of `chunks` for one decoder that takes them back to back from idle,
// with an output that never stalls and every chunk there by the time its table may load: the
// documented timing (DecoderTiming; docs/token_factory.md section 2) that the tests hold the cycle
// model and the RTL to, chunk for chunk.
std::vector<uint64_t> decoder_chunk_cycles(const std::vector<StreamChunk>& chunks, const Config& cfg);

}  // namespace wsim
