// Bench of ws_dijiang_feature_map (docs/dijiang_hw.md).
//
// Every RTL test drives the Verilated unit and the cycle model (ws::DiJiangFeatureMapModel) with the
// same inputs in lock step: every pin is compared on every cycle (valid, ready, error, and data where
// valid), and every output transfer is checked against the functional model (ws::dijiang_features).
// Data: stories260K's real q and k (an untrained DiJiang side file, dijiang_init seed 1, through the
// model's forward pass) with their layers' real P; random P' (a DCT with random weights, and raw
// 18-bit values), random tables and random vectors; then malformed configuration and input. Random
// input gaps and output backpressure throughout. The model alone: its error against the fp32 golden
// model (ws::DiJiangAttention::features) on the real vectors, and the bf16 conversion's corners.
// TB_SEED (default 1) drives everything and is printed; WS_DEPTH=long runs more; TRACE=1 writes FSTs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "Vdijiang_fm_D16_Lanes1.h"
#include "Vdijiang_fm_D64_Lanes8.h"
#include "Vdijiang_fm_D8_Lanes8.h"
#include "core/bf16.hpp"
#include "dut.hpp"
#include "core/error.hpp"
#include "llm/dijiang.hpp"
#include "lockstep.hpp"
#include "real_vectors.hpp"
#include "tb.hpp"

