// DRAM traffic: the fetcher reads exactly the bytes of the streamed chunks, each once per token, and
// each processor's KV port the KV cache of its tokens. Expected values come from the container's
// index (2:4 mode: of the .wsz the `weightstream` tool writes), not from the simulator's workload.
#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "harness.hpp"
#include "codec/container_reader.hpp"

namespace wsim::test {
namespace {

struct Expected {
  std::vector<std::pair<uint64_t, uint32_t>> chunks;  // container offset, bytes
  uint64_t chunk_bytes = 0, values = 0, file_size = 0;
  uint64_t sparse_tensors = 0, sparse_chunks = 0, sparse_bytes = 0;  // of which stored 2:4
  uint64_t kv_layers = 0, kv_dim = 0;
};

// The chunks of the tensors a pass streams (all but those matching `skip`), from the index of wsz.
Expected from_index(const std::vector<uint8_t>& wsz, const std::string& skip) {
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  Expected e;
  e.file_size = wsz.size();
  const std::regex skip_re(skip);
  for (const ws::Segment& s : reader.index().segments) {
    if (!s.is_tensor() || std::regex_search(s.name, skip_re)) continue;
    e.values += s.value_count;
    e.sparse_tensors += s.is_sparse24();
    for (const ws::ChunkEntry& ch : s.chunks) {
      e.chunks.emplace_back(ch.offset, ch.size);
      e.chunk_bytes += ch.size;
      if (s.is_sparse24()) {
        ++e.sparse_chunks;
        e.sparse_bytes += ch.size;
      }
    }
    if (s.name == "wk") {
      e.kv_layers = s.dims[0];
      e.kv_dim = s.dims[1];
    }
  }
  return e;
}
Expected from_index(const Config& c) { return from_index(bf16_container(c.model), c.skip); }

// How many times each byte of [0, size) was read.
std::vector<int> coverage(const Report& r, uint64_t size) {
  std::vector<int> n(size, 0);
  for (const DramRequest& q : r.weight_requests) {
    EXPECT_LE(q.addr + q.len, size);
    for (uint64_t a = q.addr; a < q.addr + q.len && a < size; ++a) ++n[a];
  }
  return n;
}

// Bytes of the container read other than `tokens` times per streamed chunk byte and 0 elsewhere.
size_t misread_bytes(const Report& r, const Expected& e, int tokens) {
  std::vector<int> want(e.file_size, 0);
  for (const auto& [off, len] : e.chunks)
    for (uint64_t a = off; a < off + len; ++a) want[a] = tokens;
  const std::vector<int> got = coverage(r, e.file_size);
  size_t bad = 0;
  for (size_t a = 0; a < want.size(); ++a) bad += got[a] != want[a];
  return bad;
}

TEST(SimTraffic, CompressedReadsEveryChunkOfTheContainerOncePerToken) {
  Config c = smoke_config(Mode::Compressed, 2);
  c.tokens = 3;
  c.log_reads = true;
  const Expected e = from_index(c);
  const Report r = simulate(c);
  EXPECT_EQ(r.weights.read_bytes, e.chunk_bytes * uint64_t(c.tokens));
  EXPECT_EQ(misread_bytes(r, e, c.tokens), 0u) << "bytes of the container read a wrong number of times";
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

// The figures users get: in 2:4 mode the sim streams the very container `weightstream` writes for the
// model pruned as `weightstream prune` does, so its DRAM bytes per pass are that file's 2:4 chunks plus
// its dense tensors' chunks (the RoPE tables skipped), each read once per token and nothing else.
TEST(SimTraffic, SparseStreamsTheContainerTheToolWrites) {
  const TempDir dir;
  const std::string pruned = dir / "pruned.safetensors", bf16 = dir / "pruned.bf16.safetensors",
                    wsz = dir / "pruned.bf16.wsz";
  for (const std::string& args :
       {"prune " + model_path() + " --method esparse --shuffle global+local -o " + pruned,
        "convert --to bf16 " + pruned + " -o " + bf16, "compress " + bf16 + " -o " + wsz}) {
    const std::string cmd = std::string(WS_TOOL) + " " + args + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  const std::vector<uint8_t> file = read_all(wsz);
  Config c = smoke_config(Mode::Sparse, 2);  // the sim prunes the .bin itself
  c.tokens = 3;
  c.log_reads = true;
  const Expected e = from_index(file, c.skip);
  ASSERT_EQ(e.sparse_tensors, 7u) << "the linear layers wq wk wv wo w1 w2 w3";

  EXPECT_TRUE(load_workload(c).image == file) << "the sim's DRAM image is not the tool's .wsz";
  Config from_tool = c;
  from_tool.pruned = pruned;
  EXPECT_TRUE(load_workload(from_tool).image == file) << "--pruned: the image is not the tool's .wsz";

  const Report r = simulate(c);
  EXPECT_EQ(r.stream_bytes, e.chunk_bytes);
  EXPECT_EQ(r.weights.read_bytes, e.chunk_bytes * uint64_t(c.tokens));
  EXPECT_EQ(misread_bytes(r, e, c.tokens), 0u) << "bytes of the tool's .wsz read a wrong number of times";
  EXPECT_EQ(r.dense_values, e.values);
  EXPECT_EQ(r.errors(), 0u);
  std::printf("2:4: %llu DRAM bytes per pass = %llu in %llu 2:4 chunks + %llu in %zu dense chunks of the tool's "
              "%llu-byte .wsz\n",
              (unsigned long long)r.stream_bytes, (unsigned long long)e.sparse_bytes,
              (unsigned long long)e.sparse_chunks, (unsigned long long)(e.chunk_bytes - e.sparse_bytes),
              e.chunks.size() - size_t(e.sparse_chunks), (unsigned long long)e.file_size);
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
