// LTE (docs/lte.md, llm/lte.hpp) on the real stories260K: the experts of balanced k-means are balanced
// (32 neurons each, the remainder in one last expert, every neuron in exactly one), the side file
// round-trips and refuses what is malformed, the gated forward pass skips exactly the inactive experts
// and equals the dense computation with their outputs zeroed bit for bit, and the JAX forward pass of
// train/ (train/lte/reference.py, which installs JAX itself) gives the same logits and chooses exactly
// the same experts as the C++ model for a side file that train/lte/train.py wrote in a smoke run.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "llm/text_set.hpp"
#include "llm/tokenizer.hpp"
#include "jax_reference.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

const ws::LlamaWeights& stories() {
  static const ws::LlamaWeights w = ws::load_llama(stories_path());
  return w;
}

// A side file with the k-means grouping and a random router (normal, scale 0.3: about half the
// experts on at threshold 0.5), seeded by TB_SEED.
ws::LteSide random_router_side(uint64_t seed, float threshold) {
  ws::LteSide s = ws::lte_experts(stories(), ws::kLteExpertSize, 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.3f);
  s.router.resize(size_t(s.n_layers) * size_t(s.experts()) * size_t(s.dim));
  for (float& v : s.router) v = n(rng);
  s.threshold.assign(size_t(s.n_layers), threshold);
  return s;
}

TEST(Lte, ExpertBoundsFollowTheRemainderRule) {
  EXPECT_EQ(ws::expert_bounds(172, 32), (std::vector<int>{0, 32, 64, 96, 128, 160, 172}));  // stories260K
  EXPECT_EQ(ws::expert_bounds(64, 32), (std::vector<int>{0, 32, 64}));
  EXPECT_EQ(ws::expert_bounds(5, 32), (std::vector<int>{0, 5}));
  const std::vector<int> smol = ws::expert_bounds(1536, 32);  // SmolLM2: 48 experts of 32
  ASSERT_EQ(smol.size(), 49u);
  for (size_t e = 0; e + 1 < smol.size(); ++e) EXPECT_EQ(smol[e + 1] - smol[e], 32);
  EXPECT_THROW(ws::expert_bounds(172, 0), std::invalid_argument);
}

// Every expert holds exactly its size of neurons, every neuron is in exactly one expert.
void expect_balanced(const std::vector<int32_t>& order, int n, int size) {
  const std::vector<int> b = ws::expert_bounds(n, size);
  ASSERT_EQ(order.size(), size_t(n));
  std::vector<int> seen(size_t(n), 0);
  for (int32_t v : order) {
    ASSERT_GE(v, 0);
    ASSERT_LT(v, n);
    ++seen[size_t(v)];
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), n) << "a neuron in no expert or in two";
  for (size_t e = 0; e + 1 < b.size(); ++e) {
    EXPECT_EQ(b[e + 1] - b[e], e + 2 < b.size() || n % size == 0 ? size : n % size);
    EXPECT_TRUE(std::is_sorted(order.begin() + b[e], order.begin() + b[e + 1])) << "rows ascending within an expert";
  }
}

TEST(Lte, KmeansExpertsAreBalancedOnStories260K) {
  const ws::LlamaWeights& w = stories();
  const ws::LteSide s = ws::lte_experts(w, ws::kLteExpertSize, 1);
  ASSERT_EQ(s.experts(), 6);
  const size_t H = size_t(s.hidden_dim), per_layer = H * size_t(s.dim);
  std::vector<int32_t> identity(H);
  for (size_t i = 0; i < H; ++i) identity[i] = int32_t(i);
  for (int l = 0; l < s.n_layers; ++l) {
    const std::vector<int32_t> ord(s.order.begin() + std::ptrdiff_t(size_t(l) * H), s.order.begin() + std::ptrdiff_t(size_t(l + 1) * H));
    expect_balanced(ord, s.hidden_dim, 32);
    const float* rows = w.linear[int(ws::LinearKind::w1)].data() + size_t(l) * per_layer;
    const double km = ws::grouping_cost(rows, s.dim, ord, s.bounds()), file = ws::grouping_cost(rows, s.dim, identity, s.bounds());
    std::printf("layer %d: k-means cost %.3f, file-order cost %.3f\n", l, km, file);
    EXPECT_LT(km, file) << "k-means groups no closer than the file's order, layer " << l;
  }
  EXPECT_EQ(ws::lte_experts(w, 32, 1).order, s.order) << "not deterministic for a seed";
  EXPECT_NE(ws::lte_experts(w, 32, 2).order, s.order) << "the seed changes nothing";
}

