// One chunk: tANS-coded exponents plus raw sign/mantissa bits (docs/format.md sections 3 and 4).
#include "codec/chunk.hpp"

#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/bitstream.hpp"
#include "core/bytes.hpp"
#include "core/cpu_clones.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

// Bounds-checked little-endian reader over a chunk; `what` names the field in the error.
class Cursor {
 public:
  Cursor(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  uint32_t get(int bytes, const char* what) {
    need(size_t(bytes), what);
    const uint32_t v = uint32_t(load_le(p_, bytes));
    p_ += bytes;
    return v;
  }
  void need(size_t bytes, const char* what) const {
    if (size_t(end_ - p_) < bytes) throw FormatError(std::string("chunk truncated in ") + what);
  }
  // An unsigned LEB128 number below 2^31 in its shortest form (1 to 5 bytes).
  uint32_t get_leb128(const char* what) {
    uint64_t v = 0;
    for (int i = 0;; ++i) {
      const uint32_t b = get(1, what);
      v |= uint64_t(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) {
        if (i > 0 && b == 0) throw FormatError(std::string("bad ") + what + " (not in its shortest form)");
        break;
      }
      if (i == 4) throw FormatError(std::string("bad ") + what + " (more than 5 bytes)");
    }
    if (v >= (uint64_t(1) << 31)) throw FormatError(std::string("bad ") + what + " (2^31 units or more)");
    return uint32_t(v);
  }
  const uint8_t*& ptr() { return p_; }
  const uint8_t* end() const { return end_; }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// Raw value i of dtype t as an unsigned integer (little-endian in the source bytes).
uint32_t load_value(const uint8_t* values, size_t i, size_t width) {
  return uint32_t(load_le(values + i * width, int(width)));
}

// Bytes the raw stream of n values takes, padded to whole 32-bit words.
uint64_t raw_stream_bytes(uint64_t n, int raw_bits) { return (n * uint64_t(raw_bits) + 31) / 32 * 4; }

// join() runs over fixed blocks of 16 values through restrict pointers and stores whole values with
// memcpy: the form that both -O2's cheap vectoriser and -O3 turn into fast SIMD code. The memcpy
// stores assume a little-endian host; others take the byte-wise loop.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr bool kLittleEndian = true;
#else
constexpr bool kLittleEndian = false;
#endif

struct Bf16Join {  // raw: 1 byte, sign << 7 | mantissa
  using Value = uint16_t;
  static constexpr size_t kRawBytes = 1;
  static Value value(uint8_t sym, const uint8_t* raw) {
    return uint16_t((raw[0] & 0x80) << 8 | sym << 7 | (raw[0] & 0x7f));
  }
};

struct F32Join {  // raw: 3 bytes, sign << 23 | mantissa
  using Value = uint32_t;
  static constexpr size_t kRawBytes = 3;
  static Value value(uint8_t sym, const uint8_t* raw) {
    return uint32_t(raw[0]) | uint32_t(raw[1]) << 8 | uint32_t(raw[2] & 0x7f) << 16 | uint32_t(sym) << 23 |
           uint32_t(raw[2] & 0x80) << 24;
  }
};

// Each decoded exponent joined with its raw field into a little-endian value at out.
template <class J>
inline __attribute__((always_inline)) void join(const uint8_t* __restrict sym, const uint8_t* __restrict raw, uint8_t* __restrict out, size_t n) {
  constexpr size_t width = sizeof(typename J::Value);
  size_t i = 0;
  if (kLittleEndian)
    for (; i + 16 <= n; i += 16)
      for (size_t j = i; j < i + 16; ++j) {
        const typename J::Value v = J::value(sym[j], raw + J::kRawBytes * j);
        std::memcpy(out + width * j, &v, width);
      }
  for (; i < n; ++i) store_le(out + width * i, J::value(sym[i], raw + J::kRawBytes * i), int(width));
}

// The chunk's value_count symbols, tANS-decoded into out. The decode table is built into a buffer
// kept per thread: no allocation per chunk.
void decode_symbols(const ChunkView& v, uint8_t* out) {
  if (v.value_count == 0) return;
  thread_local std::array<tans::DecodeEntry, size_t(1) << tans::kMaxTableLog> table;
  tans::build_decode_table(v.counts, table.data());
  tans::decode(v.layout, v.streams.data(), table.data(), v.counts.table_log, v.lanes, v.initial_states.data(), out,
               v.value_count);
}

// Room for n decoded symbols, per thread and kept between calls: a fresh 64 KiB buffer per chunk
// costs page faults.
uint8_t* symbol_buffer(size_t n) {
  thread_local std::vector<uint8_t> sym;
  if (sym.size() < n) sym.resize(n);
  return sym.data();
}

void check_chunk_options(const ChunkOptions& opt, size_t count) {
  if (opt.lanes != 1 && opt.lanes != 2 && opt.lanes != 4 && opt.lanes != 8)
    throw std::invalid_argument("encode_chunk: lanes must be 1, 2, 4 or 8");
  if (count > std::numeric_limits<uint32_t>::max())
    throw std::invalid_argument("encode_chunk: more than 2^32 - 1 values in one chunk");
}

// Bit 7 of a chunk's lanes byte: set in layout 2 (per-state streams).
constexpr uint8_t kPerStateFlag = 0x80;

void append_leb128(std::vector<uint8_t>& out, uint64_t v) {
  do {
    const uint8_t b = uint8_t(v & 0x7f);
    v >>= 7;
    out.push_back(v ? uint8_t(b | 0x80) : b);
  } while (v);
}

// Everything of a chunk (docs/format.md section 4) before its streams: fixed fields, table, initial
// states, stream sizes. nc and enc are unused when count is 0.
void append_chunk_head(std::vector<uint8_t>& out, uint64_t count, uint32_t crc, int lanes, tans::Layout layout,
                       const tans::NormalizedCounts& nc, const tans::EncodedSymbols& enc, uint64_t raw_bytes) {
  const bool per_state = layout == tans::Layout::PerState;
  append_le(out, count, 4);
  append_le(out, crc, 4);
  append_le(out, uint32_t(lanes) | (per_state ? kPerStateFlag : 0), 1);
  if (count == 0) {
    append_le(out, 0, 1);  // table log 0, and no range, counts or states
    if (!per_state) append_le(out, 0, 4);  // layout 1: an empty symbol stream's size
  } else {
    append_le(out, uint32_t(nc.table_log), 1);
    tans::write_counts(nc, out);
    if (per_state) {  // L bits a state, then the streams' lengths in units but the last one's
      BitWriter w(out);
      for (int j = 0; j < enc.states(); ++j) w.write(enc.initial_states[size_t(j)], nc.table_log);
      w.pad_to_bytes();
      for (size_t j = 0; j + 1 < enc.streams.size(); ++j) append_leb128(out, enc.streams[j].size() / 2);
    } else {
      for (int j = 0; j < lanes; ++j) append_le(out, enc.initial_states[size_t(j)], 2);
      append_le(out, enc.streams[0].size(), 4);
    }
  }
  append_le(out, raw_bytes, 4);
}

// The chunk around its symbols (tANS-coded here) and its raw stream (already padded to words);
// raw_bits is the raw stream's length before padding.
std::vector<uint8_t> assemble_chunk(uint32_t crc, const std::vector<uint8_t>& symbols, const tans::Histogram& hist,
                                    const std::vector<uint8_t>& raw, uint64_t raw_bits, const ChunkOptions& opt,
                                    ChunkStats* stats) {
  const size_t count = symbols.size();
  tans::NormalizedCounts nc;
  tans::EncodedSymbols enc;
  if (count != 0) {
    nc = tans::normalize(hist, opt.table_log);
    enc = tans::encode(symbols.data(), count, nc, opt.lanes, opt.layout);
  }
  std::vector<uint8_t> out;
  append_chunk_head(out, count, crc, opt.lanes, opt.layout, nc, enc, raw.size());
  for (const auto& st : enc.streams) out.insert(out.end(), st.begin(), st.end());
  out.insert(out.end(), raw.begin(), raw.end());
  if (stats) {
    stats->histogram = hist;
    stats->symbol_bits = enc.bit_count;
    stats->raw_bits = raw_bits;
  }
  return out;
}

}  // namespace

uint64_t chunk_values_for(const std::vector<uint64_t>& dims, uint64_t chunk_values) {
  const uint64_t row = dims.empty() ? 1 : dims.back();
  if (row != 0 && row <= chunk_values) return chunk_values / row * row;
  return chunk_values;
}

uint64_t RowChunks::first_row(uint64_t i) const {
  if (i >= count) return rows;
  if (paths <= 1) return std::min(rows, i * per);
  // Run p of paths holds base rows (+1 for the first `extra` runs) in `m` chunks as equal as possible.
  const uint64_t n = uint64_t(paths), m = count / n, base = rows / n, extra = rows % n;
  const uint64_t p = i / m, j = i % m;
  const uint64_t run_first = p * base + std::min(p, extra), run_rows = base + (p < extra ? 1 : 0);
  return run_first + j * (run_rows / m) + std::min(j, run_rows % m);
}

RowChunks chunk_rows_for(uint64_t rows, uint64_t row_values, uint64_t chunk_values, int paths) {
  if (paths < 1 || paths > kMaxChunkPaths)
    throw std::invalid_argument("chunk_rows_for: paths must be 1 .. " + std::to_string(kMaxChunkPaths));
  if (row_values == 0 || chunk_values == 0) throw std::invalid_argument("chunk_rows_for: empty rows or chunks");
  RowChunks c;
  c.rows = rows;
  c.per = std::max<uint64_t>(1, chunk_values / row_values);
  c.count = (rows + c.per - 1) / c.per;
  const uint64_t n = uint64_t(paths);
  const uint64_t runs_of = (c.count + n - 1) / n;  // chunks a path's run
  if (n > 1 && rows >= n && runs_of <= rows / n) {
    c.count = runs_of * n;
    c.paths = paths;
  }
  return c;
}

DenseChunks dense_chunks_for(const std::vector<uint64_t>& dims, uint64_t value_count, uint64_t chunk_values,
                             int paths) {
  DenseChunks d;
  d.value_count = value_count;
  const uint64_t row = dims.empty() ? 1 : dims.back();
  if (dims.size() >= 2 && row != 0 && row <= chunk_values) {
    d.row_values = row;
    d.rows = chunk_rows_for(value_count / row, row, chunk_values, paths);
  } else {  // values, not rows: chunks of chunk_values_for's size
    d.rows = chunk_rows_for(value_count, 1, chunk_values_for(dims, chunk_values), 1);
  }
  return d;
}


std::vector<uint8_t> encode_chunk(const uint8_t* values, size_t count, DType t,
                                  const ChunkOptions& opt, ChunkStats* stats) {
  // DType::Raw is the symbols-only mode: each byte is its own symbol and nothing travels raw.
  const bool symbols_only = t == DType::Raw;
  const Split sp = symbols_only ? Split{0, 0xff, -1} : split_of(t);
  const size_t width = dtype_size(t);
  check_chunk_options(opt, count);

  std::vector<uint8_t> symbols(count);
  tans::Histogram hist{};
  if (symbols_only) {
    if (count) std::memcpy(symbols.data(), values, count);
  } else {  // the exponents: they lie in the value's top two bytes, which is all this reads
    const int top_shift = sp.exponent_shift - int(8 * (width - 2));
    for (size_t i = 0; i < count; ++i) {
      const uint32_t top = load_le16(values + i * width + width - 2);
      symbols[i] = uint8_t((top >> top_shift) & sp.exponent_mask);
    }
  }
  for (size_t i = 0; i < count; ++i) ++hist[symbols[i]];

  // Raw stream: sign and mantissa of each value, raw_bits() each, LSB-first.
  std::vector<uint8_t> raw;
  if (symbols_only) {
    // no raw stream
  } else if (t == DType::BF16) {  // one byte per value: sign << 7 | mantissa
    raw.resize(count);
    for (size_t i = 0; i < count; ++i) raw[i] = uint8_t((values[2 * i + 1] & 0x80) | (values[2 * i] & 0x7f));
  } else if (t == DType::F32) {  // three bytes per value: sign << 23 | mantissa
    raw.resize(3 * count);
    for (size_t i = 0; i < count; ++i) {
      raw[3 * i] = values[4 * i];
      raw[3 * i + 1] = values[4 * i + 1];
      raw[3 * i + 2] = uint8_t((values[4 * i + 3] & 0x80) | (values[4 * i + 2] & 0x7f));
    }
  } else {
    BitWriter w(raw);
    const uint32_t mant_mask = (1u << sp.mantissa_bits) - 1;
    const int sign_shift = int(width * 8 - 1);
    for (size_t i = 0; i < count; ++i) {
      uint32_t v = load_value(values, i, width);
      w.write((v >> sign_shift) << sp.mantissa_bits | (v & mant_mask), sp.raw_bits());
    }
    w.pad_to_words();  // flushes the last partial word
  }
  raw.resize(size_t(raw_stream_bytes(count, raw_bits_of(t))), 0);  // zero padding to a word
  return assemble_chunk(opt.checksum.of(values, count * width), symbols, hist, raw, uint64_t(count) * uint64_t(raw_bits_of(t)),
                        opt, stats);
}

std::vector<uint8_t> encode_chunk(const uint8_t* values, size_t count, const ValueFormat& f,
                                  const ChunkOptions& opt, ChunkStats* stats) {
  if (f.dtype() != DType::Raw) return encode_chunk(values, count, f.dtype(), opt, stats);
  check_chunk_options(opt, count);
  const size_t width = f.value_bytes();
  std::vector<uint8_t> symbols(count), raw;
  tans::Histogram hist{};
  BitWriter w(raw);
  for (size_t i = 0; i < count; ++i) {
    const uint32_t p = load_value(values, i, width);
    const uint32_t code = f.split_code(p);
    if (code == ValueFormat::kNoCode)
      throw FormatError("value " + std::to_string(i) + " (pattern " + std::to_string(p) + ") is not a " + f.name() +
                        " pattern");
    symbols[i] = uint8_t(code);
    ++hist[symbols[i]];
    w.write(code >> 8, f.format().entry(code & 0xff).raw_bits);
  }
  const uint64_t raw_bits = w.bit_count();
  w.pad_to_words();
  return assemble_chunk(opt.checksum.of(values, count * width), symbols, hist, raw, raw_bits, opt, stats);
}

uint64_t chunk_size(uint64_t count, const tans::NormalizedCounts& nc, const tans::EncodedSymbols& enc,
                    uint64_t raw_bytes) {
  std::vector<uint8_t> head;
  append_chunk_head(head, count, 0, enc.lanes, enc.layout, nc, enc, raw_bytes);
  uint64_t bytes = head.size() + raw_bytes;
  for (const auto& st : enc.streams) bytes += st.size();
  return bytes;
}

tans::Layout chunk_layout(const uint8_t* data, size_t size) {
  if (size < 9) throw FormatError("chunk truncated in lanes");
  return data[8] & kPerStateFlag ? tans::Layout::PerState : tans::Layout::Shared;
}

ChunkView parse_chunk(const uint8_t* data, size_t size) {
  Cursor c(data, data + size);
  ChunkView v;
  v.value_count = c.get(4, "value count");
  v.crc = c.get(4, "checksum");
  const uint32_t lanes_byte = c.get(1, "lanes");
  v.layout = lanes_byte & kPerStateFlag ? tans::Layout::PerState : tans::Layout::Shared;
  v.lanes = int(lanes_byte & ~uint32_t(kPerStateFlag));
  if (v.lanes != 1 && v.lanes != 2 && v.lanes != 4 && v.lanes != 8)
    throw FormatError("bad lane count " + std::to_string(v.lanes) + " (must be 1, 2, 4 or 8)");
  const bool per_state = v.layout == tans::Layout::PerState;
  const char* unit = per_state ? " in state " : " in lane ";
  const int table_log = int(c.get(1, "table log"));
  std::array<uint32_t, tans::kMaxStates> units{};  // layout 2: each state's stream length
  uint32_t symbol_bytes = 0;
  if (v.value_count == 0) {
    if (table_log != 0)
      throw FormatError("bad table log " + std::to_string(table_log) + " (must be 0 for an empty chunk)");
    if (!per_state) symbol_bytes = c.get(4, "symbol stream size");
  } else {
    if (table_log < tans::kMinTableLog || table_log > tans::kMaxTableLog)
      throw FormatError("bad table log " + std::to_string(table_log) + " (must be 5..12)");
    v.counts = tans::read_counts(c.ptr(), c.end(), table_log);
    const uint8_t* states_at = c.ptr();
    if (per_state) {  // S fields of L bits, padded to a byte: every value is below 2^L
      const size_t bytes = (size_t(v.states()) * size_t(table_log) + 7) / 8;
      c.need(bytes, "initial states");
      BitReader r(c.ptr(), bytes);
      for (int j = 0; j < v.states(); ++j) v.initial_states[size_t(j)] = uint16_t(r.read(table_log));
      if (r.read(int(8 * bytes - r.position())) != 0) throw FormatError("bits left over in initial states");
      c.ptr() += bytes;
    } else {
      for (int j = 0; j < v.lanes; ++j) {
        const uint32_t s = c.get(2, "initial states");
        if (s >= v.counts.table_size())
          throw FormatError("bad initial state " + std::to_string(s) + unit + std::to_string(j) +
                            " (must be below 2^L)");
        v.initial_states[size_t(j)] = uint16_t(s);
      }
    }
    // A state that decodes no symbol never leaves its initial state, which must be final already.
    for (int j = 0; j < v.states(); ++j)
      if (uint32_t(j) >= v.value_count && v.initial_states[size_t(j)] != 0)
        throw FormatError(std::string("bad initial state") + unit + std::to_string(j) + " (it has no symbols)");
    v.states_bytes = uint32_t(c.ptr() - states_at);
    const uint8_t* sizes_at = c.ptr();
    if (per_state) {  // the last state's stream is what the chunk holds before its raw stream
      for (int j = 0; j + 1 < v.states(); ++j) units[size_t(j)] = c.get_leb128("stream size");
    } else {
      symbol_bytes = c.get(4, "symbol stream size");
    }
    v.sizes_bytes = uint32_t(c.ptr() - sizes_at);
  }
  v.raw_bytes = c.get(4, "raw stream size");
  if (v.raw_bytes % 4 != 0) throw FormatError("raw stream size is not a multiple of 4");
  if (per_state && v.value_count != 0) {
    uint64_t bytes = 0;
    for (int j = 0; j + 1 < v.states(); ++j) bytes += 2 * uint64_t(units[size_t(j)]);
    const uint64_t left = uint64_t(c.end() - c.ptr());
    if (bytes + v.raw_bytes > left) throw FormatError("chunk truncated in streams");
    if ((left - bytes - v.raw_bytes) % 2 != 0) throw FormatError("last state's stream is not whole units");
    units[size_t(v.states() - 1)] = uint32_t((left - bytes - v.raw_bytes) / 2);
    symbol_bytes = uint32_t(left - v.raw_bytes);
  }
  v.symbol_bytes = symbol_bytes;
  if (v.symbol_bytes % 4 != 0 && !per_state) throw FormatError("symbol stream size is not a multiple of 4");
  if (v.value_count == 0 && (v.symbol_bytes != 0 || v.raw_bytes != 0))
    throw FormatError("empty chunk has stream bytes");
  const uint64_t left = uint64_t(c.end() - c.ptr());
  if (uint64_t(v.symbol_bytes) + v.raw_bytes > left) throw FormatError("chunk truncated in streams");
  if (uint64_t(v.symbol_bytes) + v.raw_bytes < left) throw FormatError("trailing bytes after chunk");
  v.symbol_stream = c.ptr();
  v.raw_stream = c.ptr() + v.symbol_bytes;
  if (per_state) {
    const uint8_t* p = v.symbol_stream;
    for (int j = 0; j < v.states(); ++j) {
      v.streams[size_t(j)] = tans::StreamView{p, 2 * size_t(units[size_t(j)])};
      p += 2 * size_t(units[size_t(j)]);
    }
  } else {
    v.streams[0] = tans::StreamView{v.symbol_stream, v.symbol_bytes};
  }
  return v;
}

WS_CPU_CLONES
void decode_chunk(const uint8_t* data, size_t size, DType t, uint8_t* out, size_t out_capacity,
                  const Checksum& sum) {
  const bool symbols_only = t == DType::Raw;
  const Split sp = symbols_only ? Split{0, 0xff, -1} : split_of(t);
  const size_t width = dtype_size(t);
  const ChunkView v = parse_chunk(data, size);
  const size_t n = v.value_count;
  if (uint64_t(n) * width > out_capacity)
    throw FormatError("chunk holds " + std::to_string(n) + " values, more than expected");
  if (v.raw_bytes != raw_stream_bytes(n, raw_bits_of(t)))
    throw FormatError("raw stream size does not match the value count");
  if (n != 0 && v.counts.last > sp.exponent_mask)
    throw FormatError(std::string("symbol range too wide for ") + dtype_name(t));
  if (symbols_only) {  // the symbols are the bytes
    decode_symbols(v, out);
    if (sum.of(out, n) != v.crc) throw FormatError("checksum mismatch");
    return;
  }

  uint8_t* sym = symbol_buffer(n);
  decode_symbols(v, sym);

  // Join each exponent with its raw sign and mantissa.
  const uint8_t* raw = v.raw_stream;
  uint64_t raw_used_bits = uint64_t(n) * uint64_t(sp.raw_bits());
  if (t == DType::BF16) {
    join<Bf16Join>(sym, raw, out, n);
  } else if (t == DType::F32) {
    join<F32Join>(sym, raw, out, n);
  } else {
    BitReader r(raw, v.raw_bytes);
    const int sign_shift = int(width * 8 - 1);
    const uint32_t mant_mask = (1u << sp.mantissa_bits) - 1;
    for (size_t i = 0; i < n; ++i) {
      uint32_t f = r.read(sp.raw_bits());
      uint32_t value = (f >> sp.mantissa_bits) << sign_shift |
                       uint32_t(sym[i]) << sp.exponent_shift | (f & mant_mask);
      store_le(out + i * width, value, int(width));
    }
  }
  // The raw stream's padding must be zero.
  for (uint64_t p = raw_used_bits; p < uint64_t(v.raw_bytes) * 8; ++p)
    if ((raw[p >> 3] >> (p & 7)) & 1) throw FormatError("bits left over in raw stream");

  if (sum.of(out, n * width) != v.crc) throw FormatError("checksum mismatch");
}

void decode_chunk(const uint8_t* data, size_t size, const ValueFormat& f, uint8_t* out, size_t out_capacity,
                  const Checksum& sum) {
  if (f.dtype() != DType::Raw) return decode_chunk(data, size, f.dtype(), out, out_capacity, sum);
  const size_t width = f.value_bytes();
  const ChunkView v = parse_chunk(data, size);
  const size_t n = v.value_count;
  if (uint64_t(n) * width > out_capacity)
    throw FormatError("chunk holds " + std::to_string(n) + " values, more than expected");
  uint8_t* sym = symbol_buffer(n);
  decode_symbols(v, sym);
  // Every symbol must be in the format's alphabet; then the raw stream's size is known.
  const numfmt::Format& fmt = f.format();
  uint64_t raw_bits = 0;
  for (size_t i = 0; i < n; ++i) {
    const numfmt::Entry& e = fmt.entry(sym[i]);
    if (e.cls == numfmt::Class::None)
      throw FormatError("symbol " + std::to_string(sym[i]) + " is not in format " + f.name());
    raw_bits += uint64_t(e.raw_bits);
  }
  if (v.raw_bytes != (raw_bits + 31) / 32 * 4) throw FormatError("raw stream size does not match the symbols");
  BitReader r(v.raw_stream, v.raw_bytes);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t raw = r.read(fmt.entry(sym[i]).raw_bits);
    const uint32_t p = f.join_code(f.code_base(sym[i]) + raw);
    store_le(out + i * width, p, int(width));
  }
  r.expect_padding_only();
  if (sum.of(out, n * width) != v.crc) throw FormatError("checksum mismatch");
}

}  // namespace ws
