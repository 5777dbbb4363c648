// tANS golden model (docs/format.md section 2, counts serialisation of section 4).
#include "codec/tans.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/bitstream.hpp"
#include "core/bytes.hpp"
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
  const std::vector<uint8_t> sp = spread(nc);  // validates
  const uint32_t T = nc.table_size();
  std::array<uint32_t, 256> next{};
  for (unsigned s = nc.first; s <= nc.last; ++s) next[s] = nc.count(s);
  std::vector<DecodeEntry> table(T);
  for (uint32_t x = 0; x < T; ++x) {
    uint8_t s = sp[x];
    uint32_t k = next[s]++;
    int nb = nc.table_log - floor_log2(k);
    table[x].symbol = s;
    table[x].nb_bits = uint8_t(nb);
    table[x].next_base = uint16_t((k << nb) - T);
  }
  return table;
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

// One lane's decoder step: emit the symbol, then take nb_bits from the bit buffer.
inline void lane_step(const DecodeEntry* table, uint32_t& x, uint64_t& bits, unsigned& used,
                      uint8_t*& o) {
  const DecodeEntry e = table[x];
  *o++ = e.symbol;
  x = uint32_t(e.next_base) + uint32_t(bits & ((1u << e.nb_bits) - 1));
  bits >>= e.nb_bits;
  used += e.nb_bits;
}

