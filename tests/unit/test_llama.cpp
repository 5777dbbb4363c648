// The llama2.c forward pass against a naive double-precision reference written here from the llama2.c
// equations, on the real stories260K model; the linear-layer hook; run.c's sampler; model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;

const std::string kModel = std::string(WS_DATA_DIR) + "/stories260K.bin";



const ws::LlamaWeights& model() {
  static const ws::LlamaWeights w = ws::load_llama(kModel);
  return w;
}

// The llama2.c transformer straight from its equations, in double, with plain loops and the raw
// arrays of the .bin reader (not ws::LlamaWeights). Keeps every past k and v.
class Reference {
 public:
  explicit Reference(const ws::Llama2cModel& m) : m_(m), c_(m.file.config) {}

  std::vector<double> step(int token, int pos) {
    const int D = c_.dim, H = c_.hidden_dim, hs = D / c_.n_heads, kvd = hs * c_.n_kv_heads;
    const int group = c_.n_heads / c_.n_kv_heads;
    std::vector<double> x(static_cast<size_t>(D));
    for (int i = 0; i < D; ++i) x[size_t(i)] = m_.data("token_embedding_table")[token * D + i];
    ks_.resize(size_t(c_.n_layers));
    vs_.resize(size_t(c_.n_layers));
    for (int l = 0; l < c_.n_layers; ++l) {
      std::vector<double> xn = rmsnorm(x, m_.data("rms_att_weight") + l * D);
      std::vector<double> q = mul(m_.data("wq") + size_t(l) * D * D, D, D, xn);
      std::vector<double> k = mul(m_.data("wk") + size_t(l) * kvd * D, kvd, D, xn);
      std::vector<double> v = mul(m_.data("wv") + size_t(l) * kvd * D, kvd, D, xn);
      // RoPE: pair (2i, 2i+1) of every head turns by pos * 10000^(-2i / head_size).
      auto rotate = [&](std::vector<double>& vec) {
        for (size_t h = 0; h < vec.size() / size_t(hs); ++h)
          for (int i = 0; i < hs / 2; ++i) {
            double th = pos * std::pow(10000.0, -2.0 * i / hs);
            double& a = vec[h * size_t(hs) + size_t(2 * i)];
            double& b = vec[h * size_t(hs) + size_t(2 * i + 1)];
            double a0 = a, b0 = b;
            a = a0 * std::cos(th) - b0 * std::sin(th);
            b = a0 * std::sin(th) + b0 * std::cos(th);
          }
      };
      rotate(q);
      rotate(k);
      ks_[size_t(l)].push_back(k);
      vs_[size_t(l)].push_back(v);
      std::vector<double> att_out(size_t(D), 0.0);
      for (int h = 0; h < c_.n_heads; ++h) {
        const size_t kvh = size_t(h / group) * size_t(hs);
        std::vector<double> s(size_t(pos) + 1);
        double mx = -1e300;
        for (int t = 0; t <= pos; ++t) {
          double dot = 0;
          for (int i = 0; i < hs; ++i) dot += q[size_t(h * hs + i)] * ks_[size_t(l)][size_t(t)][kvh + size_t(i)];
          s[size_t(t)] = dot / std::sqrt(double(hs));
          mx = std::max(mx, s[size_t(t)]);
        }
        double z = 0;
        for (double& e : s) z += (e = std::exp(e - mx));
        for (int t = 0; t <= pos; ++t)
          for (int i = 0; i < hs; ++i)
            att_out[size_t(h * hs + i)] += s[size_t(t)] / z * vs_[size_t(l)][size_t(t)][kvh + size_t(i)];
      }
      std::vector<double> o = mul(m_.data("wo") + size_t(l) * D * D, D, D, att_out);
      for (int i = 0; i < D; ++i) x[size_t(i)] += o[size_t(i)];
      xn = rmsnorm(x, m_.data("rms_ffn_weight") + l * D);
      std::vector<double> a = mul(m_.data("w1") + size_t(l) * H * D, H, D, xn);
      std::vector<double> b = mul(m_.data("w3") + size_t(l) * H * D, H, D, xn);
      for (int i = 0; i < H; ++i) a[size_t(i)] = a[size_t(i)] / (1.0 + std::exp(-a[size_t(i)])) * b[size_t(i)];
      std::vector<double> f = mul(m_.data("w2") + size_t(l) * D * H, D, H, a);
      for (int i = 0; i < D; ++i) x[size_t(i)] += f[size_t(i)];
    }
    x = rmsnorm(x, m_.data("rms_final_weight"));
    return mul(m_.data("token_embedding_table"), c_.vocab_size, D, x);  // shared classifier
  }

