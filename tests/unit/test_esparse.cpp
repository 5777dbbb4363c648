// 2:4 pruning: channel statistics, the 2:4 selection, channel shuffles, and the pruned stories260K
// model (exactly 2:4 after permutation, same function as its unpermuted twin, deterministic, and
// E-Sparse with a huge alpha is Wanda).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "prune/calib.hpp"
#include "prune/esparse.hpp"
#include "prune/shuffle.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;
using wstest::long_run;

const std::string kModel = std::string(WS_DATA_DIR) + "/stories260K.bin";



const ws::LlamaWeights& dense() {
  static const ws::LlamaWeights w = ws::load_llama(kModel);
  return w;
}

// Smoke: 4 sequences of 64 tokens; long: 16 of 256 (the tool's default).
const ws::Calibration& calibration() {
  static const ws::Calibration c = [] {
    const int n = long_run() ? 16 : 4, len = long_run() ? 256 : 64;
    return ws::calibrate(dense(), ws::sample_sequences(dense(), n, len, seed()));
  }();
  return c;
}

ws::ActivationLog log_of(int in, const std::vector<float>& x) {
  ws::ActivationLog l;
  l.in = in;
  l.x = x;
  return l;
}

TEST(ChannelStats, L2AndEntropyOfKnownColumns) {
  // Columns: 0 = {3, 4, 0, 0}; 1 = constant; 2 = two values half and half; 3 = four evenly spread values.
  const ws::ActivationLog l = log_of(4, {3, 7, -1, 0,  //
                                         4, 7, -1, 1,  //
                                         0, 7, 5, 2,   //
                                         0, 7, 5, 3});
  const std::vector<double> n = ws::channel_l2(l);
  EXPECT_DOUBLE_EQ(n[0], 5.0);
  EXPECT_DOUBLE_EQ(n[1], 14.0);
  EXPECT_DOUBLE_EQ(n[2], std::sqrt(52.0));
  EXPECT_DOUBLE_EQ(n[3], std::sqrt(14.0));
  const std::vector<double> h4 = ws::channel_entropy(l, 4);
  EXPECT_DOUBLE_EQ(h4[1], 0.0);  // constant: no information
  EXPECT_DOUBLE_EQ(h4[2], 1.0);  // fair coin
  EXPECT_DOUBLE_EQ(h4[3], 2.0);  // 0,1,2,3 over 4 bins: one each
  // Column 0 over 4 bins of [0, 4]: values 0, 0 -> bin 0; 3 -> bin 3; 4 (the max) -> bin 3.
  EXPECT_DOUBLE_EQ(h4[0], 1.0);
  const std::vector<double> h2 = ws::channel_entropy(l, 2);
  EXPECT_DOUBLE_EQ(h2[3], 1.0);  // 0,1 | 2,3
  EXPECT_DOUBLE_EQ(ws::channel_entropy(l, 1)[3], 0.0);
  EXPECT_THROW(ws::channel_entropy(l, 0), std::invalid_argument);
}

TEST(ChannelStats, CalibrationRecordsEveryLinearInputOfRealModel) {
  const ws::Calibration& c = calibration();
  const size_t tokens = long_run() ? 16 * 256 : 4 * 64;
  EXPECT_EQ(c.tokens, tokens);
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    ASSERT_EQ(c.inputs[size_t(k)].size(), 5u);
    for (const ws::ActivationLog& l : c.inputs[size_t(k)]) {
      EXPECT_EQ(l.in, k == int(ws::LinearKind::w2) ? 172 : 64);
      EXPECT_EQ(l.tokens(), tokens);
    }
  }
  // wq, wk and wv read the same normed vector; so do w1 and w3.
  EXPECT_EQ(c.inputs[0][2].x, c.inputs[1][2].x);
  EXPECT_EQ(c.inputs[4][3].x, c.inputs[6][3].x);
  EXPECT_NE(c.inputs[0][2].x, c.inputs[3][2].x);
  // Real activations carry information: entropies strictly between 0 and log2(bins) on most channels.
  const std::vector<double> h = ws::channel_entropy(c.inputs[5][0], 64);
  int inside = 0;
  for (double v : h) inside += v > 0.5 && v < 6.0;
  EXPECT_GT(inside, 150);
}

// Brute force: in every row and group, the two kept columns are at least as important as the two dropped.
void expect_top2(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm,
                 const std::vector<uint8_t>& mask) {
  for (int i = 0; i < out; ++i)
    for (int g = 0; g < in; g += 4) {
      std::vector<double> kept, dropped;
      for (int r = 0; r < 4; ++r)
        (mask[size_t(i * in + g + r)] ? kept : dropped).push_back(imp[size_t(i * in + perm[size_t(g + r)])]);
      ASSERT_EQ(kept.size(), 2u) << "row " << i << " group " << g / 4;
      EXPECT_GE(std::min(kept[0], kept[1]), std::max(dropped[0], dropped[1]));
    }
}