// 64 stream bits from bit pos on; unchecked when the caller knows 8 bytes from pos >> 3 exist.
template <bool kChecked>
inline uint64_t fetch(const uint8_t* stream, size_t size, uint64_t pos) {
  if (kChecked) return fetch_bits(stream, size, pos);
  uint64_t word;
  std::memcpy(&word, stream + (pos >> 3), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  word = __builtin_bswap64(word);
#endif
  return word >> (pos & 7);
}

// ---- Layout 1 (Shared): K lanes, one stream in symbol order -------------------------------------

// One decoder step of K lanes, written out so that the states stay in registers. A fetch holds at
// least 57 usable bits and serves 4 lanes (4 * 12 = 48 bits), so K = 8 fetches twice.
template <int K, bool kChecked>
inline void decode_step(const uint8_t* stream, size_t size, const DecodeEntry* table, uint32_t* x,
                        uint8_t*& o, uint64_t& pos) {
  uint64_t bits = fetch<kChecked>(stream, size, pos);
  unsigned used = 0;
  lane_step(table, x[0], bits, used, o);
  if constexpr (K >= 2) lane_step(table, x[1], bits, used, o);
  if constexpr (K >= 4) {
    lane_step(table, x[2], bits, used, o);
    lane_step(table, x[3], bits, used, o);
  }
  pos += used;
  if constexpr (K == 8) {
    bits = fetch<kChecked>(stream, size, pos);
    used = 0;
    lane_step(table, x[4], bits, used, o);
    lane_step(table, x[5], bits, used, o);
    lane_step(table, x[6], bits, used, o);
    lane_step(table, x[7], bits, used, o);
    pos += used;
  }
}

// Decodes n symbols with K lanes whose states are x[0..K-1]; returns the bits consumed (which
// exceed the stream's size when the reads ran past its end).
template <int K>
uint64_t decode_lanes(const uint8_t* stream, size_t size, const DecodeEntry* table, uint32_t* states,
                      uint8_t* out, size_t n) {
  const uint64_t size_bits = uint64_t(size) * 8;
  uint32_t x[K];
  for (int j = 0; j < K; ++j) x[j] = states[j];
  uint64_t pos = 0;
  uint8_t* o = out;
  uint8_t* const steps_end = out + n / K * K;
  // Fast loop: while a whole step's fetches (at most 6 bytes apart) stay inside the stream.
  const uint64_t fast_bytes = size >= 16 ? size - 16 : 0;
  if (size >= 16)
    while (o != steps_end && (pos >> 3) <= fast_bytes) decode_step<K, false>(stream, size, table, x, o, pos);
  while (o != steps_end) {
    decode_step<K, true>(stream, size, table, x, o, pos);
    // A corrupt stream may claim far more bits than it has: stop at the first overrun.
    if (pos > size_bits) throw FormatError("stream ends early");
  }
  // Last, partial step: lanes 0 .. n mod K - 1.
  for (int j = 0; j < int(n % K); ++j) {
    uint64_t bits = fetch_bits(stream, size, pos);
    unsigned used = 0;
    lane_step(table, x[j], bits, used, o);
    pos += used;
  }
  for (int j = 0; j < K; ++j) states[j] = x[j];
  return pos;
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

void decode_shared(const uint8_t* stream, size_t stream_bytes, const DecodeEntry* table, int lanes,
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

// G consecutive states decoded side by side (independent dependency chains for the CPU), 4 symbols
// of each per round while every state's next 8 bytes lie inside its stream (4 * 12 = 48 bits of
// the 57 a fetch holds). Symbol k of state s goes to out[s + k * S]; `o[g]` points at the next one
// of state g. Returns the symbols decoded per state, at most `m`.
template <int G>
size_t decode_group_fast(const StreamView* st, const DecodeEntry* table, uint32_t* x_io, uint64_t* pos_io,
                         uint8_t** o_io, size_t stride, size_t m) {
  // Local copies: stores through uint8_t pointers may alias anything reachable from outside, which
  // would keep the states in memory.
  uint32_t x[G];
  uint64_t pos[G];
  uint8_t* o[G];
  for (int g = 0; g < G; ++g) x[g] = x_io[g], pos[g] = pos_io[g], o[g] = o_io[g];
  size_t k = 0;
  for (; k + 4 <= m; k += 4) {
    bool inside = true;
    for (int g = 0; g < G; ++g) inside &= st[g].bytes >= 8 && (pos[g] >> 3) <= st[g].bytes - 8;
    if (!inside) break;
    uint64_t bits[G];
    unsigned used[G];
    for (int g = 0; g < G; ++g) bits[g] = fetch<false>(st[g].data, st[g].bytes, pos[g]), used[g] = 0;
    for (int t = 0; t < 4; ++t)
      for (int g = 0; g < G; ++g) {
        const DecodeEntry e = table[x[g]];
        o[g][t * stride] = e.symbol;
        x[g] = uint32_t(e.next_base) + uint32_t(bits[g] & ((1u << e.nb_bits) - 1));
        bits[g] >>= e.nb_bits;
        used[g] += e.nb_bits;
      }
    for (int g = 0; g < G; ++g) pos[g] += used[g], o[g] += 4 * stride;
  }
  for (int g = 0; g < G; ++g) x_io[g] = x[g], pos_io[g] = pos[g], o_io[g] = o[g];
  return k;
}

void decode_per_state(const StreamView* streams, const DecodeEntry* table, int lanes, uint32_t* states,
                      uint8_t* out, size_t n) {
  const int S = 2 * lanes;
  const int G = S >= 4 ? 4 : 2;
  uint64_t pos[kMaxStates] = {};
  for (int s0 = 0; s0 < S; s0 += G) {
    uint8_t* o[4];
    for (int g = 0; g < G; ++g) o[g] = out + s0 + g;
    // The last state of the group has the fewest symbols.
    const size_t m_min = size_t(symbols_of_state(n, s0 + G - 1, S));
    const size_t done = G == 4 ? decode_group_fast<4>(streams + s0, table, states + s0, pos + s0, o, size_t(S), m_min)
                               : decode_group_fast<2>(streams + s0, table, states + s0, pos + s0, o, size_t(S), m_min);
    // The rest of each state one symbol at a time, reading zeros past the end of its stream.
    for (int g = 0; g < G; ++g) {
      const int s = s0 + g;
      const StreamView& st = streams[s];
      const uint64_t size_bits = uint64_t(st.bytes) * 8;
      const size_t m = size_t(symbols_of_state(n, s, S));
      for (size_t k = done; k < m && pos[s] <= size_bits; ++k) {
        uint64_t bits = fetch_bits(st.data, st.bytes, pos[s]);
        unsigned used = 0;
        uint8_t* p = o[g];
        lane_step(table, states[s], bits, used, p);
        o[g] += S;
        pos[s] += used;
      }
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

}  // namespace

void decode(Layout layout, const StreamView* streams, const std::vector<DecodeEntry>& table, int table_log,
            int lanes, const uint16_t* initial_states, uint8_t* out, size_t n) {
  if (table_log < kMinTableLog || table_log > kMaxTableLog)
    throw FormatError("bad table log " + std::to_string(table_log) + " (must be 5..12)");
  if (!valid_lanes(lanes))
    throw FormatError("bad lane count " + std::to_string(lanes) + " (must be 1, 2, 4 or 8)");
  const uint32_t T = 1u << table_log;
  if (table.size() != T) throw std::invalid_argument("decode: table size is not 2^table_log");
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
    decode_shared(streams[0].data, streams[0].bytes, table.data(), lanes, states, out, n);
  else
    decode_per_state(streams, table.data(), lanes, states, out, n);
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