 private:
  static std::vector<double> mul(const float* w, int rows, int cols, const std::vector<double>& x) {
    std::vector<double> y(size_t(rows), 0.0);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) y[size_t(i)] += double(w[size_t(i) * cols + j]) * x[size_t(j)];
    return y;
  }
  static std::vector<double> rmsnorm(const std::vector<double>& x, const float* g) {
    double ss = 0;
    for (double v : x) ss += v * v;
    double r = 1.0 / std::sqrt(ss / double(x.size()) + 1e-5);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = double(g[i]) * x[i] * r;
    return y;
  }

  const ws::Llama2cModel& m_;
  ws::Llama2cConfig c_;
  std::vector<std::vector<std::vector<double>>> ks_, vs_;  // [layer][pos][kv_dim]
};

TEST(Llama, ForwardMatchesDoubleReferenceOnStories260K) {
  const ws::Llama2cModel raw = ws::load_llama2c(kModel);
  ws::Llama model(::model());
  Reference ref(raw);
  std::mt19937_64 rng(seed());
  const int steps = long_run() ? 128 : 12;
  // Fed tokens: BOS, then random ids (the equations hold for any input, likely or not).
  int token = ws::kBosToken;
  double worst = 0.0, largest = 0.0;
  for (int pos = 0; pos < steps; ++pos) {
    const std::vector<float>& got = model.forward(token, pos);
    const std::vector<double> want = ref.step(token, pos);
    ASSERT_EQ(got.size(), want.size());
    for (size_t v = 0; v < want.size(); ++v) {
      worst = std::max(worst, std::fabs(double(got[v]) - want[v]));
      largest = std::max(largest, std::fabs(want[v]));
    }
    token = int(rng() % 512);
  }
  std::printf("%d positions: max |logit - reference| = %.3g (largest |logit| %.3g)\n", steps, worst, largest);
  // fp32 against double through 5 layers: measured up to 1.1e-4 over 128 positions, on logits of
  // magnitude ~15. The bound, 5e-4, still catches small slips: an RMSNorm eps of 1e-6 instead of 1e-5
  // moves the logits by 6e-3.
  EXPECT_LT(worst, 5e-4);
  EXPECT_GT(largest, 1.0);  // the comparison is not between two near-zero vectors
}

// run.c computes RoPE; the legacy file carries the exporter's tables. They must describe the same
// rotation, or following run.c would silently change the model.
TEST(Llama, RunCRopeEqualsTheFilesFreqCisTables) {
  const ws::LlamaWeights& w = model();
  const int hs = w.config.head_size();
  double worst = 0;
  for (int pos = 0; pos < w.config.seq_len; ++pos)
    for (int i = 0; i < hs / 2; ++i) {
      float freq = 1.0f / std::pow(10000.0f, float(2 * i) / float(hs));  // run.c: head_dim = 2i
      float val = pos * freq;
      worst = std::max(worst, double(std::fabs(std::cos(val) - w.freq_cis_real[size_t(pos * hs / 2 + i)])));
      worst = std::max(worst, double(std::fabs(std::sin(val) - w.freq_cis_imag[size_t(pos * hs / 2 + i)])));
    }
  std::printf("max |run.c cos/sin - file table| = %.3g\n", worst);
  EXPECT_LT(worst, 1e-4);  // angles up to 511 rad in fp32 lose ~3e-5 in the argument
}