TEST(Lte, KmeansIsBalancedForAnySizeAndRemainder) {
  const uint64_t sd = seed();
  std::mt19937_64 rng(sd);
  std::normal_distribution<float> n(0.0f, 1.0f);
  for (int rows : {1, 31, 32, 33, 100, 172, 256}) {
    for (int size : {1, 7, 32}) {
      std::vector<float> data(size_t(rows) * 8);
      for (float& v : data) v = n(rng);
      SCOPED_TRACE("rows " + std::to_string(rows) + ", size " + std::to_string(size) + ", TB_SEED=" + std::to_string(sd));
      expect_balanced(ws::balanced_kmeans(data.data(), rows, 8, size, sd), rows, size);
    }
  }
}

TEST(Lte, SideFileRoundTripsAndRefusesMalformed) {
  const fs::path dir = test_dir();
  ws::LteSide s = random_router_side(seed(), 0.5f);
  s.metadata["note"] = "test";
  ws::save_lte(s, (dir / "a.safetensors").string());
  const ws::LteSide r = ws::load_lte((dir / "a.safetensors").string());
  EXPECT_EQ(r.order, s.order);
  EXPECT_EQ(r.router, s.router);
  EXPECT_EQ(r.threshold, s.threshold);
  EXPECT_EQ(r.metadata.at("note"), "test");
  EXPECT_EQ(r.metadata.at("kmeans_seed"), "1");

  ws::LteSide dup = s;
  dup.order[5] = dup.order[6];
  EXPECT_NE(error_of([&] { dup.validate(); }).find("not a permutation"), std::string::npos);
  ws::LteSide no_th = s;
  no_th.threshold.clear();
  EXPECT_NE(error_of([&] { no_th.validate(); }).find("lte.threshold"), std::string::npos);
  ws::LteSide nan = s;
  nan.router[3] = NAN;
  EXPECT_NE(error_of([&] { nan.validate(); }).find("not finite"), std::string::npos);
  ws::LlamaConfig other = stories().config;
  other.hidden_dim = 176;
  EXPECT_NE(error_of([&] { s.check_model(other); }).find("hidden_dim 172"), std::string::npos);
  EXPECT_NE(error_of([&] { ws::load_lte(stories_path()); }), "");  // not a side file at all
  ws::LteSide grouping = s;
  grouping.router.clear();
  grouping.threshold.clear();
  EXPECT_NE(error_of([&] { ws::RouterGate g(grouping); }).find("no routers"), std::string::npos);
}

// One hook call seen by the gated model, or (route) the gate deciding a layer's experts.
struct Call {
  ws::LinearKind kind;
  int layer, first_row, out, in;
  bool route = false;
};

// Runs `seqs` through the gated model, returning every logit and recording calls and decisions.
std::vector<float> gated_run(const ws::LlamaWeights& w, ws::FfnGate& gate, const std::vector<std::vector<int>>& seqs,
                             std::vector<Call>& calls, std::vector<std::vector<uint8_t>>& decisions) {
  struct Recorder : ws::FfnGate {
    ws::FfnGate& inner;
    std::vector<std::vector<uint8_t>>& out;
    std::vector<Call>& calls;
    Recorder(ws::FfnGate& g, std::vector<std::vector<uint8_t>>& o, std::vector<Call>& c) : inner(g), out(o), calls(c) {}
    const std::vector<int>& bounds() const override { return inner.bounds(); }
    void route(int layer, const float* xb, uint8_t* active) override {
      inner.route(layer, xb, active);
      out.emplace_back(active, active + bounds().size() - 1);
      calls.push_back({ws::LinearKind::w1, layer, 0, 0, 0, true});
    }
  } rec(gate, decisions, calls);
  std::vector<float> logits;
  for (const std::vector<int>& seq : seqs) {
    ws::Llama m(w, int(seq.size()));
    m.set_ffn_gate(&rec);
    m.set_hook([&](const ws::LinearView& lv, const float* x, float* y) {
      const float* base = w.linear[lv.kind == ws::LinearKind::cls ? 0 : int(lv.kind)].data();
      const int first = lv.kind == ws::LinearKind::w1 || lv.kind == ws::LinearKind::w3
                            ? int((lv.w - base) / lv.in) - lv.layer * w.config.hidden_dim
                            : 0;
      calls.push_back({lv.kind, lv.layer, first, lv.out, lv.in, false});
      ws::matvec(lv, x, y);
    });
    for (size_t pos = 0; pos < seq.size(); ++pos) {
      const std::vector<float>& l = m.forward(seq[pos], int(pos));
      logits.insert(logits.end(), l.begin(), l.end());
    }
  }
  return logits;
}

