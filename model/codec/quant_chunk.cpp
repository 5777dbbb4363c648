// Block-quantized chunks (docs/format.md section 6).
#include "codec/quant_chunk.hpp"

#include <stdexcept>
#include <string>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

const QuantLayout& layout_of(GgmlType t) {
  const QuantLayout* q = quant_layout(t);
  if (!q) throw std::invalid_argument(std::string("quant chunk: ") + ggml_type_name(t) + " is not block-coded");
  return *q;
}

// Symbols in sub-chunk `stream` of a chunk of n values.
uint64_t stream_symbols(int stream, uint64_t n) { return stream == 0 ? n : n / kQuantBlockValues; }

std::string sub_where(int stream) { return std::string(quant_stream_name(stream)) + " sub-chunk"; }

}  // namespace

int quant_streams(const QuantLayout& q) { return 1 + 2 * q.scales; }

const char* quant_stream_name(int stream) {
  static const char* const names[kQuantMaxStreams] = {"codes", "d high", "d low", "m high", "m low"};
  return stream >= 0 && stream < kQuantMaxStreams ? names[stream] : "?";
}

uint32_t quant_chunk_header_bytes(const QuantLayout& q) { return 8 + 4 * uint32_t(quant_streams(q)); }

QuantStreams split_quant_blocks(const uint8_t* blocks, size_t values, const QuantLayout& q) {
  const size_t n_blocks = values / kQuantBlockValues, bytes = q.block_bytes();
  QuantStreams s;
  s[0].resize(values);
  for (int k = 1; k < quant_streams(q); ++k) s[size_t(k)].resize(n_blocks);
  for (size_t b = 0; b < n_blocks; ++b) {
    const uint8_t* block = blocks + b * bytes;
    for (uint32_t j = 0; j < kQuantBlockValues; ++j) s[0][b * kQuantBlockValues + j] = q.code(block, j);
    for (int k = 0; k < q.scales; ++k) {  // fp16 scale k: high byte, then low byte
      s[size_t(1 + 2 * k)][b] = block[2 * k + 1];
      s[size_t(2 + 2 * k)][b] = block[2 * k];
    }
  }
  return s;
}

void join_quant_blocks(const QuantStreams& s, size_t values, const QuantLayout& q, uint8_t* out) {
  const size_t n_blocks = values / kQuantBlockValues, bytes = q.block_bytes();
  for (size_t b = 0; b < n_blocks; ++b) {
    uint8_t* block = out + b * bytes;
    for (int k = 0; k < q.scales; ++k) {
      block[2 * k + 1] = s[size_t(1 + 2 * k)][b];
      block[2 * k] = s[size_t(2 + 2 * k)][b];
    }
    std::fill(block + 2 * q.scales, block + bytes, uint8_t(0));
    for (uint32_t j = 0; j < kQuantBlockValues; ++j) q.set_code(block, j, s[0][b * kQuantBlockValues + j]);
  }
}

std::vector<uint8_t> encode_quant_chunk(const uint8_t* blocks, size_t values, GgmlType t, const ChunkOptions& code_opt) {
  const QuantLayout& q = layout_of(t);
  if (values % kQuantBlockValues != 0 || values > kMaxChunkValues)
    throw std::invalid_argument("quant chunk: value count must be whole blocks, at most 2^24 values");
  const QuantStreams s = split_quant_blocks(blocks, values, q);
  std::vector<uint8_t> out;
  append_le(out, values, 4);
  append_le(out, code_opt.checksum.of(blocks, values / kQuantBlockValues * q.block_bytes()), 4);
  std::vector<std::vector<uint8_t>> subs;
  for (int k = 0; k < quant_streams(q); ++k) {
    const ChunkOptions opt{code_opt.lanes, k == 0 ? code_opt.table_log : kQuantScaleTableLog, code_opt.layout,
                           code_opt.checksum};
    subs.push_back(encode_chunk(s[size_t(k)].data(), s[size_t(k)].size(), DType::Raw, opt));
    append_le(out, subs.back().size(), 4);
  }
  for (const auto& sub : subs) out.insert(out.end(), sub.begin(), sub.end());
  return out;
}

QuantChunkView parse_quant_chunk(const uint8_t* data, size_t size, GgmlType t) {
  const QuantLayout& q = layout_of(t);
  const uint32_t header = quant_chunk_header_bytes(q);
  if (size < header) throw FormatError("block-quantized chunk truncated in its header");
  QuantChunkView v;
  v.value_count = load_le32(data);
  v.crc = load_le32(data + 4);
  v.streams = quant_streams(q);
  if (v.value_count % kQuantBlockValues != 0)
    throw FormatError("block-quantized chunk of " + std::to_string(v.value_count) + " values is not whole blocks of 32");
  uint64_t body = 0;
  for (int k = 0; k < v.streams; ++k) {
    v.sub_bytes[size_t(k)] = load_le32(data + 8 + 4 * k);
    body += v.sub_bytes[size_t(k)];
  }
  if (body > size - header) throw FormatError("block-quantized chunk truncated in its sub-chunks");
  if (body < size - header) throw FormatError("trailing bytes after block-quantized chunk");
  const uint8_t* p = data + header;
  for (int k = 0; k < v.streams; ++k) {
    const size_t i = size_t(k);
    v.sub_data[i] = p;
    try {
      v.sub[i] = parse_chunk(p, v.sub_bytes[i]);
    } catch (const FormatError& e) {
      throw FormatError(sub_where(k) + ": " + e.what());
    }
    p += v.sub_bytes[i];
    const uint64_t want = stream_symbols(k, v.value_count);
    if (v.sub[i].value_count != want)
      throw FormatError(sub_where(k) + " holds " + std::to_string(v.sub[i].value_count) + " symbols, not " +
                        std::to_string(want));
    if (v.sub[i].raw_bytes != 0) throw FormatError(sub_where(k) + " has a raw stream (symbols only expected)");
  }
  if (q.code_bits == 4 && v.value_count != 0 && v.sub[0].counts.last > 15)
    throw FormatError("codes sub-chunk has symbols above 15 (4-bit codes)");
  return v;
}

void decode_quant_chunk(const uint8_t* data, size_t size, GgmlType t, uint8_t* out, size_t out_capacity,
                        const Checksum& sum) {
  const QuantLayout& q = layout_of(t);
  const QuantChunkView v = parse_quant_chunk(data, size, t);
  const uint64_t bytes = uint64_t(v.value_count) / kQuantBlockValues * q.block_bytes();
  if (bytes > out_capacity)
    throw FormatError("block-quantized chunk holds " + std::to_string(v.value_count) + " values, more than expected");
  QuantStreams s;
  for (int k = 0; k < v.streams; ++k) {
    const size_t i = size_t(k);
    s[i].resize(v.sub[i].value_count);
    try {
      decode_chunk(v.sub_data[i], v.sub_bytes[i], DType::Raw, s[i].data(), s[i].size(), sum.without_digest());
    } catch (const FormatError& e) {
      throw FormatError(sub_where(k) + ": " + e.what());
    }
  }
  join_quant_blocks(s, v.value_count, q, out);
  if (sum.of(out, size_t(bytes)) != v.crc) throw FormatError("checksum mismatch");
}

}  // namespace ws