TEST(Llama, HookSeesEveryProductAndCanReplaceIt) {
  const ws::LlamaWeights& w = model();
  ws::Llama plain(w), hooked(w);
  std::vector<std::string> calls;
  hooked.set_hook([&](const ws::LinearView& lv, const float* x, float* y) {
    calls.push_back(std::string(ws::linear_name(lv.kind)) + ":" + std::to_string(lv.layer) + ":" +
                    std::to_string(lv.out) + "x" + std::to_string(lv.in));
    ws::matvec(lv, x, y);
  });
  const std::vector<float> a = plain.forward(ws::kBosToken, 0);
  const std::vector<float> b = hooked.forward(ws::kBosToken, 0);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));  // observing changes nothing
  std::vector<std::string> want;
  for (int l = 0; l < 5; ++l)
    for (const char* s : {"wq:%d:64x64", "wk:%d:32x64", "wv:%d:32x64", "wo:%d:64x64", "w1:%d:172x64",
                          "w3:%d:172x64", "w2:%d:64x172"}) {
      char buf[32];
      std::snprintf(buf, sizeof buf, s, l);
      want.push_back(buf);
    }
  want.push_back("wcls:-1:512x64");
  EXPECT_EQ(calls, want);

  // Replacing: a hook that computes w2 as zero removes the FFN from the residual stream.
  ws::Llama replaced(w);
  replaced.set_hook([](const ws::LinearView& lv, const float* x, float* y) {
    ws::matvec(lv, x, y);
    if (lv.kind == ws::LinearKind::w2)
      for (int i = 0; i < lv.out; ++i) y[i] = 0.0f;
  });
  const std::vector<float> c = replaced.forward(ws::kBosToken, 0);
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, double(std::fabs(a[i] - c[i])));
  EXPECT_GT(diff, 0.1);
}

TEST(Llama, KvCacheMakesPositionsIndependentOfEarlierRuns) {
  // Running a different sequence first must not leak into a new one started at pos 0.
  const ws::LlamaWeights& w = model();
  ws::Llama fresh(w), reused(w);
  for (int pos = 0; pos < 6; ++pos) reused.forward(100 + pos, pos);
  const int toks[] = {1, 42, 300, 7};
  for (int pos = 0; pos < 4; ++pos) {
    const std::vector<float> a = fresh.forward(toks[pos], pos);
    const std::vector<float> b = reused.forward(toks[pos], pos);
    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "pos " << pos;
  }
}

TEST(Llama, BadTokenOrPositionThrows) {
  ws::Llama m(model());
  EXPECT_THROW(m.forward(-1, 0), std::invalid_argument);
  EXPECT_THROW(m.forward(512, 0), std::invalid_argument);
  EXPECT_THROW(m.forward(1, 512), std::invalid_argument);
}

TEST(Eval, KlDivergenceMatchesTheClosedForm) {
  // Two outcomes: p = softmax(0, 0) = (1/2, 1/2), q = softmax(0, ln 3) = (1/4, 3/4).
  const std::vector<float> p{0.0f, 0.0f}, q{0.0f, std::log(3.0f)};
  const double expected = 0.5 * std::log(0.5 / 0.25) + 0.5 * std::log(0.5 / 0.75);
  EXPECT_NEAR(ws::kl_divergence(p, q), expected, 1e-7);
  EXPECT_EQ(ws::kl_divergence(q, q), 0.0);
  const std::vector<float> shifted{5.0f, 5.0f + std::log(3.0f)};  // softmax ignores a common shift
  EXPECT_NEAR(ws::kl_divergence(q, shifted), 0.0, 1e-7);
  EXPECT_THROW(ws::kl_divergence(p, std::vector<float>{0.0f}), std::invalid_argument);
}

TEST(Sampler, TemperatureZeroIsArgmax) {
  ws::Sampler s(seed());
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f};
  EXPECT_EQ(s.sample(logits, 0.0f), 1);  // first of the tied maxima
  logits[4] = 3.0f;
  EXPECT_EQ(s.sample(logits, 0.0f), 4);
}

TEST(Sampler, FrequenciesFollowSoftmaxOverTemperature) {
  ws::Sampler s(seed());
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  const int n = long_run() ? 400000 : 40000;
  for (float temp : {1.0f, 0.5f}) {
    // At temperature 0.5 the probabilities become p^2 / sum p^2 = 25/38, 9/38, 4/38.
    const std::vector<double> p = temp == 1.0f ? std::vector<double>{0.5, 0.3, 0.2}
                                               : std::vector<double>{25.0 / 38, 9.0 / 38, 4.0 / 38};
    std::vector<int> count(3, 0);
    for (int i = 0; i < n; ++i) ++count[size_t(s.sample(logits, temp))];
    for (size_t v = 0; v < 3; ++v) {
      double sigma = std::sqrt(n * p[v] * (1 - p[v]));
      EXPECT_NEAR(count[v], n * p[v], 5 * sigma) << "temperature " << temp << " token " << v;
    }
  }
}

