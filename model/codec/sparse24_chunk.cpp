// 2:4 structured-sparse chunks (docs/format.md section 5).
#include "codec/sparse24_chunk.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

// Bit i set when value i of the group of 4 at p has a non-zero bit pattern.
unsigned nonzero_mask(const uint8_t* p, size_t width) {
  unsigned m = 0;
  for (unsigned i = 0; i < 4; ++i)
    if (!all_zero(p + i * width, width)) m |= 1u << i;
  return m;
}

// The canonical nibble of a group whose non-zero positions are `mask` (at most 2 bits): keep them,
// fill with the lowest positions not yet kept (docs/mac_array.md section 1).
uint8_t canonical_meta(unsigned mask) {
  int keep[2], n = 0;
  for (int i = 0; i < 4; ++i)
    if (mask >> i & 1) keep[n++] = i;
  for (int i = 0; n < 2; ++i)
    if (!(mask >> i & 1)) keep[n++] = i;
  if (keep[0] > keep[1]) std::swap(keep[0], keep[1]);
  return sparse24_meta(keep[0], keep[1]);
}

std::string where(uint64_t r, uint64_t g) { return "row " + std::to_string(r) + " group " + std::to_string(g); }

std::string hex_nibble(uint8_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%x", unsigned(m));
  return buf;
}

// parse_chunk of a sub-chunk, its errors prefixed with which one it is.
ChunkView parse_sub(const uint8_t* p, size_t n, const char* which) {
  try {
    return parse_chunk(p, n);
  } catch (const FormatError& e) {
    throw FormatError(std::string(which) + " sub-chunk: " + e.what());
  }
}

}  // namespace

uint32_t sparse24_stored_groups(uint64_t cols) {
  const uint64_t g = cols / 4;
  return uint32_t(g + (g & 1));
}

bool is_sparse24(const uint8_t* dense, uint64_t rows, uint64_t cols, DType t) {
  if (cols % 4 != 0) return false;
  const size_t width = dtype_size(t);
  const uint64_t groups = rows * (cols / 4);
  for (uint64_t g = 0; g < groups; ++g) {
    const unsigned m = nonzero_mask(dense + g * 4 * width, width);
    if (__builtin_popcount(m) > 2) return false;
  }
  return true;
}

bool sparse24_shape_ok(DType t, const std::vector<uint64_t>& dims) {
  if (t != DType::BF16 && t != DType::F16 && t != DType::F32) return false;
  if (dims.size() < 2) return false;
  const uint64_t k = dims.back();
  return k >= 4 && k % 4 == 0 && k <= kMaxChunkValues;
}

std::vector<uint8_t> encode_sparse24_chunk(const uint8_t* dense, uint32_t rows, uint64_t cols, DType t,
                                           const ChunkOptions& value_opt) {
  if (t != DType::BF16 && t != DType::F16 && t != DType::F32)
    throw std::invalid_argument("encode_sparse24_chunk: dtype must be bf16, f16 or f32");
  if (cols < 4 || cols % 4 != 0 || cols > kMaxChunkValues)
    throw std::invalid_argument("encode_sparse24_chunk: columns must be a positive multiple of 4");
  const size_t width = dtype_size(t);
  const uint32_t real = uint32_t(cols / 4), groups = sparse24_stored_groups(cols);
  if (uint64_t(rows) * groups * 2 > UINT32_MAX || uint64_t(rows) * cols > UINT32_MAX)
    throw std::invalid_argument("encode_sparse24_chunk: too many values in one chunk");

  // Kept values (v0, v1 per group) and nibbles, row-major; padding groups are (0x4, +0, +0).
  std::vector<uint8_t> kept(size_t(rows) * groups * 2 * width, 0);
  std::vector<uint8_t> meta(size_t(rows) * groups, kSparse24PadMeta);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t g = 0; g < real; ++g) {
      const uint8_t* in = dense + (size_t(r) * cols + 4 * size_t(g)) * width;
      const unsigned mask = nonzero_mask(in, width);
      if (__builtin_popcount(mask) > 2)
        throw FormatError("2:4 chunk: " + where(r, g) + " has more than 2 non-zero values");
      const uint8_t m = canonical_meta(mask);
      const size_t at = size_t(r) * groups + g;
      meta[at] = m;
      std::memcpy(&kept[2 * at * width], in + size_t(sparse24_idx0(m)) * width, width);
      std::memcpy(&kept[(2 * at + 1) * width], in + size_t(sparse24_idx1(m)) * width, width);
    }

  const std::vector<uint8_t> values = encode_chunk(kept.data(), kept.size() / width, t, value_opt);
  const std::vector<uint8_t> nibbles =
      encode_chunk(meta.data(), meta.size(), DType::Raw,
                   ChunkOptions{kSparse24MetaLanes, kSparse24MetaTableLog, value_opt.layout, value_opt.checksum});
  std::vector<uint8_t> out;
  out.reserve(kSparse24HeaderBytes + values.size() + nibbles.size());
  append_le(out, rows, 4);
  append_le(out, groups, 4);
  append_le(out, value_opt.checksum.of(dense, size_t(rows) * cols * width), 4);
  append_le(out, values.size(), 4);
  append_le(out, nibbles.size(), 4);
  out.insert(out.end(), values.begin(), values.end());
  out.insert(out.end(), nibbles.begin(), nibbles.end());
  return out;
}