// The dense model with the recorded decisions' inactive neurons zeroed before w2.
std::vector<float> zeroed_dense_run(const ws::LlamaWeights& w, const std::vector<int>& bounds,
                                    const std::vector<std::vector<int>>& seqs,
                                    const std::vector<std::vector<uint8_t>>& decisions) {
  std::vector<float> logits;
  size_t at = 0;
  for (const std::vector<int>& seq : seqs) {
    ws::Llama m(w, int(seq.size()));
    m.set_hook([&](const ws::LinearView& lv, const float* x, float* y) {
      if (lv.kind != ws::LinearKind::w2) return ws::matvec(lv, x, y);
      std::vector<float> h(x, x + lv.in);
      const std::vector<uint8_t>& on = decisions.at(at++);
      for (size_t e = 0; e + 1 < bounds.size(); ++e)
        if (!on[e]) std::fill(h.begin() + bounds[e], h.begin() + bounds[e + 1], 0.0f);
      ws::matvec(lv, h.data(), y);
    });
    for (size_t pos = 0; pos < seq.size(); ++pos) {
      const std::vector<float>& l = m.forward(seq[pos], int(pos));
      logits.insert(logits.end(), l.begin(), l.end());
    }
  }
  EXPECT_EQ(at, decisions.size());
  return logits;
}

size_t bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) n += std::memcmp(&a[i], &b[i], 4) != 0;
  return n;
}

