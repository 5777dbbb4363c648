// `compress`: a source file (safetensors, GGUF, llama2.c or any bytes) into a .wsz container. It streams:
// input is read a chunk (or 1 MiB of literal) at a time, a pool of `threads` workers codes chunks
// (0 = hardware concurrency) and results are written in order, with a bounded number in flight.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "core/io.hpp"
#include "core/source_kind.hpp"

namespace ws {

// How a tensor is cut into LTE expert chunks (docs/format.md section 4.3): every matrix (the leading dims
// flattened) into one chunk per expert, expert e holding rows (or, `columns`, the column block)
// bounds[e] .. bounds[e+1]-1.
struct ExpertCut {
  bool columns = false;
  std::vector<int> bounds;  // 0 = bounds[0] < ... < bounds.back() = the matrix's rows (columns)
};

struct CompressOptions {
  ChunkOptions chunk;
  uint64_t chunk_values = kDefaultChunkValues;  // 1 .. kMaxChunkValues (kept values for 2:4 chunks)
  // Paths the chunks are cut for (1 .. kMaxChunkPaths, codec/chunk.hpp chunk_rows_for): a matrix's dense
  // or 2:4 chunks come in a multiple of it, rows balanced, for the multi-path top. 1: the one-path cut.
  int paths = 1;
  // Store every tensor that qualifies as 2:4 (codec/sparse24_chunk.hpp); false = everything dense.
  bool sparse24 = true;
  unsigned threads = 0;
  Progress progress;
  // Tensors (by name) stored as expert chunks; not empty: the container is version kVersionExperts.
  // Such a tensor is stored 2:4 when it qualifies (and, cut into column blocks, every bound is a multiple
  // of 4), else dense; a name the source lacks, or a cut that does not fit, is invalid.
  std::map<std::string, ExpertCut> experts;
};

struct CompressResult {
  SourceKind kind = SourceKind::Opaque;
  uint64_t source_bytes = 0;
  uint64_t container_bytes = 0;
  uint64_t tensors = 0;  // tensor segments
  uint64_t sparse24_tensors = 0;  // of which stored 2:4
  uint64_t quant_tensors = 0;     // of which GGUF Q4_0/Q4_1/Q8_0 blocks
  uint64_t chunks = 0;
};

// Throws std::invalid_argument for bad options, ws::FormatError for a bad safetensors or GGUF header.
CompressResult compress(const ByteSource& in, ByteSink& out, const CompressOptions& options);

// The line `weightstream compress` prints: "<in>: <kind>, N bytes -> <out>: M bytes (ratio), ...".
std::string compress_summary(const std::string& in, const std::string& out, const CompressResult& r,
                             const CompressOptions& options);

// A note for stderr when the whole input was stored as opaque bytes (an already compressed file, a
// .wsz, a format the tool does not know), "note: <in>: <why>; stored as opaque bytes (ratio R:1)\n";
// "" for a model file or an empty input.
std::string opaque_input_note(const std::string& in, const ByteSource& src, const CompressResult& r);

}  // namespace ws
