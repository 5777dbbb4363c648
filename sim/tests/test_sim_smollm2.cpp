// SmolLM2-135M-Instruct (the GGUF of `make deps`), converted to bf16 and compressed by the tool as
// `make sim` does: one layer streamed with --layers reads exactly that layer's chunks of the container,
// each once per token, and the KV cache the model's shape implies; the whole model's figures are those
// of the whole container. Expected values come from the container's index and the GGUF metadata, not
// from the simulator's workload.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>

#include "codec/container_reader.hpp"
#include "files/model_file.hpp"
#include "harness.hpp"
#include "llm/model_meta.hpp"

namespace wsim::test {
namespace {

constexpr int kLayer = 15;
constexpr int kContext = 2048;

// The bf16 .wsz of SmolLM2, made once for the suite by the tool (convert --to bf16, compress).
class SimSmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string gguf = WS_SMOLLM2_GGUF;
    if (gguf.empty()) return;  // each test fails saying so
    dir_ = std::make_unique<TempDir>();
    const std::string bf16 = *dir_ / "smollm2.bf16.safetensors";
    for (const std::string& args :
         {"convert --to bf16 " + gguf + " -o " + bf16, "compress " + bf16 + " -o " + wsz()}) {
      const std::string cmd = std::string(WS_TOOL) + " " + args + " > /dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
    std::filesystem::remove(bf16);
  }
  static void TearDownTestSuite() { dir_.reset(); }
  void SetUp() override { ASSERT_NE(std::string(WS_SMOLLM2_GGUF), "") << "the SmolLM2 GGUF is missing: run make deps"; }
  static std::string wsz() { return *dir_ / "smollm2.bf16.wsz"; }
  static std::unique_ptr<TempDir> dir_;
};
std::unique_ptr<TempDir> SimSmolLM2::dir_;

struct Shape {
  int64_t layers, kv_heads, head_dim, heads;
};
Shape gguf_shape() {
  const ws::FileSource f(WS_SMOLLM2_GGUF);
  const ws::ModelMeta m = *ws::model_meta(ws::require_model_file(f));
  return {m.integer("llama.block_count"), m.integer("llama.attention.head_count_kv"),
          m.integer("llama.embedding_length") / m.integer("llama.attention.head_count"),
          m.integer("llama.attention.head_count")};
}

TEST_F(SimSmolLM2, OneLayerReadsItsChunksAndItsKvCache) {
  const Shape shape = gguf_shape();
  EXPECT_EQ(shape.layers, 30);  // SmolLM2-135M: 30 layers, 3 KV heads of 64
  EXPECT_EQ(shape.kv_heads, 3);
  EXPECT_EQ(shape.head_dim, 64);

  // The container's chunks: all of them, and those of layer kLayer's tensors (blk.15.*).
  const std::vector<uint8_t> file = read_all(wsz());
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(file.data(), file.size());
  std::map<uint64_t, uint32_t> layer_chunks;  // offset -> bytes
  uint64_t all_bytes = 0, all_chunks = 0, all_values = 0, layer_bytes = 0, layer_values = 0;
  const std::string prefix = "blk." + std::to_string(kLayer) + ".";
  for (const ws::Segment& s : reader.index().segments) {
    if (!s.is_tensor()) continue;
    all_values += s.value_count;
    const bool in_layer = s.name.compare(0, prefix.size(), prefix) == 0;
    if (in_layer) layer_values += s.value_count;
    for (const ws::ChunkEntry& ch : s.chunks) {
      all_bytes += ch.size;
      ++all_chunks;
      if (in_layer) {
        layer_chunks[ch.offset] = ch.size;
        layer_bytes += ch.size;
      }
    }
  }
  ASSERT_GT(layer_bytes, 0u);

  Config c;
  c.model = wsz();
  c.mode = Mode::Compressed;
  c.layers = {kLayer};
  c.context = kContext;
  c.processors = 2;
  c.tokens = 3;
  c.seed = seed();
  c.log_reads = true;
  const Report r = simulate(c);

  // Weights: the layer's chunks, every byte of them once per token, nothing else.
  EXPECT_EQ(r.stream_bytes, layer_bytes);
  EXPECT_EQ(r.weights.read_bytes, layer_bytes * uint64_t(c.tokens));
  std::map<uint64_t, std::vector<int>> reads;  // per chunk, how often each byte was read
  for (const auto& [off, len] : layer_chunks) reads[off].assign(len, 0);
  uint64_t outside = 0;
  for (const DramRequest& q : r.weight_requests) {
    auto it = layer_chunks.upper_bound(q.addr);
    if (it == layer_chunks.begin() || q.addr + q.len > std::prev(it)->first + std::prev(it)->second) {
      ++outside;
      continue;
    }
    --it;
    for (uint64_t a = q.addr; a < q.addr + q.len; ++a) ++reads[it->first][a - it->first];
  }
  size_t misread = 0;
  for (const auto& [off, n] : reads) misread += size_t(std::count_if(n.begin(), n.end(), [&](int k) { return k != c.tokens; }));
  EXPECT_EQ(outside, 0u) << "requests outside the layer's chunks";
  EXPECT_EQ(misread, 0u) << "bytes of the layer's chunks read other than once per token";
  EXPECT_EQ(r.errors(), 0u);
  for (const ProcessorStats& p : r.processors) EXPECT_EQ(p.dense_values, layer_values * uint64_t(c.tokens));

  // KV: context x layers x 2 (K and V) x kv_heads x head_dim x 2 bytes (bf16) read per token, the
  // sampled layer's share in the simulation, all layers' in the whole model's figures.
  const uint64_t kv_per_layer = uint64_t(kContext) * 2 * uint64_t(shape.kv_heads * shape.head_dim) * 2;
  EXPECT_EQ(r.kv_read_per_token, kv_per_layer);
  EXPECT_EQ(r.kv.read_bytes, kv_per_layer * uint64_t(c.processors * c.tokens));
  EXPECT_EQ(r.model.kv_read_per_token, kv_per_layer * uint64_t(shape.layers));
  EXPECT_EQ(r.model.kv_read_per_token, 47185920u);
  EXPECT_EQ(r.model.kv_write_per_token, 2u * uint64_t(shape.layers * shape.kv_heads * shape.head_dim) * 2);

  // The whole model: every chunk of the container, every weight.
  EXPECT_EQ(r.model.stream_bytes, all_bytes);
  EXPECT_EQ(r.model.chunks, all_chunks);
  EXPECT_EQ(r.model.dense_values, all_values);
  EXPECT_EQ(r.model.layers, shape.layers);
  EXPECT_EQ(r.model.roof.dram_bytes_per_pass,
            all_bytes + uint64_t(c.processors) * (r.model.kv_read_per_token + r.model.kv_write_per_token));
  std::printf("SmolLM2 layer %d: %zu chunks, %llu weights, %llu bytes of the %llu-byte container's %llu chunk bytes "
              "(%llu chunks, %llu weights); KV read per token %llu B (layer), %llu B (model)\n",
              kLayer, layer_chunks.size(), (unsigned long long)layer_values, (unsigned long long)layer_bytes,
              (unsigned long long)file.size(), (unsigned long long)all_bytes, (unsigned long long)all_chunks,
              (unsigned long long)all_values, (unsigned long long)r.kv_read_per_token,
              (unsigned long long)r.model.kv_read_per_token);
}

// DiJiang's state (docs/dijiang.md "State size"): 9 query heads of 64 x 64 values per layer, read and
// written every token; the sampled layer's in the simulation, all 30 layers' in the whole model's.
TEST_F(SimSmolLM2, DiJiangStateIsHeadsTimesHeadSizeSquaredPerLayer) {
  const Shape shape = gguf_shape();
  EXPECT_EQ(shape.heads, 9);
  for (int bytes : {4, 2}) {
    Config c;
    c.model = wsz();
    c.layers = {kLayer};
    c.attention = Attention::DiJiang;
    c.state_bytes_per_value = bytes;
    c.processors = 2;
    c.tokens = 3;
    c.seed = seed();
    const Report r = simulate(c);
    const uint64_t per_layer = uint64_t(shape.heads * shape.head_dim * shape.head_dim * bytes);
    EXPECT_EQ(r.kv_read_per_token, per_layer);
    EXPECT_EQ(r.kv_write_per_token, per_layer);
    EXPECT_EQ(r.kv.read_bytes, per_layer * uint64_t(c.processors * c.tokens));
    EXPECT_EQ(r.kv.write_bytes, per_layer * uint64_t(c.processors * c.tokens));
    EXPECT_EQ(r.model.state_bytes, per_layer * uint64_t(shape.layers));
    EXPECT_EQ(r.model.kv_read_per_token, per_layer * uint64_t(shape.layers));
    EXPECT_EQ(r.errors(), 0u);
    std::printf("SmolLM2 DiJiang %d-byte state: %llu B a layer, %llu B the model, read and written per token\n", bytes,
                (unsigned long long)per_layer, (unsigned long long)r.model.state_bytes);
  }
  EXPECT_EQ(shape.layers * shape.heads * shape.head_dim * shape.head_dim * 4, 4423680);  // 4.4 MB in fp32
}

// The message load_workload throws for c, or "" when it accepts c.
std::string load_error(const Config& c) {
  try {
    load_workload(c);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A layer the model lacks, and a sample in which no chunk lies wholly (stories260K's stacked tensors
// are one chunk each, across all layers), are errors that say so, not an empty run.
TEST_F(SimSmolLM2, LayersOutsideTheModelOrWithoutChunksAreErrors) {
  Config c;
  c.model = wsz();
  c.layers = {30};
  EXPECT_NE(load_error(c).find("no layer 30 (the model has 30)"), std::string::npos) << load_error(c);
  c.model = model_path();
  c.layers = {1};
  EXPECT_NE(load_error(c).find("the sampled layers hold no chunk"), std::string::npos) << load_error(c);
}

}  // namespace
}  // namespace wsim::test