TEST(Lte, SkippedComputationIsDenseWithThoseExpertsZeroedBitForBit) {
  const uint64_t sd = seed();
  const std::vector<std::vector<int>> seqs = ws::sample_sequences(stories(), 3, 48, sd);
  for (float threshold : {0.5f, -1.0f, 2.0f}) {  // mixed; every expert on; every expert off
    SCOPED_TRACE("threshold " + std::to_string(threshold) + ", TB_SEED=" + std::to_string(sd));
    const ws::LteSide side = random_router_side(sd, threshold);
    const ws::LlamaWeights w = ws::expert_ordered(stories(), side);
    const std::vector<int> b = side.bounds();
    ws::RouterGate gate(side);
    std::vector<Call> calls;
    std::vector<std::vector<uint8_t>> decisions;
    const std::vector<float> gated = gated_run(w, gate, seqs, calls, decisions);
    const std::vector<float> zeroed = zeroed_dense_run(w, b, seqs, decisions);
    const size_t bad = bit_mismatches(gated, zeroed);
    std::printf("threshold %g: %.1f%% of experts off, %zu logits, %zu bit mismatches (TB_SEED=%llu)\n", threshold,
                100.0 * gate.counts().experts_off_fraction(), gated.size(), bad, static_cast<unsigned long long>(sd));
    EXPECT_EQ(bad, 0u);
    if (threshold == 0.5f) {
      EXPECT_GT(gate.counts().experts_off_fraction(), 0.2);
      EXPECT_LT(gate.counts().experts_off_fraction(), 0.8);
    }
    if (threshold < 0) {  // all on: the plain dense forward pass of the expert-ordered model
      std::vector<float> plain;
      for (const std::vector<int>& seq : seqs) {
        ws::Llama m(w, int(seq.size()));
        for (size_t pos = 0; pos < seq.size(); ++pos) {
          const std::vector<float>& l = m.forward(seq[pos], int(pos));
          plain.insert(plain.end(), l.begin(), l.end());
        }
      }
      EXPECT_EQ(bit_mismatches(gated, plain), 0u);
    }
    // The hook saw exactly the active experts' rows: between the gate's decision for a layer and the next
    // one (or the classifier), w1 and w3 views cover the runs of active experts, and one w2 view has the
    // active neurons as its inputs (none when every expert is off: nothing left to multiply).
    size_t d = 0, skipped_rows = 0;
    for (size_t i = 0; i < calls.size(); ++i) {
      if (!calls[i].route) continue;
      const std::vector<uint8_t>& on = decisions.at(d++);
      std::vector<int> active, rows_w1, rows_w3, w2_in;
      for (size_t e = 0; e + 1 < b.size(); ++e)
        for (int r = b[e]; r < b[e + 1]; ++r)
          if (on[e]) active.push_back(r);
      for (size_t j = i + 1; j < calls.size() && !calls[j].route && calls[j].kind != ws::LinearKind::cls; ++j) {
        const Call& c = calls[j];
        if (c.kind == ws::LinearKind::w1 || c.kind == ws::LinearKind::w3)
          for (int r = c.first_row; r < c.first_row + c.out; ++r) (c.kind == ws::LinearKind::w1 ? rows_w1 : rows_w3).push_back(r);
        if (c.kind == ws::LinearKind::w2) w2_in.push_back(c.in);
      }
      EXPECT_EQ(rows_w1, active);
      EXPECT_EQ(rows_w3, active);
      EXPECT_EQ(w2_in, active.empty() ? std::vector<int>{} : std::vector<int>{int(active.size())});
      skipped_rows += size_t(side.hidden_dim) - active.size();
    }
    EXPECT_EQ(d, decisions.size());
    EXPECT_EQ(skipped_rows, gate.counts().neurons_off);
  }
}

TEST(Lte, NormBaselineSwitchesOffTheLowestExpertsAtTheFraction) {
  const ws::LteSide side = ws::lte_experts(stories(), 32, 1);
  const ws::LlamaWeights w = ws::expert_ordered(stories(), side);
  const std::vector<std::vector<int>> seqs = ws::sample_sequences(stories(), 1, 32, seed());
  for (double f : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    ws::NormGate gate(w, side.bounds(), f);
    std::vector<Call> calls;
    std::vector<std::vector<uint8_t>> decisions;
    gated_run(w, gate, seqs, calls, decisions);
    // k_l = round(6 f (l+1)) - round(6 f l) off in layer l; over 5 layers round(30 f) per token.
    const double expect = double(std::lround(30.0 * f)) / 30.0;
    EXPECT_DOUBLE_EQ(gate.counts().experts_off_fraction(), expect) << "fraction " << f;
  }
  EXPECT_THROW(ws::NormGate(w, side.bounds(), 1.5), std::invalid_argument);
}

// JAX (float32, XLA's summation order) against run.c's sequential float sums: a few 1e-7 of the logit
// range on stories260K; 1e-4 leaves a wide margin while a modelling error (a RoPE pair, a norm) is 1e-1.
constexpr double kLogitTolerance = 1e-4;
// A router score this close to its threshold may fall on either side under the two summation orders.
constexpr double kRoundingMargin = 1e-5;
// The same on SmolLM2: 30 layers of dim 576 carry more rounding into the router input than stories260K's 5
// of 64 (measured, TB_SEED=1: largest |score difference| 2.0e-6, against 3.3e-7 there).
constexpr double kSmolRoundingMargin = 1e-4;

// A RouterGate that also records every score it computes: [position][layer][expert].
struct RecordingGate : ws::FfnGate {
  ws::RouterGate g;
  std::vector<float> scores;
  explicit RecordingGate(const ws::LteSide& side) : g(side) {}
  const std::vector<int>& bounds() const override { return g.bounds(); }
  void route(int layer, const float* xb, uint8_t* active) override {
    g.route(layer, xb, active);
    scores.insert(scores.end(), g.scores().begin(), g.scores().end());
  }
};