Sparse24ChunkView parse_sparse24_chunk(const uint8_t* data, size_t size) {
  if (size < kSparse24HeaderBytes) throw FormatError("2:4 chunk truncated in its header");
  Sparse24ChunkView v;
  v.rows = load_le32(data);
  v.groups = load_le32(data + 4);
  v.crc = load_le32(data + 8);
  v.value_chunk_bytes = load_le32(data + 12);
  v.meta_chunk_bytes = load_le32(data + 16);
  if (v.groups % 2 != 0) throw FormatError("2:4 chunk: odd stored group count " + std::to_string(v.groups));
  const uint64_t body = uint64_t(v.value_chunk_bytes) + v.meta_chunk_bytes;
  if (body > size - kSparse24HeaderBytes) throw FormatError("2:4 chunk truncated in its sub-chunks");
  if (body < size - kSparse24HeaderBytes) throw FormatError("trailing bytes after 2:4 chunk");
  v.value_chunk = data + kSparse24HeaderBytes;
  v.meta_chunk = v.value_chunk + v.value_chunk_bytes;
  v.values = parse_sub(v.value_chunk, v.value_chunk_bytes, "value");
  v.meta = parse_sub(v.meta_chunk, v.meta_chunk_bytes, "meta");
  if (v.values.layout != v.meta.layout) throw FormatError("2:4 chunk: sub-chunks in different layouts");
  const uint64_t groups = uint64_t(v.rows) * v.groups;
  if (v.values.value_count != 2 * groups)
    throw FormatError("value sub-chunk holds " + std::to_string(v.values.value_count) + " values, not " +
                      std::to_string(2 * groups) + " (2 per stored group)");
  if (v.meta.value_count != groups)
    throw FormatError("meta sub-chunk holds " + std::to_string(v.meta.value_count) + " nibbles, not " +
                      std::to_string(groups) + " (1 per stored group)");
  if (v.meta.lanes != kSparse24MetaLanes)
    throw FormatError("meta sub-chunk has " + std::to_string(v.meta.lanes) + " lanes, not 2");
  if (groups != 0 && v.meta.counts.table_log > 8)
    throw FormatError("meta sub-chunk table log " + std::to_string(v.meta.counts.table_log) + " above 8");
  if (groups != 0 && v.meta.counts.last > 15) throw FormatError("meta sub-chunk symbol range beyond 0xf");
  return v;
}

Sparse24Stored decode_sparse24_stored(const uint8_t* data, size_t size, DType t, uint64_t cols,
                                      const Checksum& sum) {
  const Sparse24ChunkView v = parse_sparse24_chunk(data, size);
  if (v.groups != sparse24_stored_groups(cols))
    throw FormatError("2:4 chunk stores " + std::to_string(v.groups) + " groups per row, not " +
                      std::to_string(sparse24_stored_groups(cols)) + " for rows of " + std::to_string(cols));
  const size_t width = dtype_size(t);
  Sparse24Stored s;
  s.rows = v.rows;
  s.groups = v.groups;
  s.values.resize(size_t(v.values.value_count) * width);
  s.meta.resize(v.meta.value_count);
  try {
    decode_chunk(v.value_chunk, v.value_chunk_bytes, t, s.values.data(), s.values.size(), sum.without_digest());
  } catch (const FormatError& e) {
    throw FormatError(std::string("value sub-chunk: ") + e.what());
  }
  try {
    decode_chunk(v.meta_chunk, v.meta_chunk_bytes, DType::Raw, s.meta.data(), s.meta.size(), sum.without_digest());
  } catch (const FormatError& e) {
    throw FormatError(std::string("meta sub-chunk: ") + e.what());
  }

  // Every group: a valid, canonical nibble; every padding group (0x4, +0, +0).
  const uint64_t real = cols / 4;
  for (uint64_t r = 0; r < s.rows; ++r)
    for (uint64_t g = 0; g < s.groups; ++g) {
      const size_t at = size_t(r * s.groups + g);
      const uint8_t m = s.meta[at];
      const uint8_t* v0 = &s.values[2 * at * width];
      const bool z0 = all_zero(v0, width), z1 = all_zero(v0 + width, width);
      if (g >= real) {
        if (m != kSparse24PadMeta || !z0 || !z1)
          throw FormatError("padding " + where(r, g) + " is not (0x4, +0, +0)");
        continue;
      }
      if (!sparse24_meta_valid(m)) throw FormatError("bad metadata nibble " + hex_nibble(m) + " in " + where(r, g));
      const unsigned mask = (z0 ? 0u : 1u << sparse24_idx0(m)) | (z1 ? 0u : 1u << sparse24_idx1(m));
      if (canonical_meta(mask) != m)
        throw FormatError("non-canonical metadata nibble " + hex_nibble(m) + " in " + where(r, g));
    }
  return s;
}

void decode_sparse24_chunk(const uint8_t* data, size_t size, DType t, uint64_t cols, uint8_t* out,
                           size_t out_capacity, const Checksum& sum) {
  const Sparse24Stored s = decode_sparse24_stored(data, size, t, cols, sum.without_digest());
  const size_t width = dtype_size(t);
  const uint64_t bytes = uint64_t(s.rows) * cols * width;
  if (bytes > out_capacity)
    throw FormatError("2:4 chunk holds " + std::to_string(s.rows) + " rows, more than expected");
  if (bytes == 0) return;  // out may be null (an empty vector's data())
  std::memset(out, 0, size_t(bytes));
  for (uint64_t r = 0; r < s.rows; ++r)
    for (uint64_t g = 0; g < cols / 4; ++g) {
      const size_t at = size_t(r * s.groups + g);
      const uint8_t m = s.meta[at];
      uint8_t* row = out + (r * cols + 4 * g) * width;
      std::memcpy(row + size_t(sparse24_idx0(m)) * width, &s.values[2 * at * width], width);
      std::memcpy(row + size_t(sparse24_idx1(m)) * width, &s.values[(2 * at + 1) * width], width);
    }
  if (sum.of(out, size_t(bytes)) != load_le32(data + 8)) throw FormatError("checksum mismatch");
}

}  // namespace ws
