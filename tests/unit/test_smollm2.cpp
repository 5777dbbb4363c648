// SmolLM2-135M-Instruct from its real GGUF file against an independent reference,
// tests/e2e/smollm2_reference.py (docs/llm.md): the forward pass's logits against a numpy forward pass
// in float64 on gguf-py's dequantized tensors (HF row order, rotate-half RoPE); the same model loaded
// from an HF-style checkpoint and from `convert`'s safetensors gives exactly the GGUF weights; the
// tokenizer's ids on hundreds of real strings equal HF tokenizers' built from the same vocabulary and
// merges, decode(encode(s)) == s; the ChatML prompt equals jinja2's rendering of the file's template.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/io.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "llm/tokenizer.hpp"
#include "numfmt/value_format.hpp"
#include "ops/convert.hpp"
#include "smollm2_reference.hpp"
#include "test_env.hpp"

namespace {

using namespace wstest;

// Max |ours - reference| over a position's logits, relative to the reference's range there
// (max - min, about 30 for this model). Measured: about 2e-5 (docs/llm.md); fp32 accumulation over
// dim 576 and 30 layers against float64.
constexpr double kLogitTolerance = 1e-4;

const ws::LlamaWeights& weights() {
  static const ws::LlamaWeights w = ws::load_llama(smollm2());
  return w;
}
const ws::Tokenizer& tokenizer() {
  static const ws::Tokenizer t = ws::load_tokenizer(smollm2());
  return t;
}

std::vector<std::vector<int>> prompts() {
  const ws::Tokenizer& t = tokenizer();
  return {t.encode(t.chat_prompt("Name a planet."), true), t.encode("The quick brown fox jumps over the lazy dog"),
          t.encode("def add(a, b):\n    return a + b  # 2024")};
}

TEST(SmolLM2, ConfigFromTheFile) {
  const ws::LlamaConfig& c = weights().config;
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.dim, 576);
  EXPECT_EQ(c.hidden_dim, 1536);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_size(), 64);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.seq_len, 8192);
  EXPECT_EQ(c.rope_theta, 100000.0f);
  EXPECT_EQ(c.rms_eps, 1e-5f);
  EXPECT_TRUE(c.shared_classifier);
}

TEST(SmolLM2, LogitsMatchNumpyReference) {
  const fs::path dir = test_dir();
  const std::vector<std::vector<int>> ps = prompts();
  std::string ids;
  for (const std::vector<int>& p : ps) {
    ids += ids.empty() ? "" : ",";
    for (size_t i = 0; i < p.size(); ++i) ids += (i ? " " : "") + std::to_string(p[i]);
  }
  reference("logits", "--ids " + q(ids) + " --out " + q(dir / "ref.f32"), dir);
  const std::vector<uint8_t> raw = read_file(dir / "ref.f32");
  const size_t V = size_t(weights().config.vocab_size);
  size_t positions = 0;
  for (const auto& p : ps) positions += p.size();
  ASSERT_EQ(raw.size(), positions * V * 4) << "reference wrote the wrong amount";
  const float* ref = reinterpret_cast<const float*>(raw.data());

  double worst = 0.0, worst_abs = 0.0;
  int argmax_same = 0;
  for (const std::vector<int>& p : ps) {
    ws::Llama model(weights(), int(p.size()));
    for (size_t pos = 0; pos < p.size(); ++pos, ref += V) {
      const std::vector<float>& got = model.forward(p[pos], int(pos));
      const auto [lo, hi] = std::minmax_element(ref, ref + V);
      double diff = 0.0;
      for (size_t i = 0; i < V; ++i) diff = std::max(diff, std::fabs(double(got[i]) - double(ref[i])));
      worst = std::max(worst, diff / double(*hi - *lo));
      worst_abs = std::max(worst_abs, diff);
      argmax_same += std::max_element(got.begin(), got.end()) - got.begin() == hi - ref;
    }
  }
  std::printf("SmolLM2 logits, %zu positions in %zu prompts: max |diff| %.3g, %.3g of the logit range; same argmax at %d\n",
              positions, ps.size(), worst_abs, worst, argmax_same);
  EXPECT_LE(worst, kLogitTolerance);
}

void expect_same_weights(const ws::LlamaWeights& a, const ws::LlamaWeights& b) {
  EXPECT_TRUE(ws::same_config(a.config, b.config));
  EXPECT_EQ(a.config.shared_classifier, b.config.shared_classifier);
  EXPECT_TRUE(a.token_embedding_table == b.token_embedding_table);
  EXPECT_TRUE(a.rms_att_weight == b.rms_att_weight);
  EXPECT_TRUE(a.rms_ffn_weight == b.rms_ffn_weight);
  EXPECT_TRUE(a.rms_final_weight == b.rms_final_weight);
  for (int k = 0; k < ws::kLayerLinears; ++k)
    EXPECT_TRUE(a.linear[size_t(k)] == b.linear[size_t(k)]) << ws::linear_name(ws::LinearKind(k));
}

// The HF checkpoint's q/k rows are in rotate-half order; the loader's permutation must give back
// exactly GGUF's rows (the reference un-permutes independently, as transformers' converters do).
TEST(SmolLM2, HfCheckpointLoadsToTheGgufWeights) {
  const fs::path dir = test_dir();
  reference("hf", "--out " + q(dir), dir);
  expect_same_weights(ws::load_llama((dir / "model.safetensors").string()), weights());
  fs::remove_all(dir);
}

