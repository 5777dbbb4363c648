// One decompression unit behind the interface every implementation shares: it takes whole fetched
// chunks from `jobs`, and emits each chunk's stream values in order, packed into bus beats in `out`
// (a full FIFO stalls it). The data always comes from the functional unpacker (bit-exact, CRC
// checked); the implementation decides only *when* values come out: the documented decoder timing
// (FunctionalDecoder), the C++ cycle model, or the Verilated RTL, each ticking at the decoder clock.
// A 2:4 chunk goes to two decoders, as in rtl/ws_weight_pipeline.sv: the implementation runs the
// value sub-chunk; the metadata decoder beside it (half the symbols, docs/weight_pipeline.md) is
// counted by the table it loads over the configuration port the two share, before the value table.
#pragma once

#include <cstdint>
#include <systemc>
#include <vector>

#include "beat.hpp"
#include "input_buffer.hpp"
#include "workload.hpp"

namespace wsim {

class DecoderUnit : public sc_core::sc_module {
 public:
  sc_core::sc_fifo<FetchedChunk*> jobs;  // depth 1: the next chunk (a pin-level unit takes it early)
  sc_core::sc_fifo<Beat> out;

  DecoderUnit(sc_core::sc_module_name name, const Workload& w, InputBuffer& buffer, int bus_values,
              int out_beats, double mhz);

  uint64_t backlog() const { return backlog_; }   // values assigned and not yet emitted
  void assign(uint64_t values) { backlog_ += values; }
  uint64_t cycles() const { return cycles_; }     // clocks spent decoding (incl. stalls)
  uint64_t values() const { return values_; }
  // Pin-level engines: decoded symbols checked against the functional unpacker's, and how many differed.
  uint64_t symbols_checked() const { return checked_; }
  uint64_t symbol_mismatches() const { return mismatches_; }
  struct ChunkRecord {
    uint32_t pass, index;
    uint64_t cycles;  // from its first clock (or the previous chunk's last value) to its last value, stalls included
  };
  const std::vector<ChunkRecord>& chunk_log() const { return log_; }

 protected:
  // The unit's thread: takes chunks from `jobs` and emits their values, a chunk at a time in order,
  // through begin_output(), emit() and end_output().
  virtual void run() = 0;
  // The chunk whose values emit() sends next: unpacked here.
  void begin_output(FetchedChunk* c);
  // Its values have all gone: logs the clocks it took, frees its input buffer and deletes it.
  void end_output(FetchedChunk* c, uint64_t clocks);
  // Appends the next n values of the current chunk to the beat being built; a full beat (or the end
  // of the chunk) goes to `out`, waiting while it is full.
  void emit(int n);
  // Whether the next cycle's `n` values can be taken without waiting on `out`.
  bool can_emit(int n) const;

  // The current chunk's values as the functional unpacker gives them.
  const std::vector<uint16_t>& chunk_values() const { return data_; }

  const Workload& w_;
  sc_core::sc_time period_;
  uint64_t cycles_ = 0;
  uint64_t checked_ = 0, mismatches_ = 0;

 private:
  InputBuffer& buffer_;
  int bus_values_;
  uint64_t backlog_ = 0, values_ = 0;
  std::vector<ChunkRecord> log_;
  // The chunk being emitted.
  uint32_t pass_ = 0, index_ = 0;
  std::vector<uint16_t> data_;
  std::vector<uint8_t> idx_;
  size_t done_ = 0;
  Beat beat_;
};

}  // namespace wsim
