// libFuzzer target: any bytes, read as a .wsz container from memory and decoded completely, and read as
// a source file to compress (format detection, safetensors and llama2.c header parsing). Malformed input
// must end in ws::FormatError; any other exception, crash or sanitizer report is a bug.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "ws/container.hpp"
#include "ws/error.hpp"

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
    }
    if (produced != r.index().source_size) std::abort();  // decoding must give exactly the source size
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
