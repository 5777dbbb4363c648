// tANS golden model (docs/format.md section 2, counts serialisation of section 4).
#include "codec/tans.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/bitstream.hpp"
#include "core/bytes.hpp"
#include "core/cpu_clones.hpp"
#include "core/error.hpp"

namespace ws::tans {
namespace {

int bit_length(uint32_t v) { return v == 0 ? 0 : 32 - __builtin_clz(v); }

int floor_log2(uint32_t v) { return bit_length(v) - 1; }  // v > 0

bool valid_lanes(int lanes) { return lanes == 1 || lanes == 2 || lanes == 4 || lanes == 8; }

// Cost in bits of coding `h` symbols at count c, and the change when c moves by one.
double gain_of_increment(uint64_t h, uint32_t c) {
  return double(h) * std::log2(double(c + 1) / double(c));
}
double loss_of_decrement(uint64_t h, uint32_t c) {
  if (c <= 1) return std::numeric_limits<double>::infinity();  // an occurring symbol keeps >= 1
  return double(h) * std::log2(double(c) / double(c - 1));
}

}  // namespace

NormalizedCounts normalize(const Histogram& hist, int table_log) {
  if (table_log < kMinTableLog || table_log > kMaxTableLog)
    throw std::invalid_argument("normalize: table log " + std::to_string(table_log) +
                                " out of range 5..12");
  uint64_t total = 0;
  int distinct = 0, first = -1, last = -1;
  for (int s = 0; s < 256; ++s) {
    if (hist[s] == 0) continue;
    total += hist[s];
    ++distinct;
    if (first < 0) first = s;
    last = s;
  }
  if (total == 0) throw FormatError("cannot normalise an empty histogram");
  while ((1 << table_log) < distinct) ++table_log;  // 256 symbols need L = 8 at most

  NormalizedCounts nc;
  nc.table_log = table_log;
  nc.first = uint8_t(first);
  nc.last = uint8_t(last);
  nc.counts.assign(size_t(last - first + 1), 0);
  const uint32_t T = nc.table_size();

  // 1. Proportional start: floor(T * p_s), but at least 1 for every occurring symbol.
  std::vector<uint32_t> c(256, 0);
  int64_t sum = 0;
  for (int s = first; s <= last; ++s) {
    if (hist[s] == 0) continue;
    uint64_t share = uint64_t((long double)T * hist[s] / total);
    c[s] = share < 1 ? 1 : uint32_t(share);
    sum += c[s];
  }

  // Symbol whose increment saves the most bits, and whose decrement costs the fewest. Ties go to the
  // lowest symbol, so the result is deterministic.
  auto best_increment = [&]() {
    int best = -1;
    double best_gain = -1;
    for (int s = first; s <= last; ++s) {
      if (hist[s] == 0) continue;
      double g = gain_of_increment(hist[s], c[s]);
      if (g > best_gain) best_gain = g, best = s;
    }
    return std::make_pair(best, best_gain);
  };
  auto best_decrement = [&]() {
    int best = -1;
    double best_loss = std::numeric_limits<double>::infinity();
    for (int s = first; s <= last; ++s) {
      if (hist[s] == 0) continue;
      double l = loss_of_decrement(hist[s], c[s]);
      if (l < best_loss) best_loss = l, best = s;
    }
    return std::make_pair(best, best_loss);
  };

  // 2. Greedy repair of the sum, one count at a time, by the smallest change of the coded size.
  while (sum < T) ++c[best_increment().first], ++sum;
  while (sum > T) --c[best_decrement().first], --sum;  // sum > T implies some count > 1

  // 3. Exchange: move one count from where it costs least to where it saves most, while that
  // shrinks the coded size. The cost is a sum of convex functions of each count, so when no such
  // move remains the counts are optimal for coded_bits().
  for (;;) {
    auto [up, gain] = best_increment();
    auto [down, loss] = best_decrement();
    if (down < 0 || up == down || !(gain > loss * (1 + 1e-12))) break;
    ++c[up];
    --c[down];
  }

  for (int s = first; s <= last; ++s) nc.counts[size_t(s - first)] = uint16_t(c[s]);
  return nc;
}

void validate(const NormalizedCounts& nc) {
  if (nc.table_log < kMinTableLog || nc.table_log > kMaxTableLog)
    throw FormatError("bad table log " + std::to_string(nc.table_log) + " (must be 5..12)");
  if (nc.first > nc.last) throw FormatError("first symbol is above last symbol");
  if (nc.counts.size() != size_t(nc.last - nc.first + 1))
    throw FormatError("count list does not match the symbol range");
  uint64_t sum = 0;
  for (uint16_t c : nc.counts) sum += c;
  if (sum != nc.table_size()) throw FormatError("table does not sum to 2^L");
}

std::vector<uint8_t> spread(const NormalizedCounts& nc) {
  validate(nc);
  const uint32_t T = nc.table_size();
  const uint32_t step = (T >> 1) + (T >> 3) + 3;
  std::vector<uint8_t> table(T, 0);
  uint32_t pos = 0;
  for (unsigned s = nc.first; s <= nc.last; ++s)
    for (uint32_t i = 0; i < nc.count(s); ++i) {
      table[pos] = uint8_t(s);
      pos = (pos + step) & (T - 1);
    }
  return table;
}

std::vector<DecodeEntry> build_decode_table(const NormalizedCounts& nc) {
  validate(nc);
  std::vector<DecodeEntry> table(nc.table_size());
  build_decode_table(nc, table.data());
  return table;
}

void build_decode_table(const NormalizedCounts& nc, DecodeEntry* table) {
  validate(nc);
  const uint32_t T = nc.table_size();
  // The spread of spread(), written straight into the entries' symbols.
  const uint32_t step = (T >> 1) + (T >> 3) + 3;
  uint32_t pos = 0;
  for (unsigned s = nc.first; s <= nc.last; ++s)
    for (uint32_t i = nc.count(s); i > 0; --i) {
      table[pos].symbol = uint8_t(s);
      pos = (pos + step) & (T - 1);
    }
  std::array<uint32_t, 256> next{};
  for (unsigned s = nc.first; s <= nc.last; ++s) next[s] = nc.count(s);
  for (uint32_t x = 0; x < T; ++x) {
    const uint32_t k = next[table[x].symbol]++;
    const int nb = nc.table_log - floor_log2(k);
    table[x].nb_bits = uint8_t(nb);
    table[x].next_base = uint16_t((k << nb) - T);
  }
}

void write_counts(const NormalizedCounts& nc, std::vector<uint8_t>& out) {
  validate(nc);
  out.push_back(nc.first);
  out.push_back(nc.last);
  BitWriter w(out);
  uint32_t remaining = nc.table_size();
  for (uint16_t c : nc.counts) {
    w.write(c, bit_length(remaining));
    remaining -= c;
  }
  w.pad_to_bytes();
}

NormalizedCounts read_counts(const uint8_t*& p, const uint8_t* end, int table_log) {
  if (table_log < kMinTableLog || table_log > kMaxTableLog)
    throw FormatError("bad table log " + std::to_string(table_log) + " (must be 5..12)");
  if (end - p < 2) throw FormatError("chunk truncated in symbol range");
  NormalizedCounts nc;
  nc.table_log = table_log;
  nc.first = p[0];
  nc.last = p[1];
  if (nc.first > nc.last) throw FormatError("first symbol is above last symbol");
  p += 2;
  BitReader r(p, size_t(end - p));
  uint32_t remaining = nc.table_size();
  nc.counts.resize(size_t(nc.last - nc.first + 1));
  try {
    for (auto& c : nc.counts) {
      uint32_t v = r.read(bit_length(remaining));
      if (v > remaining) throw FormatError("table does not sum to 2^L");
      c = uint16_t(v);
      remaining -= v;
    }
    // The padding up to the byte must be zero too.
    if (r.read(int((8 - r.position() % 8) % 8)) != 0) throw FormatError("bits left over in counts");
  } catch (const FormatError& e) {
    if (std::string(e.what()) == "stream ends early") throw FormatError("chunk truncated in counts");
    throw;
  }
  if (remaining != 0) throw FormatError("table does not sum to 2^L");
  p += r.position() / 8;
  return nc;
}

namespace {

// The fields i = first, first + step, ... (< n) written forward as a bit stream (docs/format.md
// section 1), a 32-bit word at a time (the BitWriter layout without its per-call cost: this loop
// runs once per weight), padded with zeros to a multiple of pad_bytes.
std::vector<uint8_t> write_fields(const uint16_t* value, const uint8_t* bits, size_t first, size_t step, size_t n,
                                  size_t pad_bytes) {
  uint64_t total = 0;
  for (size_t i = first; i < n; i += step) total += bits[i];
  std::vector<uint8_t> out(size_t((total + 8 * pad_bytes - 1) / (8 * pad_bytes) * pad_bytes), 0);
  uint8_t* o = out.data();
  uint64_t acc = 0;
  unsigned acc_bits = 0;
  for (size_t i = first; i < n; i += step) {
    acc |= uint64_t(value[i]) << acc_bits;
    acc_bits += bits[i];
    if (acc_bits >= 32) {
      store_le(o, acc, 4);
      o += 4;
      acc >>= 32;
      acc_bits -= 32;
    }
  }
  for (unsigned b = 0; b < acc_bits; b += 8) *o++ = uint8_t(acc >> b);  // the last, partial word
  return out;
}

}  // namespace

EncodedSymbols encode(const uint8_t* symbols, size_t n, const NormalizedCounts& nc, int lanes, Layout layout) {
  validate(nc);
  if (!valid_lanes(lanes)) throw std::invalid_argument("encode: lanes must be 1, 2, 4 or 8");
  const int L = nc.table_log;
  const uint32_t T = nc.table_size();
  const std::vector<uint8_t> sp = spread(nc);

  // FSE encoding table. state_table[cumul[s] + j] = T + (position of s's j-th slot in the spread),
  // so it maps a sub-range index k - n_s back to the encoder state whose decode entry has rank k.
  std::array<uint32_t, 257> cumul{};
  for (int s = 0; s < 256; ++s) cumul[s + 1] = cumul[s] + nc.count(unsigned(s));
  std::vector<uint16_t> state_table(T);
  {
    std::array<uint32_t, 256> fill{};
    for (int s = 0; s < 256; ++s) fill[s] = cumul[s];
    for (uint32_t u = 0; u < T; ++u) state_table[fill[sp[u]]++] = uint16_t(T + u);
  }
  // nb_out = (X + delta_nb_bits) >> 16 is max_bits for X >= n_s << max_bits, else max_bits - 1,
  // where max_bits = L - floor(log2(n_s - 1)) (L for n_s = 1) is the most bits s ever needs.
  std::array<uint32_t, 256> delta_nb_bits{};
  std::array<int32_t, 256> delta_find_state{};
  for (int s = 0; s < 256; ++s) {
    uint32_t c = nc.count(unsigned(s));
    if (c == 0) continue;
    uint32_t max_bits = c == 1 ? uint32_t(L) : uint32_t(L - floor_log2(c - 1));
    delta_nb_bits[s] = (max_bits << 16) - (c << max_bits);
    delta_find_state[s] = int32_t(cumul[s]) - int32_t(c);
  }

  // Encode in reverse, keeping each symbol's field so that it can be written forward.
  EncodedSymbols enc;
  enc.layout = layout;
  enc.lanes = lanes;
  const int states = enc.states();
  std::vector<uint16_t> field_value(n);
  std::vector<uint8_t> field_bits(n);
  std::array<uint32_t, kMaxStates> X;
  X.fill(T);
  const size_t state_mask = size_t(states) - 1;  // a power of two
  for (size_t i = n; i-- > 0;) {
    const uint8_t s = symbols[i];
    if (delta_nb_bits[s] == 0)  // only symbols with count 0 have no encoding entry
      throw std::invalid_argument("encode: symbol " + std::to_string(s) + " has count 0");
    uint32_t& x = X[i & state_mask];
    const uint32_t nb = (x + delta_nb_bits[s]) >> 16;
    field_value[i] = uint16_t(x & ((1u << nb) - 1));
    field_bits[i] = uint8_t(nb);
    enc.bit_count += nb;
    x = state_table[size_t(int32_t(x >> nb) + delta_find_state[s])];
  }
  if (layout == Layout::Shared) {
    enc.streams.push_back(write_fields(field_value.data(), field_bits.data(), 0, 1, n, 4));
  } else {
    for (int s = 0; s < states; ++s)
      enc.streams.push_back(write_fields(field_value.data(), field_bits.data(), size_t(s), size_t(states), n, 2));
  }
  for (int j = 0; j < states; ++j) enc.initial_states[size_t(j)] = uint16_t(X[size_t(j)] - T);
  return enc;
}

namespace {

// The decode loops below are inlined into decode(), the function built per CPU (WS_CPU_CLONES), so
// that each clone holds its own copy of them.
#define WS_INLINE inline __attribute__((always_inline))

// Fetches 64 stream bits starting at bit `pos` (at least 57 of them usable), reading zeros past the
// end of the stream so that the caller can detect an overrun afterwards from the position alone.
inline uint64_t fetch_bits(const uint8_t* data, size_t size, uint64_t pos) {
  uint64_t byte = pos >> 3;
  uint64_t word = 0;
  if (byte + 8 <= size) {
    std::memcpy(&word, data + byte, 8);
  } else {
    uint8_t tmp[8] = {};
    if (byte < size) std::memcpy(tmp, data + byte, size_t(size - byte));
    std::memcpy(&word, tmp, 8);
  }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word >> (pos & 7);
}

// 64 stream bits from bit pos on; unchecked when the caller knows 8 bytes from pos >> 3 exist.
template <bool kChecked>
WS_INLINE uint64_t fetch(const uint8_t* stream, size_t size, uint64_t pos) {
  if (kChecked) return fetch_bits(stream, size, pos);
  uint64_t word;
  std::memcpy(&word, stream + (pos >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word >> (pos & 7);
}

// One state's decoder step: emit the symbol, then take nb_bits from the bit buffer. The entry is
// read once, as one 32-bit word; the position advances here, state by state, rather than by a
// per-step sum: one dependent add less per step.
template <class State>
WS_INLINE void state_step(const DecodeEntry* table, State& x, uint64_t& bits, uint64_t& pos, uint8_t* o) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  static_assert(sizeof(DecodeEntry) == 4 && offsetof(DecodeEntry, symbol) == 0 &&
                    offsetof(DecodeEntry, nb_bits) == 1 && offsetof(DecodeEntry, next_base) == 2,
                "the entry is read as one little-endian word: symbol, nb_bits, next_base");
  uint32_t word;
  std::memcpy(&word, table + x, 4);
  const uint64_t e = word;  // 64-bit values throughout: no zero-extending moves on the chain
  const uint64_t nb = (e >> 8) & 0xff;
  *o = uint8_t(e);
  x = State((e >> 16) + (bits & ((uint64_t(1) << nb) - 1)));
#else
  const DecodeEntry entry = table[x];
  const uint64_t nb = entry.nb_bits;
  *o = entry.symbol;
  x = State(entry.next_base + (bits & ((uint64_t(1) << nb) - 1)));
#endif
  bits >>= nb;
  pos += nb;
}

// Whether the bits of a stream from bit `pos` on are fewer than `unit_bits` and all zero.
bool padding_only(const uint8_t* stream, size_t bytes, uint64_t pos, unsigned unit_bits) {
  const uint64_t size_bits = uint64_t(bytes) * 8;
  if (size_bits - pos >= unit_bits) return false;
  if (pos == size_bits) return true;
  const size_t byte = size_t(pos >> 3);
  bool nonzero = (stream[byte] >> (pos & 7)) != 0;
  for (size_t b = byte + 1; b < bytes; ++b) nonzero |= stream[b] != 0;
  return !nonzero;
}

// ---- Layout 1 (Shared): K lanes, one stream in symbol order -------------------------------------

// One step of up to 4 lanes (K of them) from one fetch: a fetch holds at least 57 usable bits, 4 lanes
// take at most 4 * 12. The states are separate variables, not an array, so that they stay in registers
// (an array was kept on the stack: a store and a load in every state's chain).
template <int K, bool kChecked>
WS_INLINE void decode_step(const uint8_t* stream, size_t size, const DecodeEntry* table, uint32_t& x0,
                           uint32_t& x1, uint32_t& x2, uint32_t& x3, uint8_t* o, uint64_t& pos) {
  uint64_t bits = fetch<kChecked>(stream, size, pos);
  state_step(table, x0, bits, pos, o);
  if constexpr (K >= 2) state_step(table, x1, bits, pos, o + 1);
  if constexpr (K >= 4) {
    state_step(table, x2, bits, pos, o + 2);
    state_step(table, x3, bits, pos, o + 3);
  }
}

// Decodes n symbols with K lanes whose states are states[0..K-1]; returns the bits consumed (which
// exceed the stream's size when the reads ran past its end). K = 8 runs two 4-lane steps.
template <int K>
WS_INLINE uint64_t decode_lanes(const uint8_t* stream, size_t size, const DecodeEntry* table, uint32_t* states,
                                uint8_t* out, size_t n) {
  constexpr int G = K < 4 ? K : 4;  // lanes per fetch
  const uint64_t size_bits = uint64_t(size) * 8;
  uint32_t a0 = states[0], a1 = K > 1 ? states[1] : 0, a2 = K > 2 ? states[2] : 0, a3 = K > 3 ? states[3] : 0;
  uint32_t b0 = K > 4 ? states[4] : 0, b1 = K > 4 ? states[5] : 0, b2 = K > 4 ? states[6] : 0,
           b3 = K > 4 ? states[7] : 0;
  uint64_t pos = 0;
  uint8_t* o = out;
  uint8_t* const steps_end = out + n / K * K;
  // Fast loop: while a whole step's fetches (at most 6 bytes apart) stay inside the stream.
  if (size >= 16) {
    const uint64_t fast_bits = uint64_t(size - 16) * 8;
    while (o != steps_end && pos <= fast_bits) {
      decode_step<G, false>(stream, size, table, a0, a1, a2, a3, o, pos);
      if constexpr (K == 8) decode_step<4, false>(stream, size, table, b0, b1, b2, b3, o + 4, pos);
      o += K;
    }
  }
  while (o != steps_end) {
    decode_step<G, true>(stream, size, table, a0, a1, a2, a3, o, pos);
    if constexpr (K == 8) decode_step<4, true>(stream, size, table, b0, b1, b2, b3, o + 4, pos);
    o += K;
    // A corrupt stream may claim far more bits than it has: stop at the first overrun.
    if (pos > size_bits) throw FormatError("stream ends early");
  }
  // Last, partial step: lanes 0 .. n mod K - 1, a fetch each. (No array of the states: taking
  // their addresses would keep them in memory in the loops above too.)
  const int rest = int(n % K);
  const auto last_step = [&](uint32_t& x) {
    uint64_t bits = fetch_bits(stream, size, pos);
    state_step(table, x, bits, pos, o++);
  };
  if (rest > 0) last_step(a0);
  if (rest > 1) last_step(a1);
  if (rest > 2) last_step(a2);
  if (rest > 3) last_step(a3);
  if (rest > 4) last_step(b0);
  if (rest > 5) last_step(b1);
  if (rest > 6) last_step(b2);
  const uint32_t all[8] = {a0, a1, a2, a3, b0, b1, b2, b3};
  for (int j = 0; j < K; ++j) states[j] = all[j];
  return pos;
}

WS_INLINE void decode_shared(const uint8_t* stream, size_t stream_bytes, const DecodeEntry* table, int lanes,
                             uint32_t* states, uint8_t* out, size_t n) {
  uint64_t pos = 0;
  switch (lanes) {
    case 1: pos = decode_lanes<1>(stream, stream_bytes, table, states, out, n); break;
    case 2: pos = decode_lanes<2>(stream, stream_bytes, table, states, out, n); break;
    case 4: pos = decode_lanes<4>(stream, stream_bytes, table, states, out, n); break;
    default: pos = decode_lanes<8>(stream, stream_bytes, table, states, out, n); break;
  }
  if (pos > uint64_t(stream_bytes) * 8) throw FormatError("stream ends early");
  for (int j = 0; j < lanes; ++j)
    if (states[j] != 0) throw FormatError("final state wrong in lane " + std::to_string(j));
  // Only zero padding, less than a word of it, may follow the last field.
  if (!padding_only(stream, stream_bytes, pos, 32)) throw FormatError("bits left over");
}

// ---- Layout 2 (PerState): S = 2K states, a stream each --------------------------------------------

// States s0 .. s0 + G - 1 of S (G = 4, or 2 when S = 2: independent chains in registers, each with
// its own stream), 4 symbols of each per round from one fetch per state (4 * 12 bits of the 57 a
// fetch holds). Symbol k of state s lies at out[s + k * S], so a round writes o[g + t * S] for state
// g, symbol t. The rounds run in batches that cannot reach past any stream's end whatever the
// symbols (a symbol takes at most table_log bits), so the loop itself has no bounds check. Returns the
// symbols decoded per state: a multiple of 4, at most m.
template <int S, int G>
WS_INLINE size_t decode_group_fast(const StreamView* st, const DecodeEntry* table, int table_log, uint32_t* x_io,
                                   uint64_t* pos_io, uint8_t* o, size_t m) {
  static_assert(G == 2 || G == 4, "two or four states side by side");
  const uint8_t *d0 = st[0].data, *d1 = st[1].data, *d2 = G > 2 ? st[2].data : nullptr,
                *d3 = G > 2 ? st[3].data : nullptr;
  uint64_t x0 = x_io[0], x1 = x_io[1], x2 = G > 2 ? x_io[2] : 0, x3 = G > 2 ? x_io[3] : 0;
  uint64_t p0 = pos_io[0], p1 = pos_io[1], p2 = G > 2 ? pos_io[2] : 0, p3 = G > 2 ? pos_io[3] : 0;
  const uint64_t round_bits = 4 * uint64_t(table_log);
  // Rounds from bit p on whose 8-byte fetches all lie inside a stream of `bytes`.
  const auto safe_rounds = [round_bits](size_t bytes, uint64_t p) -> uint64_t {
    if (bytes < 8 || p > (uint64_t(bytes) - 8) * 8) return 0;
    return ((uint64_t(bytes) - 8) * 8 - p) / round_bits + 1;
  };
  size_t k = 0;
  for (;;) {
    uint64_t rounds = (m - k) / 4;
    rounds = std::min(rounds, safe_rounds(st[0].bytes, p0));
    rounds = std::min(rounds, safe_rounds(st[1].bytes, p1));
    if constexpr (G > 2) {
      rounds = std::min(rounds, safe_rounds(st[2].bytes, p2));
      rounds = std::min(rounds, safe_rounds(st[3].bytes, p3));
    }
    if (rounds == 0) break;
    k += 4 * rounds;
    for (; rounds > 0; --rounds, o += 4 * S) {
      // A state's four symbols one after the other (fewer values live at once than symbol by
      // symbol across the states: no spills); the CPU overlaps the chains by itself.
      const auto four = [table, o](const uint8_t* d, uint64_t& x, uint64_t& p, int g) {
        uint64_t bits = fetch<false>(d, 0, p);
        state_step(table, x, bits, p, o + g);
        state_step(table, x, bits, p, o + g + S);
        state_step(table, x, bits, p, o + g + 2 * S);
        state_step(table, x, bits, p, o + g + 3 * S);
      };
      four(d0, x0, p0, 0);
      four(d1, x1, p1, 1);
      if constexpr (G > 2) {
        four(d2, x2, p2, 2);
        four(d3, x3, p3, 3);
      }
    }
  }
  x_io[0] = uint32_t(x0), x_io[1] = uint32_t(x1), pos_io[0] = p0, pos_io[1] = p1;
  if constexpr (G > 2) x_io[2] = uint32_t(x2), x_io[3] = uint32_t(x3), pos_io[2] = p2, pos_io[3] = p3;
  return k;
}

template <int S>
WS_INLINE void decode_states(const StreamView* streams, const DecodeEntry* table, int table_log, uint32_t* states,
                             uint8_t* out, size_t n) {
  constexpr int G = S < 4 ? S : 4;
  uint64_t pos[S] = {};
  for (int s0 = 0; s0 < S; s0 += G) {
    // The last state of a group has the fewest symbols.
    const size_t done = decode_group_fast<S, G>(streams + s0, table, table_log, states + s0, pos + s0, out + s0,
                                                size_t(symbols_of_state(n, s0 + G - 1, S)));
    // The rest of each state one symbol at a time, reading zeros past the end of its stream, until
    // its symbols are done or its position has run past the stream's end.
    for (int s = s0; s < s0 + G; ++s) {
      const StreamView& st = streams[s];
      const uint64_t size_bits = uint64_t(st.bytes) * 8;
      const size_t m = size_t(symbols_of_state(n, s, S));
      uint8_t* o = out + s + done * S;
      uint32_t x = states[s];
      uint64_t p = pos[s];
      for (size_t k = done; k < m && p <= size_bits; ++k, o += S) {
        uint64_t bits = fetch_bits(st.data, st.bytes, p);
        state_step(table, x, bits, p, o);
      }
      states[s] = x;
      pos[s] = p;
    }
  }
  for (int s = 0; s < S; ++s)
    if (pos[s] > uint64_t(streams[s].bytes) * 8) throw FormatError("stream ends early");
  for (int s = 0; s < S; ++s)
    if (states[s] != 0) throw FormatError("final state wrong in state " + std::to_string(s));
  // Only zero padding, less than a unit of it, may follow each stream's last field.
  for (int s = 0; s < S; ++s)
    if (!padding_only(streams[s].data, streams[s].bytes, pos[s], kUnitBits)) throw FormatError("bits left over");
}

WS_INLINE void decode_per_state(const StreamView* streams, const DecodeEntry* table, int table_log, int lanes,
                                uint32_t* states, uint8_t* out, size_t n) {
  switch (lanes) {
    case 1: decode_states<2>(streams, table, table_log, states, out, n); break;
    case 2: decode_states<4>(streams, table, table_log, states, out, n); break;
    case 4: decode_states<8>(streams, table, table_log, states, out, n); break;
    default: decode_states<16>(streams, table, table_log, states, out, n); break;
  }
}

#undef WS_INLINE

}  // namespace

void decode(Layout layout, const StreamView* streams, const std::vector<DecodeEntry>& table, int table_log,
            int lanes, const uint16_t* initial_states, uint8_t* out, size_t n) {
  if (table_log >= kMinTableLog && table_log <= kMaxTableLog && table.size() != (1u << table_log))
    throw std::invalid_argument("decode: table size is not 2^table_log");
  decode(layout, streams, table.data(), table_log, lanes, initial_states, out, n);
}

WS_CPU_CLONES
void decode(Layout layout, const StreamView* streams, const DecodeEntry* table, int table_log, int lanes,
            const uint16_t* initial_states, uint8_t* out, size_t n) {
  if (table_log < kMinTableLog || table_log > kMaxTableLog)
    throw FormatError("bad table log " + std::to_string(table_log) + " (must be 5..12)");
  if (!valid_lanes(lanes))
    throw FormatError("bad lane count " + std::to_string(lanes) + " (must be 1, 2, 4 or 8)");
  const uint32_t T = 1u << table_log;
  const int S = states_of(layout, lanes);
  const char* unit = layout == Layout::Shared ? " of lane " : " of state ";
  uint32_t states[kMaxStates] = {};
  for (int j = 0; j < S; ++j) {
    states[j] = initial_states[j];
    if (states[j] >= T)
      throw FormatError("initial state " + std::to_string(states[j]) + unit + std::to_string(j) +
                        " is not below 2^L");
  }
  if (layout == Layout::Shared)
    decode_shared(streams[0].data, streams[0].bytes, table, lanes, states, out, n);
  else
    decode_per_state(streams, table, table_log, lanes, states, out, n);
}
void decode(const EncodedSymbols& enc, const std::vector<DecodeEntry>& table, int table_log, uint8_t* out,
            size_t n) {
  StreamView views[kMaxStates];
  for (size_t j = 0; j < enc.streams.size() && j < size_t(kMaxStates); ++j)
    views[j] = StreamView{enc.streams[j].data(), enc.streams[j].size()};
  decode(enc.layout, views, table, table_log, enc.lanes, enc.initial_states.data(), out, n);
}

double coded_bits(const Histogram& hist, const NormalizedCounts& nc) {
  double bits = 0;
  const double T = double(nc.table_size());
  for (unsigned s = 0; s < 256; ++s) {
    if (hist[s] == 0) continue;
    uint32_t c = nc.count(s);
    if (c == 0) return std::numeric_limits<double>::infinity();
    bits += double(hist[s]) * std::log2(T / double(c));
  }
  return bits;
}

double entropy_bits(const Histogram& hist) {
  uint64_t total = 0;
  for (uint64_t h : hist) total += h;
  double bits = 0;
  for (uint64_t h : hist)
    if (h != 0) bits += double(h) * std::log2(double(total) / double(h));
  return bits;
}

}  // namespace ws::tans