std::vector<double> random_importance(std::mt19937_64& rng, int out, int in) {
  std::lognormal_distribution<double> d(0.0, 1.0);
  std::vector<double> imp(size_t(out * in));
  std::vector<double> col(static_cast<size_t>(in));
  for (double& c : col) c = d(rng) * d(rng);  // channels of very different importance, as activations give
  for (int i = 0; i < out; ++i)
    for (int j = 0; j < in; ++j) imp[size_t(i * in + j)] = d(rng) * col[size_t(j)];
  return imp;
}

TEST(Shuffle, MaskKeepsTopTwoPerGroupUnderAnyPermutation) {
  std::mt19937_64 rng(seed());
  for (int trial = 0; trial < (long_run() ? 200 : 20); ++trial) {
    const int out = 1 + int(rng() % 20), in = 4 * (1 + int(rng() % 12));
    const std::vector<double> imp = random_importance(rng, out, in);
    std::vector<int32_t> perm = ws::identity_perm(in);
    std::shuffle(perm.begin(), perm.end(), rng);
    const std::vector<uint8_t> mask = ws::nm_mask(imp, out, in, perm);
    expect_top2(imp, out, in, perm, mask);
    double kept = 0;
    for (int i = 0; i < out; ++i)
      for (int j = 0; j < in; ++j)
        if (mask[size_t(i * in + j)]) kept += imp[size_t(i * in + perm[size_t(j)])];
    EXPECT_NEAR(ws::kept_importance(imp, out, in, perm), kept, 1e-9 * kept);
  }
  const std::vector<double> ties(8, 1.0);
  const std::vector<uint8_t> m = ws::nm_mask(ties, 2, 4, ws::identity_perm(4));
  EXPECT_EQ(m, (std::vector<uint8_t>{1, 1, 0, 0, 1, 1, 0, 0}));  // ties keep the lower columns
  EXPECT_THROW(ws::nm_mask(std::vector<double>(6, 1.0), 1, 6, ws::identity_perm(6)), std::invalid_argument);
}

TEST(Shuffle, GlobalDealsRankedChannelsRoundRobin) {
  std::mt19937_64 rng(seed());
  const int out = 7, in = 24, groups = in / 4;
  const std::vector<double> imp = random_importance(rng, out, in);
  std::vector<double> total(size_t(in), 0.0);
  for (int i = 0; i < out; ++i)
    for (int j = 0; j < in; ++j) total[size_t(j)] += imp[size_t(i * in + j)];
  const std::vector<int32_t> perm = ws::global_shuffle(imp, out, in);
  std::vector<int32_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, ws::identity_perm(in));
  // Rank of each channel by total importance (0 = most important).
  std::vector<int> rank(static_cast<size_t>(in));
  for (int j = 0; j < in; ++j)
    for (int o = 0; o < in; ++o) rank[size_t(j)] += total[size_t(o)] > total[size_t(j)];
  // Slot s of every group holds the channel ranked in [s * groups, (s + 1) * groups); group g, slot s
  // holds rank s * groups + g.
  for (int g = 0; g < groups; ++g)
    for (int s = 0; s < 4; ++s) EXPECT_EQ(rank[size_t(perm[size_t(4 * g + s)])], s * groups + g);
}

TEST(Shuffle, LocalNeverLosesAndFixesCrowdedGroups) {
  std::mt19937_64 rng(seed());
  for (int trial = 0; trial < (long_run() ? 60 : 8); ++trial) {
    const int out = 16, in = 4 * (2 + int(rng() % 20));
    const std::vector<double> imp = random_importance(rng, out, in);
    std::vector<int32_t> perm = ws::global_shuffle(imp, out, in);
    const double before = ws::kept_importance(imp, out, in, perm);
    ws::local_shuffle(imp, out, in, 16, perm);
    std::vector<int32_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(sorted, ws::identity_perm(in));
    EXPECT_GE(ws::kept_importance(imp, out, in, perm), before);
  }
  // Channels 0..3 matter in every row (importance 10), the rest little (1): identity puts all four in
  // one group and keeps only two of them; a block shuffle must split them, 2 and 2.
  const int out = 3, in = 8;
  std::vector<double> imp(size_t(out * in), 1.0);
  for (int i = 0; i < out; ++i)
    for (int j = 0; j < 4; ++j) imp[size_t(i * in + j)] = 10.0;
  std::vector<int32_t> perm = ws::identity_perm(in);
  EXPECT_DOUBLE_EQ(ws::kept_importance(imp, out, in, perm), out * (20.0 + 2.0));
  ws::local_shuffle(imp, out, in, 8, perm);
  EXPECT_DOUBLE_EQ(ws::kept_importance(imp, out, in, perm), out * 40.0);
  EXPECT_THROW(ws::local_shuffle(imp, out, in, 6, perm), std::invalid_argument);
}

