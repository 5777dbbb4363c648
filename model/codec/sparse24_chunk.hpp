// 2:4 structured-sparse chunks in the .wsz container (docs/format.md section 5): a tensor whose every
// group of 4 values along the last dimension has at most 2 non-zero bit patterns is stored as kept
// values plus one metadata nibble per group, laid out for the sparse MAC array (docs/mac_array.md).
//
// A 2:4 chunk holds whole rows of one [rows][K] matrix (never straddling the leading dims of a stacked
// tensor). Each row is stored as G = K/4 groups padded with zero groups to an even count, so one
// hardware beat (2 groups: 4 values + 2 nibbles) never straddles a row:
//   u32 rows, u32 stored groups per row G, u32 checksum of the dense bytes, u32 value sub-chunk bytes,
//   u32 meta sub-chunk bytes, value sub-chunk, meta sub-chunk
// Both sub-chunks are ordinary chunks (codec/chunk.hpp): values = encode_chunk of the kept values, row by
// row, group by group, v0 then v1, in the tensor's dtype; meta = encode_chunk(..., DType::Raw) of the
// nibbles (one symbol per group), 2 lanes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/sparse24.hpp"

namespace ws {

constexpr uint32_t kSparse24HeaderBytes = 20;
// Table logs and lanes of the sub-chunks, chosen by measurement on stories260K's pruned layers
// (docs/format.md section 5.4).
constexpr int kSparse24ValueTableLog = 7;
constexpr int kSparse24MetaTableLog = 5;
constexpr int kSparse24MetaLanes = 2;
constexpr uint8_t kSparse24PadMeta = 0x4;  // the nibble of a padding (all-zero) group: idx 0, 1

// Stored groups per row for a last dim K: K/4 rounded up to an even count.
uint32_t sparse24_stored_groups(uint64_t cols);

// Whether `rows` dense rows of `cols` values (little-endian bytes of dtype t) are 2:4 in the storage
// sense: every group of 4 has at most 2 values whose bit pattern is non-zero (-0 counts as a value).
// cols must be a multiple of 4; returns false otherwise.
bool is_sparse24(const uint8_t* dense, uint64_t rows, uint64_t cols, DType t);

// Whether a tensor qualifies for 2:4 storage by its type and shape alone: bf16/f16/f32, rank >= 2,
// last dim a positive multiple of 4 and at most kMaxChunkValues.
bool sparse24_shape_ok(DType t, const std::vector<uint64_t>& dims);

// The fixed fields of a 2:4 chunk and its two parsed sub-chunks (pointers into the chunk's bytes).
struct Sparse24ChunkView {
  uint32_t rows = 0;
  uint32_t groups = 0;  // stored groups per row (even; includes padding)
  uint32_t crc = 0;     // checksum of the dense decoded bytes, as they lie in the source
  ChunkView values;     // rows * groups * 2 kept values
  ChunkView meta;       // rows * groups nibbles
  const uint8_t* value_chunk = nullptr;  // the sub-chunks' bytes, each parse_chunk()-able
  uint32_t value_chunk_bytes = 0;
  const uint8_t* meta_chunk = nullptr;
  uint32_t meta_chunk_bytes = 0;
};

// Encodes `rows` dense rows of `cols` values (dtype t, little-endian source bytes) into one 2:4 chunk.
// value_opt is for the value sub-chunk (lanes from the user, table log kSparse24ValueTableLog by
// default); its layout is both sub-chunks'. Throws ws::FormatError if a group has more than 2 non-zero bit patterns, and
// std::invalid_argument for a bad shape or dtype.
std::vector<uint8_t> encode_sparse24_chunk(const uint8_t* dense, uint32_t rows, uint64_t cols, DType t,
                                           const ChunkOptions& value_opt = {tans::kDefaultLanes,
                                                                            kSparse24ValueTableLog});

// Parses the header and both sub-chunks and checks their sizes and counts against each other.
// Throws ws::FormatError.
Sparse24ChunkView parse_sparse24_chunk(const uint8_t* data, size_t size);

// The decoded stored form of a 2:4 chunk: kept values (bytes of dtype t, rows * groups * 2 values)
// and nibbles (rows * groups), padding included. Every nibble is checked (valid, canonical for its
// values, padding groups (0x4, +0, +0)), and the sub-chunks' checksums (computed as `sum` says); the
// chunk's own checksum is not (it covers the dense bytes).
struct Sparse24Stored {
  uint32_t rows = 0;
  uint32_t groups = 0;
  std::vector<uint8_t> values;
  std::vector<uint8_t> meta;
};
Sparse24Stored decode_sparse24_stored(const uint8_t* data, size_t size, DType t, uint64_t cols,
                                      const Checksum& sum = Checksum::crc32());

// Decodes a 2:4 chunk of a tensor with last dim `cols` into rows * cols dense values at out (bytes as
// in the source) and checks every checksum (value_opt.checksum of the encoder: CRC-32 in a version-1
// container). Throws ws::FormatError ("bad metadata nibble 0x3 in row 2 group 5", "checksum mismatch", ...).
void decode_sparse24_chunk(const uint8_t* data, size_t size, DType t, uint64_t cols, uint8_t* out,
                           size_t out_capacity, const Checksum& sum = Checksum::crc32());

}  // namespace ws
