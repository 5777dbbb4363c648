// The golden model of LTE's gated FFN as the pipeline computes it (docs/lte.md, "The RTL skip";
// ws::expert_block_hook): w2 as one product per active expert's column block, the partial outputs added
// in expert order. On the real stories260K in expert order:
// - with the host's fp32 matvec as the product and at most one expert active per layer (the orders
//   agree), the logits equal Llama's gated forward pass bit for bit;
// - with about half the experts active (the orders differ: one sequential chain against a chain per
//   expert and then across experts), every w2 output lies within the fp32 rounding bound of the gated
//   sum, and with the pipeline's arithmetic (bf16 activations, ws::dense_pipeline_y) every w1, w3 and w2
//   output within the bound that bf16 activations add.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "core/bf16.hpp"
#include "hw/stream_program.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "test_env.hpp"

namespace {

using namespace wstest;

// stories260K in expert order (k-means, seed 1), w1/w2/w3 rounded to bf16 as the pipeline streams them.
struct Fixture {
  ws::LteSide side;
  ws::LlamaWeights w;
};
const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const ws::LlamaWeights dense = ws::load_llama(stories_path());
    x.side = ws::lte_experts(dense, ws::kLteExpertSize, 1);
    x.w = ws::expert_ordered(dense, x.side);
    for (ws::LinearKind k : {ws::LinearKind::w1, ws::LinearKind::w2, ws::LinearKind::w3})
      for (float& v : x.w.linear[size_t(k)]) v = ws::bf16_to_fp32(ws::fp32_to_bf16(v));
    return x;
  }();
  return f;
}

// Random decisions from a seed: `on` experts per layer on (-1: each expert on with probability 1/2).
// Two gates of one seed decide the same when routed in the same order.
class RandomGate : public ws::CountingGate {
 public:
  RandomGate(std::vector<int> bounds, uint64_t seed, int on) : CountingGate(std::move(bounds)), rng_(seed), on_(on) {}
  void route(int, const float*, uint8_t* active) override {
    const int E = int(bounds_.size()) - 1;
    if (on_ < 0) {
      for (int e = 0; e < E; ++e) active[e] = rng_() & 1;
    } else {
      std::fill(active, active + E, uint8_t(0));
      // Sometimes none at all (every expert off), else exactly `on_` experts.
      if (rng_() % 8 != 0)
        for (int k = 0; k < on_; ++k) active[rng_() % uint64_t(E)] = 1;
    }
    count(active);
  }

 private:
  std::mt19937_64 rng_;
  int on_;
};

// fp32's unit roundoff and gamma_n = n u / (1 - n u): the bound of a sum of n terms in any order is
// gamma_{n-1} times the sum of the terms' magnitudes.
constexpr double kU = 1.0 / 16777216.0;
double gamma_n(int n) { return n * kU / (1 - n * kU); }

size_t bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  size_t bad = a.size() == b.size() ? 0 : std::max(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) bad += ws::fp32_bits(a[i]) != ws::fp32_bits(b[i]);
  return bad;
}

TEST(LteBlocks, EqualTheGatedForwardBitForBitWhereTheOrdersAgree) {
  const Fixture& f = fixture();
  const uint64_t sd = seed();
  const std::vector<std::vector<int>> seqs = ws::sample_sequences(f.w, 3, 40, sd);
  RandomGate plain_gate(f.side.bounds(), sd, 1), block_gate(f.side.bounds(), sd, 1);
  size_t logits = 0, bad = 0;
  for (const std::vector<int>& seq : seqs) {
    ws::Llama plain(f.w, int(seq.size())), blocks(f.w, int(seq.size()));
    plain.set_ffn_gate(&plain_gate);
    blocks.set_ffn_gate(&block_gate);
    blocks.set_hook(ws::expert_block_hook(block_gate, ws::matvec));
    for (size_t pos = 0; pos < seq.size(); ++pos) {
      const std::vector<float> a = plain.forward(seq[pos], int(pos));
      const std::vector<float>& b = blocks.forward(seq[pos], int(pos));
      bad += bit_mismatches(a, b);
      logits += a.size();
    }
  }
  std::printf("one expert or none per layer: %zu logits, %zu bit mismatches, %.1f%% of experts off (TB_SEED=%llu)\n", logits,
              bad, 100.0 * block_gate.counts().experts_off_fraction(), static_cast<unsigned long long>(sd));
  EXPECT_EQ(bad, 0u);
  EXPECT_GT(logits, 0u);
}