TEST(Importance, FormulasAndHugeAlphaIsWanda) {
  const std::vector<float> w = {-2.0f, 1.0f, 0.5f, -0.25f};
  const std::vector<double> l2 = {1.0, 2.0, 4.0, 8.0}, h = {3.0, 1.0, 0.0, 2.0};
  EXPECT_EQ(ws::importance(w.data(), 1, 4, ws::PruneMethod::magnitude, {}, {}, 1.0),
            (std::vector<double>{2.0, 1.0, 0.5, 0.25}));
  EXPECT_EQ(ws::importance(w.data(), 1, 4, ws::PruneMethod::wanda, l2, {}, 1.0),
            (std::vector<double>{2.0, 2.0, 2.0, 2.0}));
  EXPECT_EQ(ws::importance(w.data(), 1, 4, ws::PruneMethod::esparse, l2, h, 2.0),
            (std::vector<double>{2.0 * 2.5, 1.0 * 2.5, 0.5 * 4.0, 0.25 * 9.0}));
  EXPECT_EQ(ws::importance(w.data(), 1, 4, ws::PruneMethod::esparse, l2, h, 1e300),
            ws::importance(w.data(), 1, 4, ws::PruneMethod::wanda, l2, {}, 1.0));
  EXPECT_THROW(ws::importance(w.data(), 1, 4, ws::PruneMethod::wanda, {}, {}, 1.0), std::invalid_argument);
  EXPECT_THROW(ws::importance(w.data(), 1, 4, ws::PruneMethod::esparse, l2, h, 0.0), std::invalid_argument);
}

ws::LlamaWeights pruned(ws::PruneMethod m, ws::ShuffleMode s, double alpha = 1.0, int bins = 64) {
  ws::PruneOptions o;
  o.method = m;
  o.shuffle = s;
  o.alpha = alpha;
  o.bins = bins;
  return ws::prune(dense(), calibration(), o);
}

// Every pruned layer, read in its permuted column order, has exactly two weights per group of 4 that
// equal the dense weights of channels perm[j], and zeros elsewhere.
void expect_exactly_24(const ws::LlamaWeights& p) {
  const ws::LlamaWeights& d = dense();
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    const int out = ws::linear_out(d.config, ws::LinearKind(k)), in = ws::linear_in(d.config, ws::LinearKind(k));
    ASSERT_EQ(p.perm[size_t(k)].size(), size_t(5 * in));
    for (int l = 0; l < 5; ++l) {
      const int32_t* perm = &p.perm[size_t(k)][size_t(l * in)];
      std::vector<int32_t> sorted(perm, perm + in);
      std::sort(sorted.begin(), sorted.end());
      ASSERT_EQ(sorted, ws::identity_perm(in));
      const float* wp = &p.linear[size_t(k)][size_t(l) * size_t(out * in)];
      const float* wd = &d.linear[size_t(k)][size_t(l) * size_t(out * in)];
      for (int i = 0; i < out; ++i)
        for (int g = 0; g < in; g += 4) {
          int kept = 0;
          for (int r = 0; r < 4; ++r) {
            const float v = wp[i * in + g + r], dv = wd[i * in + perm[g + r]];
            if (v != 0.0f) {
              ++kept;
              ASSERT_EQ(v, dv);
            }
          }
          // The dense model has no exact zeros, so exactly 2 nonzeros means exactly 2 kept.
          ASSERT_EQ(kept, 2) << ws::linear_name(ws::LinearKind(k)) << " layer " << l << " row " << i << " group " << g / 4;
        }
    }
  }
}