TEST(Sampler, SequencesAreSeededAndStartWithBos) {
  const uint64_t s = seed();
  const auto a = ws::sample_sequences(model(), 2, 24, s);
  const auto b = ws::sample_sequences(model(), 2, 24, s);
  const auto c = ws::sample_sequences(model(), 2, 24, s + 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 2u);
  for (const auto& seq : a) {
    ASSERT_EQ(seq.size(), 25u);
    EXPECT_EQ(seq[0], ws::kBosToken);
    for (int t : seq) EXPECT_TRUE(t >= 0 && t < 512);
  }
  EXPECT_THROW(ws::sample_sequences(model(), 1, 513, s), std::invalid_argument);
  // Another file's BOS (a GGUF file's tokenizer.ggml.bos_token_id) starts the sequence instead.
  const auto d = ws::sample_sequences(model(), 1, 8, s, 1.0f, 7);
  EXPECT_EQ(d[0][0], 7);
  EXPECT_THROW(ws::sample_sequences(model(), 1, 8, s, 1.0f, 512), std::invalid_argument);
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "ws_test_llama_" + name; }

TEST(LlamaFiles, SafetensorsRoundTripGivesIdenticalLogits) {
  const std::string p = temp_path("dense.safetensors");
  ws::save_llama(model(), p, {{"note", "test"}});
  const ws::LlamaWeights back = ws::load_llama(p);
  EXPECT_EQ(back.linear, model().linear);
  EXPECT_EQ(back.token_embedding_table, model().token_embedding_table);
  EXPECT_EQ(back.freq_cis_real, model().freq_cis_real);
  EXPECT_TRUE(back.config.shared_classifier);
  const ws::SafetensorsFile f = ws::read_safetensors(p);
  EXPECT_EQ(f.metadata.at("dim"), "64");
  EXPECT_EQ(f.metadata.at("note"), "test");
  ASSERT_NE(f.find("w2"), nullptr);
  EXPECT_EQ(f.find("w2")->shape, (std::vector<uint64_t>{5, 64, 172}));
  ws::Llama a(model()), b(back);
  for (int pos = 0; pos < 3; ++pos) {
    const std::vector<float> la = a.forward(ws::kBosToken + pos, pos);
    const std::vector<float> lb = b.forward(ws::kBosToken + pos, pos);
    EXPECT_EQ(0, std::memcmp(la.data(), lb.data(), la.size() * sizeof(float)));
  }
  std::filesystem::remove(p);
}

TEST(LlamaFiles, SeparateClassifierIsUsedAndSaved) {
  // A model whose classifier is its own tensor (a negative vocab_size in a .bin): with wcls = 2 x the
  // embedding, every logit is exactly twice the shared model's (scaling by 2 is exact in float).
  ws::LlamaWeights w = model();
  w.config.shared_classifier = false;
  w.wcls = w.token_embedding_table;
  for (float& v : w.wcls) v *= 2.0f;
  const std::string p = temp_path("wcls.safetensors");
  ws::save_llama(w, p);
  const ws::LlamaWeights back = ws::load_llama(p);
  EXPECT_FALSE(back.config.shared_classifier);
  EXPECT_EQ(back.wcls, w.wcls);
  ws::Llama shared(model()), separate(back);
  const std::vector<float> a = shared.forward(ws::kBosToken, 0);
  const std::vector<float> b = separate.forward(ws::kBosToken, 0);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(b[i], 2.0f * a[i]) << i;
  w.wcls.pop_back();
  EXPECT_THROW(ws::Llama{w}, ws::FormatError);
  std::filesystem::remove(p);
}