namespace tbdij {
namespace {

namespace pkg = ws::pkg;
constexpr int kEntries = 1 << pkg::DIJ_EXP_INDEX_BITS;


// ---------------------------------------------------------------------------------------------
// Stimulus: one sequence of configuration writes and vector elements, in order.

struct Op {
  bool cfg = false;
  uint32_t addr = 0, data = 0;  // configuration
  uint16_t x = 0;               // element (bf16)
  bool last = false;
  void apply(ws::DiJiangFeatureMapInputs& in) const { in.in_data = x; }
};

void add_config(std::vector<Op>& ops, const std::vector<int32_t>& p, const std::vector<uint32_t>& table) {
  for (size_t a = 0; a < p.size(); ++a) ops.push_back({true, uint32_t(a), uint32_t(p[a]) & 0x3FFFFu, 0, false});
  for (size_t r = 0; r < table.size(); ++r)
    ops.push_back({true, uint32_t(pkg::DIJ_CFG_EXP_BASE) + uint32_t(r), table[r], 0, false});
}

void add_vector(std::vector<Op>& ops, const std::vector<uint16_t>& x) {
  for (size_t i = 0; i < x.size(); ++i) ops.push_back({false, 0, 0, x[i], i + 1 == x.size()});
}

// What the unit must emit for ops: the configuration rules of the block (each region in address
// order from its first address, a table entry at most 2^16, elements before a whole configuration
// dropped), vectors framed by count, each one's features by the functional model.
std::deque<uint32_t> expected_outputs(const std::vector<Op>& ops, int d) {
  std::vector<int32_t> p(size_t(d) * size_t(d), 0);
  std::vector<uint32_t> table(size_t(kEntries), 0);
  int p_next = 0, t_next = 0;
  std::vector<uint16_t> x;
  std::deque<uint32_t> out;
  for (const Op& o : ops) {
    if (o.cfg) {
      const uint32_t t_off = o.addr - uint32_t(pkg::DIJ_CFG_EXP_BASE);
      if (o.addr < uint32_t(d * d)) {
        const bool ok = o.addr == 0 || o.addr == uint32_t(p_next);
        if (ok) p[o.addr] = int32_t(o.data << 14) >> 14;
        p_next = ok ? int(o.addr) + 1 : 0;
      } else if (o.addr >= uint32_t(pkg::DIJ_CFG_EXP_BASE) && t_off < uint32_t(kEntries)) {
        const bool ok = (t_off == 0 || t_off == uint32_t(t_next)) && o.data <= 65536;
        if (ok) table[t_off] = o.data;
        t_next = ok ? int(t_off) + 1 : 0;
      }
    } else if (p_next == d * d && t_next == kEntries) {
      x.push_back(o.x);
      if (int(x.size()) == d) {
        for (uint32_t v : ws::dijiang_features(p, table, d, x)) out.push_back(v);
        x.clear();
      }
    }
  }
  return out;
}

template <class R>
Stats run_feature_map(const std::vector<Op>& ops, tb::Rng& rng, std::vector<uint8_t>* causes = nullptr) {
  const std::deque<uint32_t> e = expected_outputs(ops, R::kHeadSize);
  R rtl(tb::waves_path(test_name()));
  ws::DiJiangFeatureMapModel model(R::kHeadSize, R::kLanes);
  return run_lockstep(rtl, model, ops, std::deque<uint64_t>(e.begin(), e.end()), rng, causes);
}

std::vector<uint16_t> random_vector(tb::Rng& rng, int d) {
  const double sigma = std::vector<double>{0.05, 0.5, 2.0, 8.0, 40.0}[rng.range(0, 4)];
  std::vector<uint16_t> x(static_cast<size_t>(d));
  for (uint16_t& v : x) {
    const double s = std::clamp(std::normal_distribution<double>(0, sigma)(rng.engine()), -500.0, 500.0);
    v = ws::fp32_to_bf16(float(s));
  }
  return x;
}

// A configuration: DiJiang's P (DCT with N(0, 1) weights) quantized, or raw 18-bit values (small or
// full range); the real table, or random entries up to 2^16.
std::vector<int32_t> random_projection(tb::Rng& rng, int d) {
  const int kind = int(rng.range(0, 3));
  if (kind <= 1) {
    std::vector<float> p = ws::dct_matrix(d);
    std::vector<float> w(static_cast<size_t>(d));
    for (float& v : w) v = float(std::normal_distribution<double>(0, 1)(rng.engine()));
    for (size_t i = 0; i < size_t(d); ++i)
      for (size_t j = 0; j < size_t(d); ++j) p[i * size_t(d) + j] *= w[j];
    return ws::dijiang_projection_fixed(p, d);
  }
  const int64_t lim = kind == 2 ? 1023 : (1 << 17) - 1;
  std::vector<int32_t> q(size_t(d) * size_t(d));
  for (int32_t& v : q) v = int32_t(int64_t(rng.range(0, uint64_t(2 * lim + (kind == 3)))) - lim - (kind == 3));
  return q;
}

std::vector<uint32_t> random_table(tb::Rng& rng) {
  if (rng.chance(0.7)) return ws::dijiang_exp_table();
  std::vector<uint32_t> t(static_cast<size_t>(kEntries));
  for (uint32_t& v : t) v = uint32_t(rng.range(0, 65536));
  return t;
}

// ---------------------------------------------------------------------------------------------
// The model alone

TEST(DiJiangFeatureMapModel, BfloatToFixedCorners) {
  bool r = false;
  auto fx = [&](float f) { return ws::dijiang_x_fixed(ws::fp32_to_bf16(f), &r); };
  EXPECT_EQ(fx(1.0f), 256);
  EXPECT_FALSE(r);
  EXPECT_EQ(fx(-3.5f), -896);
  EXPECT_EQ(fx(0.0f), 0);
  EXPECT_EQ(fx(-0.0f), 0);
  EXPECT_EQ(fx(510.0f), 510 * 256);             // the largest bf16 in range
  EXPECT_FALSE(r);
  EXPECT_EQ(fx(512.0f), (1 << 17) - 1);         // saturates, flagged
  EXPECT_TRUE(r);
  EXPECT_EQ(fx(-INFINITY), -((1 << 17) - 1));
  EXPECT_TRUE(r);
  EXPECT_EQ(ws::dijiang_x_fixed(0x7FC0, &r), (1 << 17) - 1);  // NaN
  EXPECT_TRUE(r);
  // Below 2^-8 the conversion rounds to nearest even.
  EXPECT_EQ(fx(1.5f / 256), 2);
  EXPECT_EQ(fx(2.5f / 256), 2);
  EXPECT_EQ(fx(0.5f / 256), 0);                 // a tie to even 0
  EXPECT_EQ(fx(0.75f / 256), 1);
  EXPECT_EQ(fx(0.25f / 256), 0);
  EXPECT_EQ(fx(1e-30f), 0);
  EXPECT_FALSE(r);
  // Every bf16 in range against the exact value: the error is at most half a step, ties to even.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = ws::bf16_to_fp32(uint16_t(h));
    const int32_t q = ws::dijiang_x_fixed(uint16_t(h), &r);
    if (!std::isfinite(v) || std::fabs(v) >= 512) {
      ASSERT_TRUE(r) << h;
      continue;
    }
    ASSERT_FALSE(r) << h;
    const double e = double(q) - double(v) * 256;
    ASSERT_LE(std::fabs(e), 0.5) << h;
    if (std::fabs(e) == 0.5) ASSERT_EQ(q % 2, 0) << h;
  }
}

TEST(DiJiangFeatureMapModel, TableAndProjection) {
  const std::vector<uint32_t> t = ws::dijiang_exp_table();
  ASSERT_EQ(t.size(), size_t(kEntries));
  EXPECT_EQ(t[0], 65536u);
  EXPECT_EQ(t[128], 46341u);  // 2^15.5 = 46340.95
  for (size_t r = 1; r < t.size(); ++r) EXPECT_LT(t[r], t[r - 1]);
  EXPECT_GT(t[255], 32768u);
  const std::vector<int32_t> p = ws::dijiang_projection_fixed({1.0f, -0.5f, 0.0f, 2.0f}, 2);
  EXPECT_EQ(p, (std::vector<int32_t>{5909, -2955, 0, 11819}));  // x log2(e) 4096, to nearest
  EXPECT_THROW(ws::dijiang_projection_fixed({30.0f, 0, 0, 0}, 2), ws::FormatError);
}

// The hardware's arithmetic against the fp32 golden model on stories260K's real q and k, on the same
// bf16-rounded input (the arithmetic alone) and on the fp32 input (the bf16 rounding of the input
// too). Each feature's error must lie within the bound derived in docs/dijiang_hw.md section 3 from
// the roundings: in log2 units every f_j is off by at most
//   delta_j = sum_i (|x_i| 2^-13 + |P'_ij| ex_i + ex_i 2^-13) + 2^-9
// (P' to 12 fraction bits, ex_i = |x_i - the fixed-point x_i| the input's own error, f to 8 fraction
// bits), so every t_j = max f - f_j by 2 Delta (Delta = max delta_j) and every e_j relatively by
// eps = 2^(2 Delta) - 1 + 2^-16 (table entries to integers); the sum of the d truncated e adds d 2^-16,
// the truncated reciprocal d 2^-17 (relative), the truncation of e_j 2^-16 and phi's rounding 2^-17
// (absolute): |phi_j - golden_j| <= golden_j (2 eps + d 2^-16 + d 2^-17) 1.01 + 2^-16 + 2^-17 + 1e-6.
TEST(DiJiangFeatureMapModel, ErrorAgainstGoldenOnRealVectors) {
  const RealVectors& rv = real_vectors();
  const int d = rv.config.head_size();
  const size_t n_feat = static_cast<size_t>(d);
  ws::DiJiangAttention att(rv.side, rv.config);
  const std::vector<uint32_t> table = ws::dijiang_exp_table();
  double max_err[2] = {0, 0}, max_ratio[2] = {0, 0}, sum_arith = 0, max_x = 0;
  uint64_t n = 0, over[2] = {0, 0};
  for (int l = 0; l < rv.config.n_layers; ++l) {
    const std::vector<int32_t> p = ws::dijiang_projection_fixed(rv.side.layer_projection(l), d);
    for (const std::vector<float>& v : rv.head_vectors(l)) {
      const std::vector<uint16_t> xb = to_bf16(v);
      const std::vector<uint32_t> phi = ws::dijiang_features(p, table, d, xb);
      std::vector<float> xr(n_feat);
      for (size_t i = 0; i < n_feat; ++i) {
        xr[i] = ws::bf16_to_fp32(xb[i]);
        max_x = std::max(max_x, double(std::fabs(v[i])));
      }
      for (int kind = 0; kind < 2; ++kind) {  // 0: the bf16 input, 1: the fp32 input
        const std::vector<float>& x = kind == 0 ? xr : v;
        std::vector<float> gold(n_feat);
        att.features(l, x.data(), gold.data());
        double delta = 0;
        for (size_t j = 0; j < n_feat; ++j) {
          double dj = std::ldexp(1.0, -9);
          for (size_t i = 0; i < n_feat; ++i) {
            const double ex = std::fabs(ws::dijiang_x_fixed(xb[i], nullptr) / 256.0 - double(x[i]));
            dj += std::fabs(double(x[i])) * std::ldexp(1.0, -13) + std::fabs(p[i * n_feat + j] / 4096.0) * ex +
                  ex * std::ldexp(1.0, -13);
          }
          delta = std::max(delta, dj);
        }
        const double eps = std::exp2(2 * delta) - 1 + std::ldexp(1.0, -16);
        for (size_t j = 0; j < n_feat; ++j) {
          const double err = std::fabs(phi[j] / 65536.0 - double(gold[j]));
          const double bound = double(gold[j]) * (2 * eps + d * std::ldexp(1.0, -16) + d * std::ldexp(1.0, -17)) * 1.01 +
                               std::ldexp(1.0, -16) + std::ldexp(1.0, -17) + 1e-6;
          max_err[kind] = std::max(max_err[kind], err);
          max_ratio[kind] = std::max(max_ratio[kind], err / bound);
          if (err > bound) ++over[kind];
          if (kind == 0) {
            sum_arith += err;
            ++n;
          }
        }
      }
    }
  }
  std::printf("[ dijiang ] feature map vs fp32 golden, %llu features of %llu real vectors (max |x| %.2f): "
              "bf16 input: max error %.3g (mean %.3g), at most %.2f of its bound; fp32 input: max %.3g, at "
              "most %.2f of its bound; %llu + %llu over (%s)\n",
              (unsigned long long)n, (unsigned long long)(n / n_feat), max_x, max_err[0], sum_arith / double(n),
              max_ratio[0], max_err[1], max_ratio[1], (unsigned long long)over[0], (unsigned long long)over[1],
              tb::seed_text().c_str());
  ASSERT_GT(n, 10000u);
  EXPECT_EQ(over[0], 0u);
  EXPECT_EQ(over[1], 0u);
}

// ---------------------------------------------------------------------------------------------
// RTL against the models, typed over the shapes

template <class R>
class DiJiangFeatureMap : public ::testing::Test {};
using Shapes = ::testing::Types<FeatureMapRtl<Vdijiang_fm_D8_Lanes8, 8, 8>, FeatureMapRtl<Vdijiang_fm_D64_Lanes8, 64, 8>,
                                FeatureMapRtl<Vdijiang_fm_D16_Lanes1, 16, 1>>;
TYPED_TEST_SUITE(DiJiangFeatureMap, Shapes);

TYPED_TEST(DiJiangFeatureMap, RandomConfigurationsAndVectors) {
  constexpr int D = TypeParam::kHeadSize;
  tb::Rng rng(tb::seed());
  Stats total;
  const int runs = int(tb::depth(3, 20));
  for (int r = 0; r < runs; ++r) {
    std::vector<Op> ops;
    for (int layer = 0; layer < 2; ++layer) {
      add_config(ops, random_projection(rng, D), random_table(rng));
      const int vectors = int(rng.range(1, D == 64 ? 6 : 20));
      for (int v = 0; v < vectors; ++v) add_vector(ops, random_vector(rng, D));
    }
    total += run_feature_map<TypeParam>(ops, rng);
  }
  report("feature map random, HeadSize " + std::to_string(D) + " Lanes " + std::to_string(TypeParam::kLanes), total);
  EXPECT_EQ(total.mismatches, 0u) << tb::seed_text();
  EXPECT_GT(total.transfers, 0u);
}

TYPED_TEST(DiJiangFeatureMap, BadConfigurationAndInputRaiseStickyErrors) {
  constexpr int D = TypeParam::kHeadSize;
  tb::Rng rng(tb::seed());
  const std::vector<int32_t> p = random_projection(rng, D);
  const std::vector<uint32_t> table = ws::dijiang_exp_table();
  const uint16_t one = ws::fp32_to_bf16(1.0f);
  struct Case {
    const char* name;
    pkg::dij_err_e cause;
    std::vector<Op> ops;
  };
  std::vector<Case> cases;
  {
    Case c{"a vector before P' is loaded (dropped)", pkg::DIJ_ERR_NOT_LOADED, {}};
    add_vector(c.ops, random_vector(rng, D));
    add_config(c.ops, p, table);
    add_vector(c.ops, random_vector(rng, D));  // works once loaded
    cases.push_back(c);
  }
  {
    Case c{"a P' load stopped half way", pkg::DIJ_ERR_NOT_LOADED, {}};
    add_config(c.ops, p, table);
    c.ops.push_back({true, 0, 5, 0, false});  // restarts P'
    add_vector(c.ops, random_vector(rng, D));
    cases.push_back(c);
  }
  {
    Case c{"an unknown address", pkg::DIJ_ERR_CONFIG, {}};
    add_config(c.ops, p, table);
    c.ops.push_back({true, uint32_t(pkg::DIJ_CFG_EXP_BASE + kEntries), 7, 0, false});
    add_vector(c.ops, random_vector(rng, D));  // still loaded: the write is ignored
    cases.push_back(c);
  }
  {
    Case c{"a P' write out of order", pkg::DIJ_ERR_CONFIG, {}};
    add_config(c.ops, p, table);
    c.ops.push_back({true, 3, 7, 0, false});
    add_vector(c.ops, random_vector(rng, D));  // dropped: P' is not loaded any more
    cases.push_back(c);
  }
  {
    Case c{"a table entry above 2^16", pkg::DIJ_ERR_CONFIG, {}};
    add_config(c.ops, p, table);
    c.ops.push_back({true, uint32_t(pkg::DIJ_CFG_EXP_BASE) + 0, 65537, 0, false});
    cases.push_back(c);
  }
  {
    Case c{"in_last early", pkg::DIJ_ERR_FRAME, {}};
    add_config(c.ops, p, table);
    add_vector(c.ops, random_vector(rng, D));
    c.ops[c.ops.size() - 3].last = true;  // framing stays by count: the vector still comes out
    add_vector(c.ops, random_vector(rng, D));
    cases.push_back(c);
  }
  {
    Case c{"an infinite element", pkg::DIJ_ERR_RANGE, {}};
    add_config(c.ops, p, table);
    std::vector<uint16_t> x(size_t(D), one);
    x[1] = 0x7F80;
    add_vector(c.ops, x);
    cases.push_back(c);
  }
  {
    Case c{"an element of 1024", pkg::DIJ_ERR_RANGE, {}};
    add_config(c.ops, p, table);
    std::vector<uint16_t> x(size_t(D), one);
    x[size_t(D - 1)] = ws::fp32_to_bf16(-1024.0f);
    add_vector(c.ops, x);
    cases.push_back(c);
  }
  Stats total;
  for (const Case& c : cases) {
    std::vector<uint8_t> causes;
    total += run_feature_map<TypeParam>(c.ops, rng, &causes);
    EXPECT_EQ(causes, std::vector<uint8_t>{uint8_t(c.cause)}) << c.name << " " << tb::seed_text();
  }
  report("feature map malformed, HeadSize " + std::to_string(D), total);
  EXPECT_EQ(total.mismatches, 0u) << tb::seed_text();
}

// stories260K's heads have 8 dimensions: HeadSize 8 only.
TEST(DiJiangFeatureMapReal, StoriesQAndKPerLayer) {
  using Rtl8 = FeatureMapRtl<Vdijiang_fm_D8_Lanes8, 8, 8>;
  constexpr int D = 8;
  const RealVectors& rv = real_vectors();
  tb::Rng rng(tb::seed());
  std::vector<Op> ops;
  const size_t per_layer = size_t(tb::depth(96, 3840));
  for (int l = 0; l < rv.config.n_layers; ++l) {  // a new P per layer, as the unit is used
    add_config(ops, ws::dijiang_projection_fixed(rv.side.layer_projection(l), D), ws::dijiang_exp_table());
    const std::vector<std::vector<float>> vs = rv.head_vectors(l);
    for (size_t i = 0; i < std::min(per_layer, vs.size()); ++i) add_vector(ops, to_bf16(vs[i]));
  }
  const Stats s = run_feature_map<Rtl8>(ops, rng);
  report("feature map, stories260K q and k, 5 layers", s);
  EXPECT_EQ(s.mismatches, 0u) << tb::seed_text();
  EXPECT_GE(s.transfers, uint64_t(rv.config.n_layers) * 96 * D);
}

}  // namespace
}  // namespace tbdij