TEST(LteBlocks, StayWithinTheRoundingBoundWhereTheOrdersDiffer) {
  const Fixture& f = fixture();
  const uint64_t sd = seed();
  const std::vector<std::vector<int>> seqs = ws::sample_sequences(f.w, 2, 40, sd);
  const int experts = f.side.experts();
  RandomGate gate(f.side.bounds(), sd, -1);
  // The pipeline's arithmetic for the FFN (bf16 activations, the MAC array's order), the host's for the rest.
  const ws::LinearHook pipeline = [](const ws::LinearView& lv, const float* x, float* y) {
    if (lv.kind != ws::LinearKind::w1 && lv.kind != ws::LinearKind::w3 && lv.kind != ws::LinearKind::w2)
      return ws::matvec(lv, x, y);
    const std::vector<float> g = ws::dense_pipeline_y(lv.w, lv.out, lv.in, x);
    std::memcpy(y, g.data(), g.size() * sizeof(float));
  };
  const ws::LinearHook fp32_blocks = ws::expert_block_hook(gate, ws::matvec);
  const ws::LinearHook hw_blocks = ws::expert_block_hook(gate, pipeline);
  uint64_t compared = 0, differ_fp32 = 0, over_fp32 = 0, over_hw = 0, w2_calls = 0;
  double worst_fp32 = 0, worst_hw = 0;  // the largest |difference| as a fraction of its bound
  // Runs the gated forward pass in fp32 (its y goes on) and compares both block versions on each FFN call.
  auto check = [&](const ws::LinearView& lv, const float* x, float* y) {
    ws::matvec(lv, x, y);
    if (lv.kind != ws::LinearKind::w1 && lv.kind != ws::LinearKind::w3 && lv.kind != ws::LinearKind::w2) return;
    std::vector<float> yf(size_t(lv.out)), yh(size_t(lv.out));
    fp32_blocks(lv, x, yf.data());
    hw_blocks(lv, x, yh.data());
    w2_calls += lv.kind == ws::LinearKind::w2;
    const int n = lv.in + experts;
    for (int i = 0; i < lv.out; ++i) {
      double mag = 0;
      for (int j = 0; j < lv.in; ++j) mag += std::fabs(double(lv.w[size_t(i) * size_t(lv.in) + size_t(j)]) * double(x[j]));
      const double bound_fp32 = 2 * gamma_n(n) * mag;
      // bf16 activations: |bf16(x) - x| <= 2^-8 |x| (8-bit significand, round to nearest; the weights are
      // bf16 already, their products with bf16 activations exact in fp32).
      const double bound_hw = (std::ldexp(1.0, -8) + 2.01 * gamma_n(n)) * mag + n * std::ldexp(1.0, -149);
      const double dff = std::fabs(double(yf[size_t(i)]) - double(y[i])), dhw = std::fabs(double(yh[size_t(i)]) - double(y[i]));
      if (lv.kind == ws::LinearKind::w2) {
        differ_fp32 += ws::fp32_bits(yf[size_t(i)]) != ws::fp32_bits(y[i]);
        over_fp32 += !(dff <= bound_fp32);
        if (bound_fp32 > 0) worst_fp32 = std::max(worst_fp32, dff / bound_fp32);
      } else {
        over_fp32 += ws::fp32_bits(yf[size_t(i)]) != ws::fp32_bits(y[i]);  // w1/w3: the same rows, the same sums
      }
      over_hw += !(dhw <= bound_hw);
      if (bound_hw > 0) worst_hw = std::max(worst_hw, dhw / bound_hw);
      ++compared;
    }
  };
  for (const std::vector<int>& seq : seqs) {
    ws::Llama m(f.w, int(seq.size()));
    m.set_ffn_gate(&gate);
    m.set_hook(check);
    for (size_t pos = 0; pos < seq.size(); ++pos) m.forward(seq[pos], int(pos));
  }
  std::printf("%.1f%% of experts off; %llu FFN outputs compared (%llu w2 products): fp32 blocks differ from the gated sum "
              "in %llu w2 outputs, worst %.3f of the bound, %llu over; pipeline arithmetic worst %.3f of its bound, %llu over "
              "(TB_SEED=%llu)\n",
              100.0 * gate.counts().experts_off_fraction(), static_cast<unsigned long long>(compared),
              static_cast<unsigned long long>(w2_calls), static_cast<unsigned long long>(differ_fp32), worst_fp32,
              static_cast<unsigned long long>(over_fp32), worst_hw, static_cast<unsigned long long>(over_hw),
              static_cast<unsigned long long>(sd));
  EXPECT_EQ(over_fp32, 0u);
  EXPECT_EQ(over_hw, 0u);
  EXPECT_GT(w2_calls, 0u);
  EXPECT_GT(gate.counts().experts_off_fraction(), 0.2);
  EXPECT_LT(gate.counts().experts_off_fraction(), 0.8);
}