TEST(Prune, EveryLayerExactly24AfterPermutation) {
  for (auto m : {ws::PruneMethod::magnitude, ws::PruneMethod::wanda, ws::PruneMethod::esparse})
    for (auto s : {ws::ShuffleMode::none, ws::ShuffleMode::global, ws::ShuffleMode::global_local}) {
      SCOPED_TRACE(std::string(ws::method_name(m)) + " " + ws::shuffle_name(s));
      const ws::LlamaWeights p = pruned(m, s);
      expect_exactly_24(p);
      // Everything that is not a linear layer is untouched.
      EXPECT_EQ(p.token_embedding_table, dense().token_embedding_table);
      EXPECT_EQ(p.rms_ffn_weight, dense().rms_ffn_weight);
      if (s == ws::ShuffleMode::none) {  // no shuffle: identity permutations, stored all the same
        std::vector<int32_t> id;
        for (int l = 0; l < 5; ++l) {
          std::vector<int32_t> one = ws::identity_perm(64);
          id.insert(id.end(), one.begin(), one.end());
        }
        EXPECT_EQ(p.perm[0], id);
      }
    }
}

TEST(Prune, PermutedAndUnpermutedFormsComputeTheSameFunction) {
  const ws::LlamaWeights p = pruned(ws::PruneMethod::esparse, ws::ShuffleMode::global_local);
  const ws::LlamaWeights twin = ws::unpermute(p);
  // The twin is the masked dense model in its own channel order: every weight is either 0 or dense.
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    EXPECT_TRUE(twin.perm[size_t(k)].empty());
    size_t zeros = 0;
    for (size_t i = 0; i < twin.linear[size_t(k)].size(); ++i) {
      const float v = twin.linear[size_t(k)][i];
      if (v == 0.0f) ++zeros;
      else ASSERT_EQ(v, dense().linear[size_t(k)][i]);
    }
    EXPECT_EQ(zeros * 2, twin.linear[size_t(k)].size());
  }

  ws::Llama perm_model(p), twin_natural(twin), twin_perm_order(twin);
  // The twin, with each product summed in the permuted order (the hardware's order: column j of the
  // permuted layer multiplies x[perm[j]]), must give bit-identical logits.
  const ws::LlamaWeights& pw = p;
  twin_perm_order.set_hook([&pw](const ws::LinearView& lv, const float* x, float* y) {
    if (lv.kind == ws::LinearKind::cls) return ws::matvec(lv, x, y);
    const int32_t* perm = &pw.perm[size_t(lv.kind)][size_t(lv.layer * lv.in)];
    for (int i = 0; i < lv.out; ++i) {
      float acc = 0.0f;
      for (int j = 0; j < lv.in; ++j) acc += lv.w[size_t(i) * size_t(lv.in) + size_t(perm[j])] * x[perm[j]];
      y[i] = acc;
    }
  });
  const auto seqs = ws::sample_sequences(dense(), 1, long_run() ? 128 : 24, seed() + 100);
  double natural_diff = 0, largest = 0;
  for (size_t pos = 0; pos + 1 < seqs[0].size(); ++pos) {
    const std::vector<float> a = perm_model.forward(seqs[0][pos], int(pos));
    const std::vector<float> b = twin_perm_order.forward(seqs[0][pos], int(pos));
    const std::vector<float> c = twin_natural.forward(seqs[0][pos], int(pos));
    ASSERT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float))) << "pos " << pos;
    for (size_t v = 0; v < a.size(); ++v) {
      natural_diff = std::max(natural_diff, double(std::fabs(a[v] - c[v])));
      largest = std::max(largest, double(std::fabs(a[v])));
    }
  }
  // In its own channel order the twin sums the same products in another order: fp32 rounding only.
  std::printf("permuted vs unpermuted twin summed in natural order: max |logit diff| = %.3g (largest %.3g)\n",
              natural_diff, largest);
  EXPECT_LT(natural_diff, 1e-4);
}

TEST(Prune, SavedFileLoadsAndRunsWithItsPermutation) {
  const ws::LlamaWeights p = pruned(ws::PruneMethod::esparse, ws::ShuffleMode::global_local);
  const std::string path = ::testing::TempDir() + "ws_test_esparse.safetensors";
  ws::save_llama(p, path, {{"prune_method", "esparse"}});
  const ws::LlamaWeights back = ws::load_llama(path);
  EXPECT_EQ(back.linear, p.linear);
  EXPECT_EQ(back.perm, p.perm);
  ws::Llama a(p), b(back);
  for (int pos = 0; pos < 4; ++pos) {
    const std::vector<float> la = a.forward(pos + 1, pos);
    const std::vector<float> lb = b.forward(pos + 1, pos);
    ASSERT_EQ(0, std::memcmp(la.data(), lb.data(), la.size() * sizeof(float)));
  }
  std::filesystem::remove(path);
}

