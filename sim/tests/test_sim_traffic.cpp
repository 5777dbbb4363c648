// DRAM traffic: the fetcher reads exactly the bytes of the streamed chunks, each once per token, and
// each processor's KV port the KV cache of its tokens. Expected values come from the container's
// index, not from the simulator's workload.
#include <gtest/gtest.h>

#include <regex>

#include "harness.hpp"
#include "codec/container_reader.hpp"

namespace wsim::test {
namespace {

struct Expected {
  std::vector<std::pair<uint64_t, uint32_t>> chunks;  // container offset, bytes
  uint64_t chunk_bytes = 0, values = 0, file_size = 0;
  uint64_t kv_layers = 0, kv_dim = 0;
};

Expected from_index(const Config& c) {
  const std::vector<uint8_t> wsz = bf16_container(c.model);
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  Expected e;
  e.file_size = wsz.size();
  const std::regex skip(c.skip);
  for (const ws::Segment& s : reader.index().segments) {
    if (!s.is_tensor() || std::regex_search(s.name, skip)) continue;
    e.values += s.value_count;
    for (const ws::ChunkEntry& ch : s.chunks) {
      e.chunks.emplace_back(ch.offset, ch.size);
      e.chunk_bytes += ch.size;
    }
    if (s.name == "wk") {
      e.kv_layers = s.dims[0];
      e.kv_dim = s.dims[1];
    }
  }
  return e;
}

// How many times each byte of [0, size) was read.
std::vector<int> coverage(const Report& r, uint64_t size) {
  std::vector<int> n(size, 0);
  for (const DramRequest& q : r.weight_requests) {
    EXPECT_LE(q.addr + q.len, size);
    for (uint64_t a = q.addr; a < q.addr + q.len && a < size; ++a) ++n[a];
  }
  return n;
}

TEST(SimTraffic, CompressedReadsEveryChunkOfTheContainerOncePerToken) {
  Config c = smoke_config(Mode::Compressed, 2);
  c.tokens = 3;
  c.log_reads = true;
  const Expected e = from_index(c);
  const Report r = simulate(c);
  EXPECT_EQ(r.weights.read_bytes, e.chunk_bytes * uint64_t(c.tokens));
  std::vector<int> want(e.file_size, 0);
  for (const auto& [off, len] : e.chunks)
    for (uint64_t a = off; a < off + len; ++a) want[a] = c.tokens;
  const std::vector<int> got = coverage(r, e.file_size);
  size_t bad = 0;
  for (size_t a = 0; a < want.size(); ++a) bad += got[a] != want[a];
  EXPECT_EQ(bad, 0u) << "bytes of the container read a wrong number of times";
  std::printf("compressed: %llu bytes per token from a %llu-byte container, %zu chunks\n",
              (unsigned long long)e.chunk_bytes, (unsigned long long)e.file_size, e.chunks.size());
}

TEST(SimTraffic, RawReadsTwoBytesPerWeightOncePerToken) {
  Config c = smoke_config(Mode::Raw, 2);
  c.tokens = 3;
  c.log_reads = true;
  const Expected e = from_index(c);
  const Report r = simulate(c);
  EXPECT_EQ(r.weights.read_bytes, 2 * e.values * uint64_t(c.tokens));
  const std::vector<int> got = coverage(r, 2 * e.values);
  size_t bad = 0;
  for (int n : got) bad += n != c.tokens;
  EXPECT_EQ(bad, 0u);
}

TEST(SimTraffic, SparseReadsItsImageOncePerTokenAndLessThanCompressed) {
  Config c = smoke_config(Mode::Sparse, 2);
  c.tokens = 3;
  c.log_reads = true;
  const Expected e = from_index(c);
  const Report r = simulate(c);
  EXPECT_EQ(r.weights.read_bytes, r.stream_bytes * uint64_t(c.tokens));
  const std::vector<int> got = coverage(r, r.stream_bytes);
  size_t bad = 0;
  for (int n : got) bad += n != c.tokens;
  EXPECT_EQ(bad, 0u);
  EXPECT_LT(r.stream_bytes, e.chunk_bytes);        // half the linear weights are gone ...
  EXPECT_GT(r.stream_bytes, e.chunk_bytes / 2);    // ... but the rest and the metadata remain
  EXPECT_EQ(r.dense_values, e.values);
}

TEST(SimTraffic, EveryTokenReadsItsKvCache) {
  Config c = smoke_config(Mode::Compressed, 3);
  c.context = 100;
  const Expected e = from_index(c);
  ASSERT_GT(e.kv_layers, 0u);
  const Report r = simulate(c);
  const uint64_t tokens = uint64_t(c.processors) * uint64_t(c.tokens);
  EXPECT_EQ(r.kv.read_bytes, tokens * e.kv_layers * 100 * e.kv_dim * 2 * 2);
  EXPECT_EQ(r.weights.read_bytes, e.chunk_bytes * uint64_t(c.tokens));  // weights still once per pass
}

}  // namespace
}  // namespace wsim::test
