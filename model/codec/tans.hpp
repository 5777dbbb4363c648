// tANS (table-based asymmetric numeral systems) as specified in docs/format.md section 2.
// This is the golden model of the bitstream the RTL decoder consumes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"

namespace ws::tans {

constexpr int kMinTableLog = 5;
constexpr int kMaxTableLog = 12;
constexpr int kDefaultTableLog = 11;  // chosen by measurement, see docs/codec.md
constexpr int kMaxLanes = 8;
constexpr int kDefaultLanes = 4;      // chosen by measurement, see docs/codec.md

using Histogram = std::array<uint64_t, 256>;

// Normalised counts over the symbol range [first, last]; counts.size() == last - first + 1,
// sum(counts) == 1 << table_log.
struct NormalizedCounts {
  int table_log = 0;
  uint8_t first = 0;
  uint8_t last = 0;
  std::vector<uint16_t> counts;

  uint32_t table_size() const { return 1u << table_log; }
  uint32_t count(unsigned symbol) const {
    return symbol < first || symbol > last ? 0 : counts[symbol - first];
  }
};

// One decode-table entry (docs/format.md 2.3). pack() gives the word of the RTL config port,
// ws::pkg::tans_entry_t.
struct DecodeEntry {
  uint8_t symbol = 0;
  uint8_t nb_bits = 0;
  uint16_t next_base = 0;
  uint32_t pack() const {
    using E = pkg::tans_entry_t;
    return uint32_t(E::symbol.put(symbol) | E::nb_bits.put(nb_bits) | E::next_base.put(next_base));
  }
};

// Normalises a histogram to 2^table_log. If more distinct symbols occur than the table has slots the
// table log is raised (up to kMaxTableLog). No symbol that occurs gets a count of 0. Throws
// ws::FormatError for an empty histogram.
NormalizedCounts normalize(const Histogram& hist, int table_log = kDefaultTableLog);

// Validates counts (range, sum, table log) and throws ws::FormatError naming what is wrong.
void validate(const NormalizedCounts& nc);

std::vector<uint8_t> spread(const NormalizedCounts& nc);
std::vector<DecodeEntry> build_decode_table(const NormalizedCounts& nc);
// The same into table[0 .. 2^table_log), without allocating (the decoder's per-chunk path).
void build_decode_table(const NormalizedCounts& nc, DecodeEntry* table);

// Serialised counts (docs/format.md section 4, the chunk's "first, last, counts" fields).
void write_counts(const NormalizedCounts& nc, std::vector<uint8_t>& out);
// Reads counts from [p, end); advances p. Throws ws::FormatError on truncation or a bad table.
NormalizedCounts read_counts(const uint8_t*& p, const uint8_t* end, int table_log);

constexpr int kMaxStates = 2 * kMaxLanes;
constexpr int kUnitBits = 16;  // layout 2: each state's stream is whole 16-bit units

// How the interleaved states of a chunk read their bits (docs/format.md sections 2.4 and 2.5).
//   Shared (container version 1): K states, one stream; the fields lie in symbol order.
//   PerState (container version 3): S = 2K states, each with a stream of its own, padded to 16-bit
//   units; the hardware decodes two states per lane on alternate cycles (docs/tans_decoder.md).
// Symbol i belongs to state i mod (number of states) in both.
enum class Layout : uint8_t { Shared = 1, PerState = 2 };
constexpr Layout kDefaultLayout = Layout::PerState;
inline int states_of(Layout layout, int lanes) { return layout == Layout::PerState ? 2 * lanes : lanes; }
// Symbols state s decodes out of n: ceil((n - s) / states), 0 when s >= n.
inline uint64_t symbols_of_state(uint64_t n, int s, int states) {
  return n > uint64_t(s) ? (n - uint64_t(s) + uint64_t(states) - 1) / uint64_t(states) : 0;
}

struct EncodedSymbols {
  Layout layout = kDefaultLayout;
  int lanes = 1;
  // Shared: one stream, padded with zeros to a multiple of 4 bytes. PerState: one stream per state,
  // each padded with zeros to a multiple of 2 bytes (empty when the state reads no bits).
  std::vector<std::vector<uint8_t>> streams;
  uint64_t bit_count = 0;                             // all fields, before padding
  std::array<uint16_t, kMaxStates> initial_states{};  // decoder initial state per state
  int states() const { return states_of(layout, lanes); }
};

// Encodes n symbols with K = lanes interleaved lanes in the given layout. Every symbol must have a
// non-zero count.
EncodedSymbols encode(const uint8_t* symbols, size_t n, const NormalizedCounts& nc, int lanes,
                      Layout layout = kDefaultLayout);

struct StreamView {
  const uint8_t* data = nullptr;
  size_t bytes = 0;
};

// The functional model of the decoder, the one software definition of docs/format.md 2.4 and 2.5:
// decodes n symbols from streams[0] (Shared) or streams[0 .. 2K-1] (PerState). Throws
// ws::FormatError on any violation, checked in this order: "stream ends early" (a read past the end of
// a stream), "final state wrong in lane N" / "... in state N", "bits left over" (a whole word (Shared)
// or unit (PerState) after a stream's last field, or a padding bit that is 1), and before decoding
// "initial state ... is not below 2^L".
void decode(Layout layout, const StreamView* streams, const std::vector<DecodeEntry>& table, int table_log,
            int lanes, const uint16_t* initial_states, uint8_t* out, size_t n);
// The same with the table's 2^table_log entries at `table` (the decompressor's per-thread table).
void decode(Layout layout, const StreamView* streams, const DecodeEntry* table, int table_log, int lanes,
            const uint16_t* initial_states, uint8_t* out, size_t n);
// The same for what encode() produced.
void decode(const EncodedSymbols& enc, const std::vector<DecodeEntry>& table, int table_log, uint8_t* out,
            size_t n);

// Coded size in bits of a histogram under normalised counts (sum over symbols of
// hist[s] * log2(T / n_s)); used to choose counts and to report overhead.
double coded_bits(const Histogram& hist, const NormalizedCounts& nc);
// Order-0 entropy bound in bits: sum over symbols of hist[s] * log2(total / hist[s]).
double entropy_bits(const Histogram& hist);

}  // namespace ws::tans
