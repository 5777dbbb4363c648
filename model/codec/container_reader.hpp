// Reads a .wsz container (docs/format.md section 4): validates header, footer and index on
// construction; then random access by tensor and chunk, every read checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codec/container_format.hpp"
#include "codec/sparse24.hpp"
#include "core/io.hpp"

namespace ws {

// Every chunk of a container is in the layout its version names (a 2:4 chunk: both sub-chunks; a
// block-quantized chunk: every sub-chunk). Throws ws::FormatError naming the chunk's layout otherwise.
void check_chunk_layouts(const uint8_t* data, size_t size, const Segment& s, tans::Layout want);

class ContainerReader {
 public:
  explicit ContainerReader(std::unique_ptr<const ByteSource> source);  // throws ws::FormatError
  static ContainerReader open(const std::string& path);                // + IoError
  static ContainerReader from_memory(const uint8_t* data, size_t size);

  const Index& index() const { return index_; }
  uint16_t version() const { return index_.version; }
  uint64_t file_size() const { return source_->size(); }
  uint64_t index_offset() const { return index_offset_; }
  uint64_t index_size() const { return index_size_; }

  const Segment* find_tensor(const std::string& name) const;  // nullptr if absent
  const Segment& tensor(const std::string& name) const;       // throws ws::FormatError if absent

  std::vector<uint8_t> chunk_bytes(const Segment& tensor, size_t chunk) const;
  // The chunk's bytes into buf (resized, its capacity kept: no allocation once it is large enough).
  void chunk_bytes(const Segment& tensor, size_t chunk, std::vector<uint8_t>& buf) const;
  // How the chunk's checksums are computed (codec/container_format.hpp segment_checksum).
  Checksum chunk_checksum(const Segment& tensor, size_t chunk) const;
  // The chunk's values, bytes as in the source; every check of the format and the checksum done.
  // Errors read "tensor 'wq' chunk 3: checksum mismatch". Thread-safe.
  std::vector<uint8_t> decode_chunk(const Segment& tensor, size_t chunk) const;
  // The same into out, which must hold tensor.source_bytes(chunk's value count) bytes (no zero fill,
  // no copy of the coded bytes when the source lends them in place). digest, when given, receives the
  // chunk's 64-bit checksum (what the content checksum is made of, codec/container_format.hpp).
  void decode_chunk_into(const Segment& tensor, size_t chunk, uint8_t* out, size_t out_size,
                         uint64_t* digest = nullptr) const;
  std::vector<uint8_t> decode_tensor(const std::string& name) const;
  // n bytes of a literal segment from `at` within it (unchecked), and a checksum check of all of it.
  void read_literal(const Segment& literal, uint64_t at, uint8_t* dst, size_t n) const;
  void verify_literal(const Segment& literal) const;

 private:
  std::unique_ptr<const ByteSource> source_;
  Index index_;
  uint64_t index_offset_ = 0, index_size_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Expert chunks (docs/format.md section 4.3; LTE, docs/lte.md).

// Puts chunk j of a tensor of column blocks (Segment::Experts::Columns) back: `chunk`, its decoded block
// ([rows][count] row-major), into `matrix_bytes`, the whole matrix e.matrix in source layout, at its
// columns. Throws std::logic_error for a tensor of another layout (its chunks are contiguous runs).
void place_expert_chunk(const Segment& t, size_t j, const uint8_t* chunk, uint8_t* matrix_bytes);

// The index of expert `expert`'s chunk of matrix `matrix` in an expert-chunked tensor (binary search
// over the keys). Throws ws::FormatError if the tensor has no expert chunks or no such expert.
size_t expert_chunk(const Segment& t, uint64_t matrix, uint32_t expert);

// What a reader fetches of one matrix when only some experts run: each active expert's chunk, read and
// decoded (every check done), nothing of the others.
struct ExpertBlock {
  uint32_t expert = 0;
  uint32_t first = 0, count = 0;  // its rows (Rows) or columns (Columns) in the matrix
  size_t chunk = 0;               // index in the tensor's chunk list
  uint32_t coded_bytes = 0;       // the chunk's size in the container: what was read for it
  std::vector<uint8_t> values;    // decoded, in chunk order: [count][cols] or [rows][count], source dtype
                                  // (a 2:4 chunk: dense, its dropped values +0)
};
// active[e] != 0: expert e runs (active.size() = the matrix's experts). Throws ws::FormatError for a
// tensor without expert chunks, a matrix out of range, or an active list of the wrong length.
std::vector<ExpertBlock> fetch_experts(const ContainerReader& reader, const Segment& tensor, uint64_t matrix,
                                       const std::vector<uint8_t>& active);

// ---------------------------------------------------------------------------------------------
// 2:4 tensors (codec/sparse24_chunk.hpp) as the hardware takes them.

// For the hardware: a 2:4 tensor's chunks in order, each with its bytes and the matrix (flat index
// over the leading dims; 0 for a rank-2 tensor) and first row it covers.
struct Sparse24ChunkRef {
  size_t chunk = 0;         // index in the tensor's chunk list
  uint64_t matrix = 0;
  uint64_t first_row = 0;   // within the matrix
  uint32_t rows = 0;
  std::vector<uint8_t> bytes;
  Checksum checksum = Checksum::crc32();  // how its checksums are computed (ContainerReader::chunk_checksum)
};
// Throws ws::FormatError if the tensor is absent, not stored 2:4, or cut into expert column blocks
// (fetch_experts reads those).
std::vector<Sparse24ChunkRef> sparse24_chunks(const ContainerReader& reader, const std::string& tensor);

// The golden model's packed layer: matrix `matrix` of a bf16 2:4 tensor as ws::Sparse24 (values as
// bf16 lanes, meta, identity perm; padding groups dropped), every chunk checked including its CRC.
// Throws ws::FormatError for a tensor that is absent, not 2:4, not bf16, or a matrix out of range.
Sparse24 decode_sparse24_matrix(const ContainerReader& reader, const std::string& tensor, uint64_t matrix);

}  // namespace ws