TEST(SmolLM2, ConvertedSafetensorsLoadToTheGgufWeights) {
  const fs::path dir = test_dir();
  {
    ws::FileSource src(smollm2());
    ws::AtomicFileSink out((dir / "fp32.safetensors").string());
    ws::convert_to_format(src, out, ws::ValueFormat::named("fp32"), false);
    out.commit();
  }
  expect_same_weights(ws::load_llama((dir / "fp32.safetensors").string()), weights());
  fs::remove_all(dir);
}

// Hundreds of real English lines (the GPL-3 text Debian ships in every system), whole paragraphs, and
// edge cases: Unicode scripts, digits, whitespace runs, contractions, special tokens.
std::vector<std::string> tokenizer_strings() {
  std::vector<std::string> s;
  for (const char* file : {"/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"}) {
    std::ifstream in(file);
    EXPECT_TRUE(in) << file;
    std::string line, para;
    while (std::getline(in, line)) {
      if (!line.empty()) s.push_back(line);
      para += line + "\n";
      if (line.empty() && para.size() > 200) {
        s.push_back(para);
        para.clear();
      }
    }
  }
  const std::vector<std::string> edge = {
      "", " ", "  ", "\n", "\n\n\n", "\t", " \t\n ", "Hello world", " Hello", "Hello ", "hello  world",
      "12345", "3.14159", "1,000,000", "x1y22z333", "in 2024, 7 of 10", "\u0663\u0664\u0665 \u0967\u0968",
      "\u00bd \u00b2 \u2460 \u2163", "caf\u00e9 na\u00efve \u00dcber", "e\u0301 combining",
      "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\u4e2d\u6587\u6d4b\u8bd5", "\ud55c\uad6d\uc5b4",
      "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440!", "emoji \U0001F600\U0001F44D\U0001F3FD",
      "a\u00a0b nbsp", "zero\u200bwidth", "ideographic\u3000space", "it's don't I'm we'll they've you'd",
      "'s 'S 'RE", "<|im_start|>user\nhi<|im_end|>\n", "<|im_start| almost", "a<|endoftext|>b",
      "tabs\tand\tspaces   ", "trailing spaces   ", "   leading", "line1\r\nline2", "!!!???...",
      "```python\nprint('x')\n```", "http://example.com/a?b=c&d=e", "user@example.com", std::string(300, 'a'),
      std::string(50, ' ') + "x", "\x7f\x01 control bytes", "$12.50 + 7% = \u20ac13"};
  s.insert(s.end(), edge.begin(), edge.end());
  return s;
}

TEST(SmolLM2, TokenizerMatchesHfTokenizers) {
  const fs::path dir = test_dir();
  std::vector<std::string> strings = tokenizer_strings();
  strings.push_back("no token: a\x04" "b\x06\x13" "c");  // bytes SmolLM2 has no token for: dropped by both
  ASSERT_GT(strings.size(), 500u);
  std::ofstream(dir / "strings.json") << nlohmann::json(strings).dump();
  reference("tokenize", "--strings " + q(dir / "strings.json") + " --out " + q(dir / "ids.json"), dir);
  const nlohmann::json ref = nlohmann::json::parse(text_of(dir / "ids.json"));
  ASSERT_EQ(ref.size(), strings.size());
  const ws::Tokenizer& t = tokenizer();
  size_t same = 0, tokens = 0;
  for (size_t i = 0; i < strings.size(); ++i) {
    const std::vector<int> got = t.encode(strings[i], true);  // HF matches special tokens in text too
    const std::vector<int> want = ref[i].get<std::vector<int>>();
    tokens += want.size();
    if (got == want) ++same;
    else ADD_FAILURE() << "string " << i << " " << nlohmann::json(strings[i]).dump() << ": ids differ from HF tokenizers'";
  }
  std::printf("tokenizer: %zu of %zu strings (%zu tokens) encode as HF tokenizers does\n", same, strings.size(), tokens);
}

TEST(SmolLM2, DecodeInvertsEncode) {
  std::vector<std::string> strings = tokenizer_strings();
  strings.push_back("invalid \xc3\x28 utf-8 \xe2\x82");  // bytes, not text: still encoded byte by byte
  for (const std::string& s : strings) EXPECT_EQ(tokenizer().decode(tokenizer().encode(s)), s);
  // A byte without a token (0x04, 0xFF) is dropped, as HF tokenizers does.
  EXPECT_EQ(tokenizer().decode(tokenizer().encode("a\x04" "b\xff")), "ab");
  // Control tokens are text unless asked for, and decode to nothing unless asked for.
  const std::vector<int> plain = tokenizer().encode("<|im_end|>"), special = tokenizer().encode("<|im_end|>", true);
  EXPECT_GT(plain.size(), 1u);
  ASSERT_EQ(special, std::vector<int>{tokenizer().eos()});
  EXPECT_EQ(tokenizer().decode(special), "");
  EXPECT_EQ(tokenizer().decode(special, true), "<|im_end|>");
  EXPECT_THROW(tokenizer().decode({49152}), ws::FormatError);
}

TEST(SmolLM2, ChatPromptIsTheTemplatesRendering) {
  const fs::path dir = test_dir();
  const std::string prompt = "What is 2 + 2?\nAnswer briefly.";
  EXPECT_EQ(tokenizer().chat_prompt(prompt), reference("chat", "--prompt " + q(prompt), dir));
}

}  // namespace
