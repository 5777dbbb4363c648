// One independently decodable chunk of a tensor (docs/format.md sections 3 and 4): a tANS-coded
// symbol stream of exponents plus a raw stream of sign and mantissa bits.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec/tans.hpp"
#include "core/bytes.hpp"
#include "core/dtype.hpp"
#include "numfmt/value_format.hpp"

namespace ws {

// Values per chunk: the compressor's default, and the limit every reader holds it to.
constexpr uint64_t kDefaultChunkValues = 65536;
constexpr uint64_t kMaxChunkValues = uint64_t(1) << 24;

// Values per chunk of a tensor: chunk_values rounded down to whole rows of the last dimension when at
// least one row fits, else chunk_values itself.
uint64_t chunk_values_for(const std::vector<uint64_t>& dims, uint64_t chunk_values);

// The paths a compressor may cut chunks for (the multi-path top's Paths, docs/weight_pipeline.md
// section 14): `compress --paths N`.
constexpr int kMaxChunkPaths = 4;

// How a matrix of `rows` rows is cut into chunks of whole rows: chunk i holds rows first_row(i) ..
// first_row(i + 1) - 1, first_row(count) == rows.
struct RowChunks {
  uint64_t rows = 0;
  uint64_t count = 0;  // chunks
  uint64_t per = 1;    // one path: rows of every chunk but the last
  int paths = 1;       // more than 1: count is a multiple of paths, rows balanced (chunk_rows_for)
  uint64_t first_row(uint64_t i) const;
  uint64_t rows_of(uint64_t i) const { return first_row(i + 1) - first_row(i); }
};

// The chunking rule for `paths` paths (1 .. kMaxChunkPaths), for a matrix of `rows` rows that each
// count `row_values` values against a chunk of at most `chunk_values` (a dense row's values, a 2:4
// row's kept ones). Rows a chunk at most: per = max(1, chunk_values / row_values). One path: chunks of
// per rows, the last one what is left (the compressor's cut before paths existed). N paths: the fewest
// chunks of at most per rows rounded up to a multiple of N, N runs of count / N chunks each; run p
// holds rows / N rows (+1 for the first rows % N runs), its chunks rows as equal as possible. So
// ws::split_layer_rows hands every path one run: the same rows, within one. When that cannot be done
// (rows < N, or fewer rows than chunks in a run), the one-path cut.
RowChunks chunk_rows_for(uint64_t rows, uint64_t row_values, uint64_t chunk_values, int paths = 1);

// The dense chunks of a tensor of `dims` (count values): chunk i holds values value_at(i) ..
// value_at(i + 1) - 1. A tensor of rank >= 2 whose rows fit a chunk is cut by chunk_rows_for over all
// its rows (the leading dims flattened); anything else as for one path into chunk_values_for(dims,
// chunk_values) values. paths == 1 is exactly the cut of chunk_values_for.
struct DenseChunks {
  RowChunks rows;
  uint64_t row_values = 1;  // values a row of `rows` (1: the cut is not by whole rows)
  uint64_t value_count = 0;
  uint64_t count() const { return rows.count; }
  uint64_t value_at(uint64_t i) const { return std::min(value_count, rows.first_row(i) * row_values); }
};
DenseChunks dense_chunks_for(const std::vector<uint64_t>& dims, uint64_t value_count, uint64_t chunk_values,
                             int paths = 1);

struct ChunkOptions {
  int lanes = tans::kDefaultLanes;
  int table_log = tans::kDefaultTableLog;
  // Layout 2 (per-state streams) is what containers of version 3 hold and what the writer takes;
  // layout 1 for older containers and tests of the old format.
  tans::Layout layout = tans::kDefaultLayout;
  // What the chunk's checksum field holds (docs/format.md section 4): CRC-32 in a version-1 container,
  // XXH3 seeded with the chunk's place from version 2 on (ContainerWriter::chunk_checksum).
  Checksum checksum = Checksum::crc32();
};

// The parsed fixed fields of a chunk, with pointers into the chunk's bytes. A chunk says its own
// layout (docs/format.md section 4: bit 7 of the lanes byte), so it decodes on its own; a container
// holds chunks of the layout its version names.
struct ChunkView {
  uint32_t value_count = 0;
  uint32_t crc = 0;  // the checksum field (CRC-32 or XXH3, see ChunkOptions::checksum)
  tans::Layout layout = tans::kDefaultLayout;
  int lanes = 1;
  int states() const { return tans::states_of(layout, lanes); }
  tans::NormalizedCounts counts;  // table_log == 0 when value_count == 0
  std::array<uint16_t, tans::kMaxStates> initial_states{};  // states() of them
  uint32_t states_bytes = 0;  // what the initial states take in the header (layout 1: 2 per lane)
  uint32_t sizes_bytes = 0;   // what the stream sizes take (layout 1: the symbol stream's u32)
  // The symbol streams: layout 1 one (streams[0]), layout 2 one per state, back to back from
  // symbol_stream on; symbol_bytes is all of them.
  std::array<tans::StreamView, tans::kMaxStates> streams{};
  const uint8_t* symbol_stream = nullptr;
  uint32_t symbol_bytes = 0;
  const uint8_t* raw_stream = nullptr;
  uint32_t raw_bytes = 0;
};

// The layout a chunk's bytes declare (its lanes byte), without parsing the rest; throws
// ws::FormatError if the chunk is too short to have one.
tans::Layout chunk_layout(const uint8_t* data, size_t size);

// What encoding a chunk measured, for `inspect`.
struct ChunkStats {
  tans::Histogram histogram{};  // of the symbols
  uint64_t symbol_bits = 0;     // before padding
  uint64_t raw_bits = 0;
};


// Encodes `count` values (little-endian bytes of dtype t, as in the source file) into one chunk.
// t = DType::Raw is the symbols-only mode (the 2:4 metadata stream): each byte is its own symbol,
// raw bits 0, raw stream empty; decode_chunk(..., DType::Raw, ...) gives the bytes back.
std::vector<uint8_t> encode_chunk(const uint8_t* values, size_t count, DType t,
                                  const ChunkOptions& opt, ChunkStats* stats = nullptr);

// The same for a tensor of any number format (docs/format.md section 4.1): bf16, f16 and f32 take the
// dtype paths above; every other format splits each value (value_bytes() little-endian bytes) into its
// class symbol and a raw field of that symbol's raw_bits. A value that is not a pattern of the format
// throws ws::FormatError.
std::vector<uint8_t> encode_chunk(const uint8_t* values, size_t count, const ValueFormat& f,
                                  const ChunkOptions& opt, ChunkStats* stats = nullptr);

// The size of the chunk of `count` symbols that these parts make (docs/format.md section 4), for
// measurements that code symbols with tans::encode themselves; raw_bytes is the padded raw stream.
uint64_t chunk_size(uint64_t count, const tans::NormalizedCounts& nc, const tans::EncodedSymbols& enc,
                    uint64_t raw_bytes);

// Parses and bounds-checks a chunk's header. Throws ws::FormatError naming what is wrong.
ChunkView parse_chunk(const uint8_t* data, size_t size);

// Decodes a chunk into count * dtype_size(t) bytes at out and checks its checksum (computed as `sum`
// says). Throws ws::FormatError ("checksum mismatch", "stream ends early", ...) on any inconsistency.
void decode_chunk(const uint8_t* data, size_t size, DType t, uint8_t* out, size_t out_capacity,
                  const Checksum& sum = Checksum::crc32());
// The same for any number format; a symbol outside the format's alphabet is "symbol N is not in
// format NAME".
void decode_chunk(const uint8_t* data, size_t size, const ValueFormat& f, uint8_t* out, size_t out_capacity,
                  const Checksum& sum = Checksum::crc32());

}  // namespace ws
