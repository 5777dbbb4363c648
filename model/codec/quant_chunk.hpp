// Block-quantized chunks (docs/format.md section 6): whole Q4_0, Q4_1 or Q8_0 blocks (core/ggml_type.hpp)
// of a GGUF tensor, coded losslessly as symbols-only sub-chunks (codec/chunk.hpp, DType::Raw):
//   u32 value count n (a multiple of 32), u32 checksum of the blocks' bytes as in the source,
//   u32 bytes of each sub-chunk, then the sub-chunks:
//   codes    n symbols, value order: the 4-bit code (Q4_0, Q4_1) or the code byte (Q8_0) of each value
//   d high   n/32 symbols: each block's fp16 scale, its high byte
//   d low    n/32 symbols: its low byte
//   m high, m low (Q4_1 only): the fp16 min the same way
// A scale is split into bytes rather than into exponent and raw mantissa because its high byte
// (sign, exponent, 2 mantissa bits) and even its low byte are far from uniform (docs/format.md 6.2).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/chunk.hpp"
#include "core/ggml_type.hpp"

namespace ws {

constexpr int kQuantMaxStreams = 5;
// Table log of the scale sub-chunks (measured, docs/format.md section 6.2); the codes take the
// compressor's --table-log.
constexpr int kQuantScaleTableLog = 8;

// Sub-chunks of a type's chunks: 3 (Q4_0, Q8_0) or 5 (Q4_1); their names for messages and reports.
int quant_streams(const QuantLayout& q);
const char* quant_stream_name(int stream);  // "codes", "d high", "d low", "m high", "m low"
uint32_t quant_chunk_header_bytes(const QuantLayout& q);

// The symbol streams of `values` values' blocks (values a multiple of 32), and back.
using QuantStreams = std::array<std::vector<uint8_t>, kQuantMaxStreams>;
QuantStreams split_quant_blocks(const uint8_t* blocks, size_t values, const QuantLayout& q);
void join_quant_blocks(const QuantStreams& s, size_t values, const QuantLayout& q, uint8_t* out);

// Encodes `values` values (whole blocks of type t, bytes as in the source) into one chunk. code_opt
// applies to the codes; the scale sub-chunks take its lanes and kQuantScaleTableLog. Throws
// std::invalid_argument for a type that is not block-coded or a count that is not whole blocks.
std::vector<uint8_t> encode_quant_chunk(const uint8_t* blocks, size_t values, GgmlType t, const ChunkOptions& code_opt);

// The fixed fields and the parsed sub-chunks (pointers into the chunk's bytes).
struct QuantChunkView {
  uint32_t value_count = 0;
  uint32_t crc = 0;
  int streams = 0;
  std::array<ChunkView, kQuantMaxStreams> sub{};
  std::array<const uint8_t*, kQuantMaxStreams> sub_data{};
  std::array<uint32_t, kQuantMaxStreams> sub_bytes{};
};
// Parses the header and every sub-chunk and checks their counts against each other. Throws
// ws::FormatError ("codes sub-chunk: ...", "codes sub-chunk has symbols above 15", ...).
QuantChunkView parse_quant_chunk(const uint8_t* data, size_t size, GgmlType t);

// Decodes a chunk into its blocks' bytes at out (value count / 32 blocks) and checks every checksum
// (computed as `sum` says: code_opt.checksum of the encoder).
void decode_quant_chunk(const uint8_t* data, size_t size, GgmlType t, uint8_t* out, size_t out_capacity,
                        const Checksum& sum = Checksum::crc32());

}  // namespace ws
