// load_llama on llama-architecture files that are not what they should be: each fails with a
// ws::FormatError naming what is wrong, before it sizes anything from the file's numbers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "files/safetensors.hpp"
#include "gguf_builder.hpp"
#include "llm/llama_io.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;
using B = GgufBuilder;

// A tiny llama GGUF: dim 4, 1 layer, 2 heads, FFN 8, vocab 3, with what `edit` changes.
std::string tiny_gguf(const fs::path& dir, const std::string& arch, uint32_t layers, bool all_tensors) {
  B b;
  b.kv("general.architecture", 8, B::string(arch));
  const std::pair<const char*, uint32_t> dims[] = {{"llama.embedding_length", 4}, {"llama.feed_forward_length", 8},
                                                   {"llama.block_count", layers}, {"llama.attention.head_count", 2},
                                                   {"llama.context_length", 16}};
  for (const auto& [k, v] : dims) b.kv(k, 4, B::scalar(v, 4));
  b.kv("llama.attention.layer_norm_rms_epsilon", 6, B::scalar(0x3727C5ACu, 4));  // 1e-5f
  auto f32 = [&](const std::string& name, std::vector<uint64_t> ne) {
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    b.tensor(name, ne, 0, B::Bytes(size_t(n * 4), 0));
  };
  f32("token_embd.weight", {4, 3});
  f32("output_norm.weight", {4});
  if (all_tensors) {
    f32("blk.0.attn_norm.weight", {4});
    f32("blk.0.ffn_norm.weight", {4});
    for (const char* m : {"attn_q", "attn_k", "attn_v", "attn_output"}) f32(std::string("blk.0.") + m + ".weight", {4, 4});
    f32("blk.0.ffn_gate.weight", {4, 8});
    f32("blk.0.ffn_up.weight", {4, 8});
    f32("blk.0.ffn_down.weight", {8, 4});
  }
  const fs::path p = dir / (arch + std::to_string(layers) + (all_tensors ? "" : "_cut") + ".gguf");
  write_file(p, b.bytes());
  return p.string();
}

TEST(LlamaFiles, GgufAndHfErrorsNameTheProblem) {
  const fs::path dir = test_dir();
  const ws::LlamaWeights w = ws::load_llama(tiny_gguf(dir, "llama", 1, true));  // the well-formed one loads
  EXPECT_EQ(w.config.n_kv_heads, 2);  // head_count_kv absent: as many as the heads
  EXPECT_TRUE(w.config.shared_classifier);
  EXPECT_EQ(error_of([&] { ws::load_llama(tiny_gguf(dir, "gpt2", 1, true)); }),
            "architecture 'gpt2' is not supported (llama only)");
  EXPECT_EQ(error_of([&] { ws::load_llama(tiny_gguf(dir, "llama", 1, false)); }),
            "GGUF file has no tensor 'blk.0.attn_norm.weight'");
  // A hostile layer count is refused by the config check, not by an allocation.
  EXPECT_EQ(error_of([&] { ws::load_llama(tiny_gguf(dir, "llama", 1u << 30, false)); }), "config dimensions too large");

  // An HF checkpoint needs its config.json.
  const std::vector<uint8_t> h = ws::make_safetensors_header({}, {{"model.embed_tokens.weight", "F32", {3, 4}}});
  std::vector<uint8_t> st(h);
  st.resize(h.size() + 48, 0);
  write_file(dir / "model.safetensors", st);
  EXPECT_NE(error_of([&] { ws::load_llama((dir / "model.safetensors").string()); }).find("needs its config.json beside it"),
            std::string::npos);
  std::ofstream(dir / "config.json") << R"({"model_type": "mistral"})";
  EXPECT_NE(error_of([&] { ws::load_llama((dir / "model.safetensors").string()); }).find("is not supported (llama only)"),
            std::string::npos);
}

}  // namespace