// The C++ model's logits of every position of every sequence (each from position 0) under `gate`.
std::vector<float> routed_logits(const ws::LlamaWeights& w, ws::FfnGate* gate, const std::vector<std::vector<int>>& seqs) {
  std::vector<float> out;
  for (const std::vector<int>& seq : seqs) {
    ws::Llama m(w, int(seq.size()));
    if (gate) m.set_ffn_gate(gate);
    for (size_t pos = 0; pos < seq.size(); ++pos) {
      const std::vector<float>& l = m.forward(seq[pos], int(pos));
      out.insert(out.end(), l.begin(), l.end());
    }
  }
  return out;
}

struct ChoiceComparison {
  size_t differ = 0, near = 0, flipped = 0, off = 0, compared = 0, positions = 0;
  double smallest = 1e9, score_diff = 0.0, logit_err = 0.0;
};

// The expert decisions (score > threshold) of C++ and JAX, per sequence position by position: they must
// agree wherever both scores are farther than `margin` from the threshold. A score nearer may fall on
// either side under the two summation orders; if such a decision differs, the two runs follow different
// computations from there on (the KV cache carries it), so that sequence is compared only up to that
// position (counted). Also the largest logit difference relative to the range over the compared positions.
ChoiceComparison compare_choices(const ws::LteSide& side, const std::vector<std::vector<int>>& seqs, size_t vocab,
                                 const std::vector<float>& ours, const std::vector<float>& jax,
                                 const std::vector<float>& our_scores, const std::vector<float>& jax_scores, double margin) {
  ChoiceComparison r;
  const size_t L = size_t(side.n_layers), E = size_t(side.experts()), per_pos = L * E;
  for (const std::vector<int>& seq : seqs) {
    const size_t p0 = r.positions;
    r.positions += seq.size();
    for (size_t p = p0; p < r.positions; ++p) {
      bool flip = false;
      for (size_t i = p * per_pos; i < (p + 1) * per_pos; ++i) {
        const float th = side.threshold[(i / E) % L];
        const double m = std::min(std::fabs(double(our_scores[i]) - th), std::fabs(double(jax_scores[i]) - th));
        r.smallest = std::min(r.smallest, m);
        r.score_diff = std::max(r.score_diff, std::fabs(double(our_scores[i]) - double(jax_scores[i])));
        const bool a = our_scores[i] > th, b = jax_scores[i] > th;
        r.off += !a;
        r.near += m < margin;
        if (a != b && m < margin) flip = true;
        r.differ += a != b && m >= margin;
      }
      if (flip) {
        ++r.flipped;
        break;  // the rest of this sequence runs on different experts
      }
      const std::vector<float> a(ours.begin() + std::ptrdiff_t(p * vocab), ours.begin() + std::ptrdiff_t((p + 1) * vocab));
      const std::vector<float> b(jax.begin() + std::ptrdiff_t(p * vocab), jax.begin() + std::ptrdiff_t((p + 1) * vocab));
      r.logit_err = std::max(r.logit_err, worst_relative(a, b, vocab));
      ++r.compared;
    }
  }
  return r;
}