// Writes a safetensors file holding the model's tensors plus one extra tensor of raw bytes.
void write_with_extra(const std::string& path, const std::map<std::string, std::string>& md,
                      const std::string& extra_name, const std::string& dtype, std::vector<uint64_t> shape,
                      const std::vector<uint8_t>& extra) {
  const ws::LlamaWeights& w = model();
  std::vector<ws::SafetensorsEntry> entries;
  std::vector<const std::vector<float>*> data;
  for (const ws::Llama2cArray& a : ws::llama2c_layout(w.config).arrays) {
    entries.push_back({a.name, "F32", a.shape});
    const std::vector<float>* v = a.name == "token_embedding_table" ? &w.token_embedding_table
                                : a.name == "rms_att_weight"        ? &w.rms_att_weight
                                : a.name == "rms_ffn_weight"        ? &w.rms_ffn_weight
                                : a.name == "rms_final_weight"      ? &w.rms_final_weight
                                : a.name == "freq_cis_real"         ? &w.freq_cis_real
                                : a.name == "freq_cis_imag"         ? &w.freq_cis_imag
                                : a.name == "wq" ? &w.linear[0] : a.name == "wk" ? &w.linear[1]
                                : a.name == "wv" ? &w.linear[2] : a.name == "wo" ? &w.linear[3]
                                : a.name == "w1" ? &w.linear[4] : a.name == "w2" ? &w.linear[5] : &w.linear[6];
    data.push_back(v);
  }
  entries.push_back({extra_name, dtype, shape});
  std::vector<uint8_t> bytes = ws::make_safetensors_header(md, entries);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  for (const auto* v : data) out.write(reinterpret_cast<const char*>(v->data()), std::streamsize(v->size() * 4));
  out.write(reinterpret_cast<const char*>(extra.data()), std::streamsize(extra.size()));
}

std::vector<uint8_t> i32_bytes(const std::vector<int32_t>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

TEST(LlamaFiles, BadFilesRaiseFormatError) {
  const std::map<std::string, std::string> md = ws::llama2c_metadata(model().config);
  std::vector<int32_t> perm(5 * 64);
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = int32_t(i % 64);
  const std::string p = temp_path("bad.safetensors");

  write_with_extra(p, md, "wq.perm", "I32", {5, 64}, i32_bytes(perm));
  EXPECT_NO_THROW(ws::load_llama(p));  // the well-formed file loads, so the failures below are the edits

  perm[70] = 3;  // layer 1 now has 3 twice
  write_with_extra(p, md, "wq.perm", "I32", {5, 64}, i32_bytes(perm));
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  perm[70] = 64;  // out of range
  write_with_extra(p, md, "wq.perm", "I32", {5, 64}, i32_bytes(perm));
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  write_with_extra(p, md, "wq.perm", "I32", {64, 5}, i32_bytes(perm));
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  write_with_extra(p, md, "wq.perm", "F32", {5, 64}, i32_bytes(perm));
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);

  auto md2 = md;
  md2["dim"] = "6x4";
  write_with_extra(p, md2, "unrelated", "I32", {1}, {0, 0, 0, 0});
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  md2 = md;
  md2.erase("n_layers");
  write_with_extra(p, md2, "unrelated", "I32", {1}, {0, 0, 0, 0});
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  md2 = md;
  md2["hidden_dim"] = "176";  // the tensors no longer fit the config
  write_with_extra(p, md2, "unrelated", "I32", {1}, {0, 0, 0, 0});
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);

  {  // a truncated .bin
    std::ifstream in(kModel, std::ios::binary);
    std::vector<char> b(1000);
    in.read(b.data(), std::streamsize(b.size()));
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(b.data(), std::streamsize(b.size()));
  }
  EXPECT_THROW(ws::load_llama(p), ws::FormatError);
  EXPECT_THROW(ws::load_llama(temp_path("does-not-exist")), ws::FormatError);
  std::filesystem::remove(p);
}

TEST(Evaluate, DenseAgainstItselfHasZeroKl) {
  const auto seqs = ws::sample_sequences(model(), 2, 16, seed());
  const std::vector<ws::EvalResult> r = ws::evaluate(model(), {&model(), &model()}, seqs);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].tokens, 32u);
  EXPECT_EQ(r[0].kl(), 0.0);
  EXPECT_EQ(r[0].nll_sum, r[1].nll_sum);
  // A model's own samples at temperature 1: perplexity well above 1 and far below the vocabulary.
  EXPECT_GT(r[0].perplexity(), 1.0);
  EXPECT_LT(r[0].perplexity(), 100.0);
}

// Rows split over threads: every product, so the logits, bit for bit matvec's.
TEST(Llama, ParallelMatvecIsBitExact) {
  const ws::LlamaWeights& w = model();
  ws::ThreadPool pool(2);
  ws::Llama plain(w), split(w);
  split.set_hook(ws::parallel_matvec(pool, 3));
  for (int pos = 0; pos < 8; ++pos) {
    const std::vector<float> a = plain.forward(ws::kBosToken + pos, pos);
    const std::vector<float>& b = split.forward(ws::kBosToken + pos, pos);
    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "position " << pos;
  }
}

}  // namespace
