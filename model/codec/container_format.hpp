// The .wsz container's layout (docs/format.md section 4): header, segments, index and footer, and the
// index's records. Writing and reading a whole container: codec/container_writer.hpp and
// codec/container_reader.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/tans.hpp"
#include "core/bytes.hpp"
#include "core/dtype.hpp"
#include "core/ggml_type.hpp"
#include "core/error.hpp"  // quote_name, for the messages of this layout
#include "core/source_kind.hpp"
#include "numfmt/value_format.hpp"

namespace ws {

constexpr uint64_t kHeaderBytes = 16;  // magic, version, flags, reserved
constexpr uint64_t kFooterBytes = 24;  // index offset, index size, index CRC-32, end magic
constexpr char kContainerMagic[4] = {'W', 'S', 'Z', '1'};
constexpr char kContainerEndMagic[4] = {'W', 'S', 'Z', 'E'};
// Container versions (docs/format.md section 4.2; the one place that numbers them):
//   1: CRC-32 checksums, each covering its bytes wherever they are; chunks in layout 1.
//   2: XXH3 checksums bound to their place in the source (segment_checksum) and, in the index, the
//      content checksum over all of them (ContentChecksum); chunks in layout 1.
//   3: as 2, with chunks in layout 2 (one symbol stream per decoder state, docs/format.md section 4).
//   4: as 3, with an expert layout in every dense tensor record (docs/format.md section 4.3: a tensor
//      cut into chunks at LTE expert boundaries, each chunk keyed by matrix and expert).
//   5: as 4, with the expert layout in every 2:4 tensor record too (2:4 expert chunks; a column block's
//      row segments each packed 2:4 on its own).
// The writer writes 5 only for a container with a 2:4 tensor in expert chunks, 4 only for one with a
// dense tensor in expert chunks, so every other container stays version 3 and a reader reads all five.
// The readers compare against these names, never against a literal.
constexpr uint16_t kVersionCrc32 = 1;
constexpr uint16_t kVersionBound = 2;
constexpr uint16_t kVersionPerState = 3;
constexpr uint16_t kVersionExperts = 4;
constexpr uint16_t kVersionSparse24Experts = 5;
constexpr uint16_t kContainerVersion = kVersionPerState;  // what ContainerWriter writes by default
constexpr uint16_t kNewestVersion = kVersionSparse24Experts;
bool container_version_known(uint64_t version);  // kVersionCrc32 .. kNewestVersion
// The chunk layout a container version holds.
inline tans::Layout layout_of_version(uint16_t version) {
  return version >= kVersionPerState ? tans::Layout::PerState : tans::Layout::Shared;
}
// The index's fixed fields: source kind, source size, (from kVersionBound) content checksum, segment count.
inline uint64_t index_fixed_bytes(uint16_t version) { return 1 + 8 + (version >= kVersionBound ? 8 : 0) + 4; }
constexpr size_t kLiteralWindow = size_t(1) << 20;  // literal bytes are copied 1 MiB at a time

struct ChunkEntry {
  uint64_t offset = 0;  // in the container
  uint32_t size = 0;    // bytes
  uint32_t value_count = 0;
  uint64_t first_value = 0;  // not stored: the value counts of the tensor's chunks before it, summed
  // Expert chunks (Segment::experts != None): the matrix (flat index over the leading dims), the
  // expert, and its first row (Rows) or column (Columns) and how many it holds.
  uint32_t matrix = 0, expert = 0, first = 0, count = 0;
};

struct Segment {
  // Sparse24: a tensor stored 2:4 (codec/sparse24_chunk.hpp); same record as Tensor, other chunk format.
  // Quant: a GGUF tensor of Q4_0/Q4_1/Q8_0 blocks (codec/quant_chunk.hpp); a ggml type instead of a format.
  enum class Kind : uint8_t { Literal = 0, Tensor = 1, Sparse24 = 2, Quant = 3 };
  Kind kind = Kind::Literal;
  uint64_t source_offset = 0;  // where its bytes lie in the source (the lengths before it, summed)
  uint64_t length = 0;         // its bytes in the source
  // Literal: the bytes, verbatim, at `offset` in the container.
  uint64_t offset = 0;
  uint32_t crc = 0;  // its checksum (segment_checksum)
  // Tensor.
  std::string name;
  ValueFormat format;          // the number format (docs/format.md section 4.1); empty for Quant
  DType dtype = DType::Raw;    // format.dtype(): BF16/F16/F32 for format ids 1..3, Raw for the others
  GgmlType quant = GgmlType::F32;  // Quant: Q4_0, Q4_1 or Q8_0
  std::vector<uint64_t> dims;
  uint64_t value_count = 0;       // Quant: a multiple of 32, as is every chunk's
  std::vector<ChunkEntry> chunks;
  // From kVersionExperts dense tensors, from kVersionSparse24Experts 2:4 tensors too (docs/format.md
  // section 4.3; has_expert_layout): None, the chunks in
  // value order; Rows, chunk = one expert's rows of one matrix; Columns, chunk = one expert's column
  // block of one matrix, [rows][count] row-major, which a decoder puts back at its columns (a 2:4
  // tensor's: each row's segment of count columns packed 2:4 on its own).
  enum class Experts : uint8_t { None = 0, Rows = 1, Columns = 2 };
  Experts experts = Experts::None;

