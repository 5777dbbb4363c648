// Writes a .wsz container (docs/format.md section 4) to a sink: header first, then segments in
// source order as they are produced, index and footer last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codec/container_format.hpp"
#include "core/bytes.hpp"
#include "core/io.hpp"

namespace ws {

// Misuse (segments that do not tile the source, a chunk outside a tensor) throws std::logic_error.
// From kVersionBound on, every chunk must be encoded with the checksum chunk_checksum() names (or
// segment_checksum of its place) and added with the source bytes it covers (for the content checksum).
class ContainerWriter {
 public:
  ContainerWriter(ByteSink& out, SourceKind kind, uint64_t source_size, uint16_t version = kContainerVersion);
  void begin_literal();
  void literal_bytes(const uint8_t* data, size_t n);
  void end_literal();
  // sparse24: the tensor's chunks are encode_sparse24_chunk() results (whole rows, one matrix each).
  void begin_tensor(const std::string& name, DType dtype, const std::vector<uint64_t>& dims,
                    bool sparse24 = false);
  void begin_tensor(const std::string& name, const ValueFormat& format, const std::vector<uint64_t>& dims,
                    bool sparse24 = false);
  // A GGUF tensor of Q4_0/Q4_1/Q8_0 blocks, dims row-major; its chunks are encode_quant_chunk() results.
  void begin_quant_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& dims);
  // The checksum the next chunk of the current tensor must be encoded with (ChunkOptions::checksum).
  Checksum chunk_checksum() const;
  // An encode_chunk() / encode_sparse24_chunk() / encode_quant_chunk() result, with the source bytes
  // it restores (required from kVersionBound: they feed the content checksum; their size is checked).
  void add_chunk(const std::vector<uint8_t>& chunk, const uint8_t* source = nullptr, size_t source_size = 0);
  // Version kVersionExperts: the current (dense or 2:4) tensor's chunks are expert chunks (docs/format.md
  // section 4.3), each added with add_expert_chunk in matrix and expert order (a 2:4 column block: an
  // encode_sparse24_chunk() of its [rows][count] values).
  void set_experts(Segment::Experts experts);
  // add_chunk, keyed: matrix, expert, its first row or column and how many it holds. `source` is the
  // chunk's values in chunk order (a column block row-major), as the chunk's checksum covers them.
  void add_expert_chunk(const std::vector<uint8_t>& chunk, const uint8_t* source, size_t source_size,
                        uint32_t matrix, uint32_t expert, uint32_t first, uint32_t count);
  void end_tensor();
  uint64_t finish();  // writes index and footer; returns the container's size

 private:
  void put(const uint8_t* data, size_t n);
  void add_chunk_keyed(const std::vector<uint8_t>& chunk, const uint8_t* source, size_t source_size,
                       const ChunkEntry* key);
  ByteSink& out_;
  Index index_;
  uint64_t written_ = 0;
  uint64_t source_done_ = 0;
  ContentChecksum content_;  // of the segments so far (kVersionBound)
  std::unique_ptr<Checksum::Running> literal_sum_;  // of the literal being written
  enum class State { Idle, Literal, Tensor, Done } state_ = State::Idle;
};

}  // namespace ws
