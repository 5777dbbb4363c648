// libFuzzer target: any bytes, read as a .wsz container from memory and decoded completely, chunk by chunk
// and as `decompress` does (2:4 tensors also through the hardware API of codec/container_reader.hpp, LTE
// expert chunks through fetch by expert), and read as
// a source file to compress (format detection, safetensors and llama2.c header parsing). Malformed input
// must end in ws::FormatError; any other exception, crash or sanitizer report is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "codec/container_reader.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/plan_source.hpp"
#include "ops/decompress.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const ws::ContainerReader r = ws::ContainerReader::from_memory(data, size);
    // A valid index serialises back to exactly its bytes.
    const std::vector<uint8_t> index = ws::serialize_index(r.index());
    if (index.size() != r.index_size() ||
        !std::equal(index.begin(), index.end(), data + r.index_offset()))
      std::abort();
    uint64_t produced = 0;
    for (const ws::Segment& s : r.index().segments) {
      if (!s.is_tensor()) {
        r.verify_literal(s);
        produced += s.length;
        continue;
      }
      for (size_t j = 0; j < s.chunks.size(); ++j) produced += r.decode_chunk(s, j).size();
      if (s.has_experts() && s.matrices() != 0) {  // LTE fetch by expert: every expert of the first and last matrix
        for (const uint64_t m : {uint64_t(0), s.matrices() - 1}) {
          size_t experts = 0;
          for (const ws::ChunkEntry& e : s.chunks) experts += e.matrix == m;
          uint64_t values = 0;
          for (const ws::ExpertBlock& b : ws::fetch_experts(r, s, m, std::vector<uint8_t>(experts, 1)))
            values += b.values.size();
          if (values != s.source_bytes(s.value_count / s.matrices())) std::abort();  // the experts tile the matrix
        }
        if (r.decode_tensor(s.name).size() != s.length) std::abort();
      }
      if (s.is_sparse24()) {  // the hardware API: chunk refs, their views, the golden model's matrices
        for (const ws::Sparse24ChunkRef& c : ws::sparse24_chunks(r, s.name))
          ws::parse_sparse24_chunk(c.bytes.data(), c.bytes.size());
        // The first and last matrix only: each call reads the whole tensor's chunk list.
        const uint64_t rows = s.dims[s.dims.size() - 2];
        const uint64_t matrices = rows ? s.value_count / (rows * s.dims.back()) : 0;
        if (s.dtype == ws::DType::BF16 && matrices != 0) {
          ws::decode_sparse24_matrix(r, s.name, 0);
          ws::decode_sparse24_matrix(r, s.name, matrices - 1);
        }
      }
    }
    if (produced != r.index().source_size) std::abort();  // decoding must give exactly the source size
    // The whole-file path: every chunk again, in order, and the content checksum of a version-2 container.
    struct Count final : ws::ByteSink {
      uint64_t n = 0;
      void write(const uint8_t*, size_t k) override { n += k; }
    } out;
    ws::decompress(r, out, 1);
    if (out.n != r.index().source_size) std::abort();
  } catch (const ws::FormatError&) {
  }

  try {
    const ws::MemorySource src(data, size);
    const ws::SourcePlan plan = ws::plan_source(src);
    uint64_t at = 0;
    for (const ws::PlannedSegment& s : plan.segments) {
      if (s.source_offset != at) std::abort();  // segments must tile the input
      at += s.length;
    }
    if (at != size) std::abort();
  } catch (const ws::FormatError&) {
  }
  return 0;
}