  bool is_tensor() const { return kind != Kind::Literal; }  // dense or 2:4
  bool is_sparse24() const { return kind == Kind::Sparse24; }
  bool is_quant() const { return kind == Kind::Quant; }
  bool has_experts() const { return experts != Experts::None; }
  // Whether its record carries the expert layout in a container of `version`.
  bool has_expert_layout(uint16_t version) const;
  uint64_t matrices() const;  // the product of the leading dims (rank >= 2), else 0
  // A 2:4 tensor's chunk j: the last dim its rows are packed with (a column block's count, else K).
  uint64_t sparse24_cols(size_t j) const;
  uint64_t index_bytes(uint16_t version = kContainerVersion) const;  // size of its record in the index
  uint64_t source_bytes(uint64_t values) const;  // bytes that `values` of its values take in the source
  std::string format_name() const;  // the format's name; "q4_0", "q4_1", "q8_0" for Quant
};

struct Index {
  uint16_t version = kContainerVersion;  // from the header; decides the index layout and the checksums
  SourceKind source_kind = SourceKind::Opaque;
  uint64_t source_size = 0;
  uint64_t content_checksum = 0;  // version >= kVersionBound: ContentChecksum of every segment
  std::vector<Segment> segments;
};

std::vector<uint8_t> serialize_index(const Index& index);
// Parses and validates an index (of a container of the given version, which container_version_known
// accepted) whose chunks and literals must lie in [region_begin, region_end). Throws ws::FormatError naming the problem and the tensor and chunk.
Index parse_index(const uint8_t* data, size_t size, uint64_t region_begin, uint64_t region_end,
                  uint16_t version = kContainerVersion);

// The checksum of the bytes a chunk or literal restores, which start at source offset `at`, in segment
// `name` ("" for a literal): CRC-32 in version 1; from kVersionBound the low 32 bits of XXH3-64 seeded
// with XXH3-64(name, seed = at), so a chunk or literal moved to another place or tensor fails its check.
Checksum segment_checksum(uint16_t version, const std::string& name, uint64_t at);
// The same for chunk j of tensor t, and for a literal segment.
Checksum chunk_checksum(uint16_t version, const Segment& t, size_t j);
Checksum literal_checksum(uint16_t version, const Segment& literal);

// The content checksum of a version-2 index: XXH3-64 (seed 0) of the 64-bit digests (the full
// XXH3-64 whose low 32 bits a checksum field holds) of every chunk and literal in source order, each
// as 8 little-endian bytes. It covers every byte of the source (through the digests) and their order,
// and decoders running in parallel produce it without a second pass over the content.
class ContentChecksum {
 public:
  void add(uint64_t digest);
  uint64_t value() const { return stream_.digest(); }

 private:
  Xxh3Stream stream_;
};

// "tensor 'wq' chunk 3", for errors.
std::string chunk_where(const Segment& t, size_t j);

}  // namespace ws