TEST(LteJax, ForwardAndExpertChoicesMatchTheCppModel) {
  const fs::path dir = test_dir();
  const std::string tool = std::string(WS_TOOL), model = stories_path();
  // A smoke run of the whole training pipeline: grouping, tokens, both stages for a few steps.
  run_ok(q(tool) + " lte-experts " + q(model) + " -o " + q(dir / "experts.safetensors") + " >/dev/null");
  run_ok(q(tool) + " sample " + q(model) + " -o " + q(dir / "tokens.safetensors") + " --seqs 16 --len 32 >/dev/null");
  run_ok(py("lte/train.py") + " --model " + q(model) + " --experts " + q(dir / "experts.safetensors") + " --tokens " +
         q(dir / "tokens.safetensors") + " --off 0.5 --steps1 3 --steps2 2 --batch 4 --out-side " +
         q(dir / "side.safetensors") + " --out-model " + q(dir / "model.safetensors") + " >" + q(dir / "train.log") + " 2>&1");
  const ws::LteSide side = ws::load_lte((dir / "side.safetensors").string());
  const ws::LlamaWeights tuned = ws::load_llama((dir / "model.safetensors").string());
  const ws::LlamaWeights w = ws::expert_ordered(tuned, side);

  const std::vector<std::vector<int>> seqs = ws::sample_sequences(stories(), 3, 40, seed() + 100);
  const std::string ids = ids_arg(seqs);
  const size_t vocab = size_t(w.config.vocab_size), L = size_t(side.n_layers), E = size_t(side.experts());

  // Dense: the original model's logits.
  run_ok(py("lte/reference.py") + " --model " + q(model) + " --ids " + q(ids) + " --out-logits " + q(dir / "dense.f32"));
  const std::vector<float> dense = routed_logits(stories(), nullptr, seqs);
  const std::vector<float> jax_dense = read_f32(dir / "dense.f32");
  ASSERT_EQ(jax_dense.size(), dense.size());
  const double dense_err = worst_relative(dense, jax_dense, vocab);

  // LTE: the fine-tuned model in expert order with hard routing.
  run_ok(py("lte/reference.py") + " --model " + q(dir / "model.safetensors") + " --side " + q(dir / "side.safetensors") +
         " --ids " + q(ids) + " --out-logits " + q(dir / "lte.f32") + " --out-scores " + q(dir / "scores.f32"));
  const std::vector<float> jax_lte = read_f32(dir / "lte.f32"), jax_scores = read_f32(dir / "scores.f32");
  RecordingGate rec(side);
  const std::vector<float> ours = routed_logits(w, &rec, seqs);
  ASSERT_EQ(jax_lte.size(), ours.size());
  ASSERT_EQ(jax_scores.size(), rec.scores.size());
  ASSERT_EQ(rec.scores.size(), ours.size() / vocab * L * E);
  const ChoiceComparison r = compare_choices(side, seqs, vocab, ours, jax_lte, rec.scores, jax_scores, kRoundingMargin);
  std::printf("JAX vs C++ (TB_SEED=%llu): dense logits %.3g of the range on %zu positions, LTE logits %.3g on %zu "
              "(tolerance %.0e); %zu expert decisions compared, %zu off, %zu differ; largest |score difference| %.3g, "
              "smallest |score - threshold| %.3g, %zu within %.0e, %zu sequences cut at a flip there\n",
              static_cast<unsigned long long>(seed()), dense_err, ours.size() / vocab, r.logit_err, r.compared,
              kLogitTolerance, r.compared * L * E, r.off, r.differ, r.score_diff, r.smallest, r.near, kRoundingMargin,
              r.flipped);
  EXPECT_LT(dense_err, kLogitTolerance);
  EXPECT_EQ(r.differ, 0u);
  EXPECT_LT(r.score_diff, kRoundingMargin / 10) << "scores differ by more than rounding: the margin is not safe";
  EXPECT_GT(r.off, 0u);
  EXPECT_GT(r.compared, r.positions / 2) << "most positions must be compared";
  EXPECT_LT(r.logit_err, kLogitTolerance);
}