// A missing block is far outside the bound: the check above can fail.
TEST(LteBlocks, TheBoundCatchesALeftOutExpert) {
  const Fixture& f = fixture();
  // A w2 view of experts 0 and 1 (their columns gathered), a real input, and a product that drops block 1.
  const int dim = f.w.config.dim, hidden = f.w.config.hidden_dim, n = 64;
  std::vector<float> w2(size_t(dim) * size_t(n));
  std::vector<float> h(static_cast<size_t>(n));
  for (int r = 0; r < dim; ++r)
    for (int j = 0; j < n; ++j) w2[size_t(r) * size_t(n) + size_t(j)] = f.w.linear[size_t(ws::LinearKind::w2)][size_t(r) * size_t(hidden) + size_t(j)];
  std::mt19937_64 rng(seed());
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (float& v : h) v = nd(rng);
  struct Fixed : ws::CountingGate {
    using CountingGate::CountingGate;
    void route(int, const float*, uint8_t* a) override { count(a); }
  } fixed(f.side.bounds());
  std::vector<uint8_t> active(size_t(f.side.experts()), 0);
  active[0] = active[1] = 1;
  fixed.route(0, nullptr, active.data());
  const ws::LinearHook dropping = ws::expert_block_hook(fixed, ws::matvec, [](const ws::W2Blocks& b) {
    std::vector<std::vector<float>> y(b.views.size());
    for (size_t i = 0; i < b.views.size(); ++i) {
      y[i].assign(size_t(b.views[i].out), 0.0f);
      if (i == 0) ws::matvec(b.views[i], b.h[i].data(), y[i].data());
    }
    return y;
  });
  ws::LinearView lv;
  lv.kind = ws::LinearKind::w2;
  lv.layer = 0;
  lv.out = dim;
  lv.in = n;
  lv.w = w2.data();
  std::vector<float> ref(static_cast<size_t>(dim)), got(static_cast<size_t>(dim));
  ws::matvec(lv, h.data(), ref.data());
  dropping(lv, h.data(), got.data());
  int over = 0;
  for (int i = 0; i < dim; ++i) {
    double mag = 0;
    for (int j = 0; j < n; ++j) mag += std::fabs(double(w2[size_t(i) * size_t(n) + size_t(j)]) * double(h[size_t(j)]));
    over += std::fabs(double(got[size_t(i)]) - double(ref[size_t(i)])) > 2 * gamma_n(n + 6) * mag;
  }
  EXPECT_GT(over, dim / 2);
}

}  // namespace