TEST(Prune, DeterministicForASeed) {
  const uint64_t s = seed();
  ws::PruneOptions o;  // esparse, global+local
  auto run = [&](uint64_t sd) {
    const ws::Calibration c = ws::calibrate(dense(), ws::sample_sequences(dense(), 2, 32, sd));
    return ws::prune(dense(), c, o);
  };
  const ws::LlamaWeights a = run(s), b = run(s), c = run(s + 1);
  EXPECT_EQ(a.linear, b.linear);
  EXPECT_EQ(a.perm, b.perm);
  // Another calibration seed changes the statistics, hence some choices.
  EXPECT_TRUE(a.linear != c.linear || a.perm != c.perm);
}

TEST(Prune, ESparseWithHugeAlphaHasWandasMask) {
  for (auto s : {ws::ShuffleMode::none, ws::ShuffleMode::global_local}) {
    const ws::LlamaWeights wanda = pruned(ws::PruneMethod::wanda, s);
    const ws::LlamaWeights huge = pruned(ws::PruneMethod::esparse, s, 1e300);
    EXPECT_EQ(huge.linear, wanda.linear) << ws::shuffle_name(s);
    EXPECT_EQ(huge.perm, wanda.perm) << ws::shuffle_name(s);
    // ... while a small alpha lets the entropy term change the mask: the comparison has teeth.
    const ws::LlamaWeights small = pruned(ws::PruneMethod::esparse, s, 0.01);
    EXPECT_NE(small.linear, wanda.linear) << ws::shuffle_name(s);
  }
}

TEST(Prune, ShuffleKeepsMoreImportanceThanGlobalAlone) {
  ws::PruneOptions o;
  ws::PruneReport g, gl;
  o.shuffle = ws::ShuffleMode::global;
  ws::prune(dense(), calibration(), o, &g);
  o.shuffle = ws::ShuffleMode::global_local;
  ws::prune(dense(), calibration(), o, &gl);
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    std::printf("%s: kept importance unshuffled %.4f, global %.4f, global+local %.4f\n",
                ws::linear_name(ws::LinearKind(k)), g.kept_unshuffled[size_t(k)] / g.total[size_t(k)],
                g.kept[size_t(k)] / g.total[size_t(k)], gl.kept[size_t(k)] / gl.total[size_t(k)]);
    EXPECT_GE(gl.kept[size_t(k)], g.kept[size_t(k)]);
    EXPECT_GT(gl.kept[size_t(k)], gl.kept_unshuffled[size_t(k)]);  // on the real model the local search wins
  }
}

TEST(Prune, APrunedModelIsPrunedInItsOriginalChannelOrder) {
  // Pruning a pruned (permuted) model again may only drop more weights: each weight left must sit at
  // the same original position with the same value.
  const ws::LlamaWeights p1 = pruned(ws::PruneMethod::wanda, ws::ShuffleMode::global_local);
  ws::PruneOptions o;
  o.method = ws::PruneMethod::wanda;
  o.shuffle = ws::ShuffleMode::none;
  const ws::LlamaWeights p2 = ws::prune(p1, calibration(), o);
  const ws::LlamaWeights t1 = ws::unpermute(p1), t2 = ws::unpermute(p2);
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    size_t left = 0;
    for (size_t i = 0; i < t2.linear[size_t(k)].size(); ++i)
      if (t2.linear[size_t(k)][i] != 0.0f) {
        ++left;
        ASSERT_EQ(t2.linear[size_t(k)][i], t1.linear[size_t(k)][i]) << ws::linear_name(ws::LinearKind(k)) << " " << i;
      }
    EXPECT_GT(left, t2.linear[size_t(k)].size() / 4);  // not everything was dropped
  }
}

TEST(Prune, RejectsCalibrationOfAnotherShape) {
  ws::Calibration empty;
  ws::PruneOptions o;
  EXPECT_THROW(ws::prune(dense(), empty, o), std::invalid_argument);
  o.method = ws::PruneMethod::magnitude;  // needs no calibration
  EXPECT_NO_THROW(ws::prune(dense(), empty, o));
}

TEST(Evaluate, PrunedModelIsMeasurablyWorseThanDense) {
  const auto seqs = ws::sample_sequences(dense(), 2, 32, seed() + 1000);
  const ws::LlamaWeights p = pruned(ws::PruneMethod::wanda, ws::ShuffleMode::none);
  const std::vector<ws::EvalResult> r = ws::evaluate(dense(), {&dense(), &p}, seqs);
  std::printf("dense ppl %.3f; wanda 2:4 ppl %.3f, KL %.4f nats/token\n", r[0].perplexity(), r[1].perplexity(), r[1].kl());
  EXPECT_EQ(r[0].kl(), 0.0);
  EXPECT_GT(r[1].kl(), 1e-3);
  EXPECT_GT(r[1].perplexity(), r[0].perplexity());
}

}  // namespace