// SmolLM2-135M (the real GGUF, dequantized; JAX reads convert --to fp32's file of the same values): the
// routers of train_local.py (layer-local stage 1, a smoke run on the calibration part of the real text)
// choose the same experts in the C++ model as in JAX on held-out windows of that text. The grouping is a
// random permutation per layer (TB_SEED; k-means on SmolLM2 takes most of a minute and is not what is
// tested here), so the expert order is exercised on both sides.
TEST(LteJax, SmolLM2ExpertChoicesMatchTheCppModel) {
  const fs::path dir = test_dir();
  const std::string tool = std::string(WS_TOOL), gguf = WS_SMOLLM2_GGUF, text = WS_EVAL_TEXT;
  ASSERT_FALSE(gguf.empty()) << "SmolLM2 GGUF not found (make deps, then reconfigure)";
  ASSERT_FALSE(text.empty()) << "evaluation text not found (make deps, then reconfigure)";
  const ws::LlamaWeights raw = ws::load_llama(gguf);
  ws::LteSide grouping;
  grouping.n_layers = raw.config.n_layers;
  grouping.dim = raw.config.dim;
  grouping.hidden_dim = raw.config.hidden_dim;
  std::mt19937_64 rng(seed());
  for (int l = 0; l < grouping.n_layers; ++l) {
    std::vector<int32_t> perm(size_t(grouping.hidden_dim));
    for (size_t i = 0; i < perm.size(); ++i) perm[i] = int32_t(i);
    std::shuffle(perm.begin(), perm.end(), rng);
    grouping.order.insert(grouping.order.end(), perm.begin(), perm.end());
  }
  ws::save_lte(grouping, (dir / "experts.safetensors").string());
  run_ok(q(tool) + " convert --to fp32 " + q(gguf) + " -o " + q(dir / "f32.safetensors") + " >/dev/null");
  run_ok(q(tool) + " sample " + q(gguf) + " --text " + q(text) + " --seqs 2 --len 32 -o " + q(dir / "calib.safetensors") +
         " >/dev/null");
  run_ok(py("lte/train_local.py") + " --model " + q(dir / "f32.safetensors") + " --experts " +
         q(dir / "experts.safetensors") + " --tokens " + q(dir / "calib.safetensors") +
         " --off 0.5 --steps 30 --batch 32 --calib-windows 2 --seed " + std::to_string(seed()) + " --out " +
         q(dir / "lte") + " >" + q(dir / "train.log") + " 2>&1");
  const ws::LteSide side = ws::load_lte((dir / "lte50.safetensors").string());
  ASSERT_TRUE(side.has_router());
  EXPECT_EQ(side.order, grouping.order);

  // Held-out windows of the text, 2 x 24 predicted tokens (25 positions each).
  const ws::Tokenizer tok = ws::load_tokenizer(gguf);
  const std::vector<std::vector<int>> seqs =
      ws::text_windows(ws::load_text_set(text, tok).held_out, 2, 24, ws::window_bos(tok));
  ASSERT_EQ(seqs.size(), 2u);
  run_ok(py("lte/reference.py") + " --model " + q(dir / "f32.safetensors") + " --side " + q(dir / "lte50.safetensors") +
         " --ids " + q(ids_arg(seqs)) + " --out-logits " + q(dir / "lte.f32") + " --out-scores " + q(dir / "scores.f32"));
  fs::remove(dir / "f32.safetensors");  // 540 MB
  const std::vector<float> jax = read_f32(dir / "lte.f32"), jax_scores = read_f32(dir / "scores.f32");
  const ws::LlamaWeights w = ws::expert_ordered(raw, side);
  RecordingGate rec(side);
  const std::vector<float> ours = routed_logits(w, &rec, seqs);
  const size_t vocab = size_t(w.config.vocab_size), L = size_t(side.n_layers), E = size_t(side.experts());
  ASSERT_EQ(jax.size(), ours.size());
  ASSERT_EQ(jax_scores.size(), rec.scores.size());
  ASSERT_EQ(rec.scores.size(), ours.size() / vocab * L * E);
  const ChoiceComparison r = compare_choices(side, seqs, vocab, ours, jax, rec.scores, jax_scores, kSmolRoundingMargin);
  std::printf("SmolLM2 JAX vs C++ (TB_SEED=%llu): %zu expert decisions compared (%zu positions of %zu), %zu off, "
              "%zu differ; largest |score difference| %.3g, smallest |score - threshold| %.3g, %zu within %.0e, "
              "%zu sequences cut at a flip there; LTE logits %.3g of the range (tolerance %.0e)\n",
              static_cast<unsigned long long>(seed()), r.compared * L * E, r.compared, r.positions, r.off, r.differ,
              r.score_diff, r.smallest, r.near, kSmolRoundingMargin, r.flipped, r.logit_err, kLogitTolerance);
  EXPECT_EQ(r.differ, 0u);
  EXPECT_LT(r.score_diff, kSmolRoundingMargin / 10) << "scores differ by more than rounding: the margin is not safe";
  EXPECT_GT(r.off, 0u);
  EXPECT_LT(r.off, r.compared * L * E) << "every expert off: nothing routed";
  EXPECT_GT(r.compared, r.positions / 2) << "most positions must be compared";
  EXPECT_LT(r.logit_err, kLogitTolerance);
}

}  // namespace
