// Bench of ws_dijiang_state (docs/dijiang_hw.md section 6): the Verilated unit and its cycle model
// (ws::DiJiangStateModel) in lock step (lockstep.hpp), every output against the functional model
// (ws::dijiang_state_step). Data: random decays, features, values, heads and clears; stories260K's
// real sequence (the hardware feature map's phi of the real q and k, the real v, every head of a
// layer); malformed configuration and input. The model alone: its error against the fp32 golden
// recurrence over 320 real tokens, within a bound carried along the sequence (no drift).
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

#include "Vdijiang_state_D16_Heads3.h"
#include "Vdijiang_state_D64_Heads1.h"
#include "Vdijiang_state_D8_Heads8.h"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "dut.hpp"
#include "hw/dijiang_feature_map_model.hpp"
#include "hw/dijiang_state_model.hpp"
#include "lockstep.hpp"
#include "real_vectors.hpp"
#include "tb.hpp"

namespace tbdij {
namespace {

namespace pkg = ws::pkg;

struct StateOp {
  bool cfg = false;
  uint32_t addr = 0, data = 0;
  bool last = false;
  uint32_t phi_k = 0, phi_q = 0, head = 0;
  uint16_t v = 0;
  bool clear = false;
  void apply(ws::DiJiangStateInputs& in) const {
    in.in_phi_k = phi_k;
    in.in_phi_q = phi_q;
    in.in_v = v;
    in.in_head = head;
    in.in_clear = clear;
  }
};

void add_token(std::vector<StateOp>& ops, uint32_t head, bool clear, const std::vector<uint32_t>& phi_k,
               const std::vector<uint32_t>& phi_q, const std::vector<uint16_t>& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    StateOp o;
    o.last = i + 1 == v.size();
    o.phi_k = phi_k[i];
    o.phi_q = phi_q[i];
    o.v = v[i];
    o.head = head;
    o.clear = clear;
    ops.push_back(o);
  }
}

// What the unit must emit: deltas per head in DIJ_DELTA_MIN .. MAX (others refused), elements of a
// head without a delta dropped, head and clear from a token's first element, tokens framed by count.
std::deque<uint64_t> expected_state_outputs(const std::vector<StateOp>& ops, int d, int heads) {
  std::vector<uint32_t> delta(size_t(heads), 0);
  std::vector<bool> loaded(size_t(heads), false);
  std::vector<std::vector<int64_t>> s(size_t(heads), std::vector<int64_t>(size_t(d) * size_t(d), 0));
  std::vector<uint32_t> pk, pq;
  std::vector<uint16_t> v;
  uint32_t head = 0;
  bool clear = false;
  std::deque<uint64_t> out;
  for (const StateOp& o : ops) {
    if (o.cfg) {
      if (o.addr < uint32_t(heads) && o.data >= uint32_t(pkg::DIJ_DELTA_MIN) && o.data <= uint32_t(pkg::DIJ_DELTA_MAX)) {
        delta[o.addr] = o.data;
        loaded[o.addr] = true;
      }
      continue;
    }
    const uint32_t h = v.empty() ? o.head : head;
    if (h >= uint32_t(heads) || !loaded[h]) continue;
    if (v.empty()) head = o.head, clear = o.clear;
    pk.push_back(o.phi_k);
    pq.push_back(o.phi_q);
    v.push_back(o.v);
    if (int(v.size()) == d) {
      for (int64_t x : ws::dijiang_state_step(s[head], delta[head], clear, pk, pq, v, d))
        out.push_back(uint64_t(x) & ((uint64_t(1) << pkg::DIJ_O_BITS) - 1));
      pk.clear();
      pq.clear();
      v.clear();
    }
  }
  return out;
}

template <class R>
Stats run_state(const std::vector<StateOp>& ops, tb::Rng& rng, std::vector<uint8_t>* causes = nullptr) {
  R rtl(tb::waves_path(test_name()));
  ws::DiJiangStateModel model(R::kHeadSize, R::kHeads);
  return run_lockstep(rtl, model, ops, expected_state_outputs(ops, R::kHeadSize, R::kHeads), rng, causes);
}

StateOp cfg_op(uint32_t addr, uint32_t data) {
  StateOp o;
  o.cfg = true;
  o.addr = addr;
  o.data = data;
  return o;
}

// Features as the feature map makes them (a distribution: random weights, normalised, 16 fraction
// bits), or raw 17-bit values up to 2^16.
std::vector<uint32_t> random_phi(tb::Rng& rng, int d) {
  std::vector<uint32_t> p(static_cast<size_t>(d));
  if (rng.chance(0.3)) {
    for (uint32_t& x : p) x = uint32_t(rng.range(0, 65536));
    return p;
  }
  std::vector<double> w(static_cast<size_t>(d));
  double sum = 0;
  for (double& x : w) sum += x = std::exp(std::normal_distribution<double>(0, 2)(rng.engine()));
  for (size_t i = 0; i < p.size(); ++i) p[i] = uint32_t(std::lround(w[i] / sum * 65536));
  return p;
}

std::vector<uint16_t> random_values(tb::Rng& rng, int d) {
  const double sigma = std::vector<double>{0.01, 0.3, 3.0, 100.0}[rng.range(0, 3)];
  std::vector<uint16_t> v(static_cast<size_t>(d));
  for (uint16_t& x : v)
    x = ws::fp32_to_bf16(float(std::clamp(std::normal_distribution<double>(0, sigma)(rng.engine()), -511.0, 511.0)));
  return v;
}

// ---------------------------------------------------------------------------------------------
// The model against the fp32 golden recurrence on a real sequence

// Golden, docs/dijiang.md's order in float: phi from ws::DiJiangAttention::features,
// S[i][j] = gamma S[i][j] + phi_k[i] v[j], o[j] = sum over i ascending of phi_q[i] S[i][j].
// Hardware: phi from ws::dijiang_features on the bf16 q and k, v in bf16, ws::dijiang_state_step.
// Bound, carried per state element along the sequence (docs/dijiang_hw.md section 6):
//   B <- g B + |g - gamma| |S| + |a_hw - a| + 2^-24 + 2^-23 (|gamma S| + |S'|)
// (g the hardware's 1 - delta / 2^22, a = phi_k[i] v[j]; 2^-24 the floor of the decay; the last term
// float's two roundings in the golden), and per output
//   |o_hw - o| <= sum_i (phi_q_hw[i] B_ij + |phi_q_hw[i] - phi_q[i]| |S_ij|) + d 2^-24 sum_i |phi_q[i] S_ij| + 2^-17.
// B is a geometric sum: it stays below (its largest step term) / (1 - g), whatever the length.
TEST(DiJiangStateModel, ErrorAgainstGoldenOverRealSequence) {
  const RealVectors& rv = real_vectors();
  const ws::LlamaConfig& c = rv.config;
  const int d = c.head_size();
  const size_t n = static_cast<size_t>(d);
  ws::DiJiangAttention att(rv.side, c);
  const std::vector<float> gammas = ws::dijiang_decays(c.n_heads);
  const std::vector<uint32_t> table = ws::dijiang_exp_table();
  const int T = RealVectors::kPositions;
  // kind 0: the golden recurrence on the hardware's own phi and the bf16 v (the state arithmetic
  // alone); kind 1: on the golden phi and the fp32 v (with the feature map's and bf16's errors).
  struct Err {
    double max = 0, ratio = 0, first = 0, last = 0, o_first = 0, o_last = 0;
    uint64_t over = 0;
  } err[2];
  double max_bound = 0;
  uint64_t outputs = 0;
  for (int l = 0; l < c.n_layers; ++l) {
    const std::vector<int32_t> p = ws::dijiang_projection_fixed(rv.side.layer_projection(l), d);
    for (int h = 0; h < c.n_heads; ++h) {
      const int kvh = h / (c.n_heads / c.n_kv_heads);
      const float gamma = gammas[size_t(h)];
      const uint32_t delta = ws::dijiang_delta_fixed(gamma);
      const double g = 1.0 - delta / 4194304.0;
      std::vector<float> s[2] = {std::vector<float>(n * n, 0.0f), std::vector<float>(n * n, 0.0f)};
      std::vector<double> b[2] = {std::vector<double>(n * n, 0.0), std::vector<double>(n * n, 0.0)};
      std::vector<int64_t> s_hw(n * n, 0);
      for (int t = 0; t < T; ++t) {
        const RealToken& tok = rv.tokens[size_t(l)][size_t(t)];
        const std::vector<float> q(tok.q.begin() + h * d, tok.q.begin() + (h + 1) * d);
        const std::vector<float> k(tok.k.begin() + kvh * d, tok.k.begin() + (kvh + 1) * d);
        const std::vector<float> v(tok.v.begin() + kvh * d, tok.v.begin() + (kvh + 1) * d);
        const std::vector<uint16_t> vb = to_bf16(v);
        const std::vector<uint32_t> pk_hw = ws::dijiang_features(p, table, d, to_bf16(k));
        const std::vector<uint32_t> pq_hw = ws::dijiang_features(p, table, d, to_bf16(q));
        const std::vector<int64_t> o_hw = ws::dijiang_state_step(s_hw, delta, t == 0, pk_hw, pq_hw, vb, d);
        for (int kind = 0; kind < 2; ++kind) {
          std::vector<float> pk(n), pq(n), vv(n);
          if (kind == 0) {
            for (size_t i = 0; i < n; ++i) {
              pk[i] = float(pk_hw[i] / 65536.0);
              pq[i] = float(pq_hw[i] / 65536.0);
              vv[i] = ws::bf16_to_fp32(vb[i]);
            }
          } else {
            att.features(l, k.data(), pk.data());
            att.features(l, q.data(), pq.data());
            vv = v;
          }
          Err& e = err[kind];
          for (size_t j = 0; j < n; ++j) {
            const double vj_hw = ws::dijiang_x_fixed(vb[j], nullptr) / 256.0;
            float o = 0.0f;
            double bo = 0, so = 0;
            for (size_t i = 0; i < n; ++i) {
              float& sij = s[kind][i * n + j];
              const float old = sij;
              sij = gamma * sij + pk[i] * vv[j];
              double& bij = b[kind][i * n + j];
              bij = g * bij + std::fabs(g - double(gamma)) * std::fabs(double(old)) +
                    std::fabs(pk_hw[i] / 65536.0 * vj_hw - double(pk[i]) * double(vv[j])) + std::ldexp(1.0, -24) +
                    std::ldexp(1.0, -23) * (std::fabs(double(gamma) * old) + std::fabs(double(sij)));
              o += pq[i] * sij;
              bo += pq_hw[i] / 65536.0 * bij + std::fabs(pq_hw[i] / 65536.0 - double(pq[i])) * std::fabs(double(sij));
              so += std::fabs(double(pq[i]) * double(sij));
              max_bound = std::max(max_bound, bij);
            }
            const double bound = bo + d * std::ldexp(1.0, -24) * so + std::ldexp(1.0, -17);
            const double x = std::fabs(double(o_hw[j]) / 65536.0 - double(o));
            e.max = std::max(e.max, x);
            e.ratio = std::max(e.ratio, x / bound);
            if (t < 64) e.first = std::max(e.first, x), e.o_first = std::max(e.o_first, double(std::fabs(o)));
            if (t >= T - 64) e.last = std::max(e.last, x), e.o_last = std::max(e.o_last, double(std::fabs(o)));
            if (x > bound) ++e.over;
            outputs += kind == 0;
          }
        }
      }
    }
  }
  for (int kind = 0; kind < 2; ++kind) {
    const Err& e = err[kind];
    std::printf("[ dijiang ] state vs fp32 golden (%s), %d layers x %d heads x %d tokens: max error %.3g, at most "
                "%.2f of its bound, %llu over; tokens 0-63: %.3g of max |o| %.3g (%.2g), last 64: %.3g of %.3g "
                "(%.2g) (%s)\n",
                kind == 0 ? "same phi and bf16 v: the state arithmetic" : "golden phi and fp32 v: end to end",
                c.n_layers, c.n_heads, T, e.max, e.ratio, (unsigned long long)e.over, e.first, e.o_first,
                e.first / e.o_first, e.last, e.o_last, e.last / e.o_last, tb::seed_text().c_str());
    EXPECT_EQ(e.over, 0u);
  }
  std::printf("[ dijiang ] largest per-element state bound %.3g\n", max_bound);
  ASSERT_EQ(outputs, uint64_t(c.n_layers) * uint64_t(c.n_heads) * uint64_t(T) * n);
}

TEST(DiJiangStateModel, DeltaAndWidths) {
  EXPECT_EQ(ws::dijiang_delta_fixed(1.0f - 1.0f / 32), 131072u);
  EXPECT_EQ(ws::dijiang_delta_fixed(1.0f - 1.0f / 512), 8192u);
  EXPECT_THROW(ws::dijiang_delta_fixed(0.5f), ws::FormatError);
  EXPECT_THROW(ws::dijiang_delta_fixed(1.0f), ws::FormatError);
  // The worst case stays in 44 bits: phi_k = 1, v = the largest value in range, the slowest decay,
  // 6,000 tokens (|S| approaches 2^18 and never wraps).
  const int d = 8;
  std::vector<int64_t> s(64, 0);
  const std::vector<uint32_t> one(d, 65536);
  const std::vector<uint16_t> big(d, ws::fp32_to_bf16(-510.0f));
  std::vector<int64_t> o;
  for (int t = 0; t < 6000; ++t) o = ws::dijiang_state_step(s, 8192, t == 0, one, one, big, d);
  const double s00 = double(s[0]) / 16777216.0;
  EXPECT_LT(s00, -510 * 511.0);  // near -510 / (1 - gamma) = -261,120, the sign kept
  EXPECT_GT(s00, -510 * 512.0 - 1);
  EXPECT_NEAR(double(o[0]) / 65536.0, 8 * s00, 1.0);  // o = sum of 8 equal S values
}

// ---------------------------------------------------------------------------------------------
// RTL against the models, typed over the shapes

template <class R>
class DiJiangState : public ::testing::Test {};
using Shapes = ::testing::Types<StateRtl<Vdijiang_state_D8_Heads8, 8, 8>, StateRtl<Vdijiang_state_D64_Heads1, 64, 1>,
                                StateRtl<Vdijiang_state_D16_Heads3, 16, 3>>;
TYPED_TEST_SUITE(DiJiangState, Shapes);

TYPED_TEST(DiJiangState, RandomTokens) {
  constexpr int D = TypeParam::kHeadSize, H = TypeParam::kHeads;
  tb::Rng rng(tb::seed());
  Stats total;
  const int runs = int(tb::depth(3, 20));
  for (int r = 0; r < runs; ++r) {
    std::vector<StateOp> ops;
    for (int h = 0; h < H; ++h)
      ops.push_back(cfg_op(uint32_t(h), uint32_t(rng.range(pkg::DIJ_DELTA_MIN, pkg::DIJ_DELTA_MAX))));
    const int tokens = int(rng.range(2, D == 64 ? 5 : 24));
    for (int t = 0; t < tokens; ++t)
      add_token(ops, uint32_t(rng.range(0, H - 1)), rng.chance(0.15), random_phi(rng, D), random_phi(rng, D),
                random_values(rng, D));
    total += run_state<TypeParam>(ops, rng);
  }
  report("state random, HeadSize " + std::to_string(D) + " Heads " + std::to_string(H), total);
  EXPECT_EQ(total.mismatches, 0u) << tb::seed_text();
  EXPECT_GT(total.transfers, 0u);
}

TYPED_TEST(DiJiangState, BadConfigurationAndInputRaiseStickyErrors) {
  constexpr int D = TypeParam::kHeadSize, H = TypeParam::kHeads;
  tb::Rng rng(tb::seed());
  const std::vector<uint32_t> phi = random_phi(rng, D);
  const std::vector<uint16_t> v = random_values(rng, D);
  struct Case {
    const char* name;
    pkg::dij_err_e cause;
    std::vector<StateOp> ops;
  };
  std::vector<Case> cases;
  cases.push_back({"a decay below 1 - 2^-5", pkg::DIJ_ERR_CONFIG, {cfg_op(0, pkg::DIJ_DELTA_MAX + 1)}});
  cases.push_back({"a decay above 1 - 2^-9", pkg::DIJ_ERR_CONFIG, {cfg_op(0, pkg::DIJ_DELTA_MIN - 1)}});
  cases.push_back({"an unknown head address", pkg::DIJ_ERR_CONFIG, {cfg_op(uint32_t(H), 10000)}});
  cases.push_back({"a token of a head without a decay (dropped)", pkg::DIJ_ERR_NOT_LOADED, {}});
  add_token(cases.back().ops, 0, true, phi, phi, v);
  cases.back().ops.push_back(cfg_op(0, 10000));
  add_token(cases.back().ops, 0, true, phi, phi, v);  // works once loaded
  {
    Case c{"a feature above 1.0", pkg::DIJ_ERR_RANGE, {cfg_op(0, 10000)}};
    std::vector<uint32_t> bad = phi;
    bad[1] = 65537;
    add_token(c.ops, 0, true, bad, phi, v);
    cases.push_back(c);
  }
  {
    Case c{"an infinite value", pkg::DIJ_ERR_RANGE, {cfg_op(0, 10000)}};
    std::vector<uint16_t> bad = v;
    bad[size_t(D - 1)] = 0xFF80;
    add_token(c.ops, 0, false, phi, phi, bad);
    cases.push_back(c);
  }
  {
    Case c{"in_last early", pkg::DIJ_ERR_FRAME, {cfg_op(0, 10000)}};
    add_token(c.ops, 0, true, phi, phi, v);
    c.ops[c.ops.size() - 2].last = true;
    add_token(c.ops, 0, false, phi, phi, v);
    cases.push_back(c);
  }
  Stats total;
  for (const Case& c : cases) {
    std::vector<uint8_t> causes;
    total += run_state<TypeParam>(c.ops, rng, &causes);
    EXPECT_EQ(causes, std::vector<uint8_t>{uint8_t(c.cause)}) << c.name << " " << tb::seed_text();
  }
  report("state malformed, HeadSize " + std::to_string(D), total);
  EXPECT_EQ(total.mismatches, 0u) << tb::seed_text();
}

// stories260K: every head of layer 0 (8 heads a token, one state each), the hardware feature map's
// phi of the real q and k, the real v; position 0 clears.
TEST(DiJiangStateReal, StoriesSequenceAllHeads) {
  using Rtl8 = StateRtl<Vdijiang_state_D8_Heads8, 8, 8>;
  const RealVectors& rv = real_vectors();
  const ws::LlamaConfig& c = rv.config;
  const int d = c.head_size();
  tb::Rng rng(tb::seed());
  const std::vector<int32_t> p = ws::dijiang_projection_fixed(rv.side.layer_projection(0), d);
  const std::vector<uint32_t> table = ws::dijiang_exp_table();
  const std::vector<float> gammas = ws::dijiang_decays(c.n_heads);
  std::vector<StateOp> ops;
  for (int h = 0; h < c.n_heads; ++h) ops.push_back(cfg_op(uint32_t(h), ws::dijiang_delta_fixed(gammas[size_t(h)])));
  const int tokens = int(tb::depth(48, RealVectors::kPositions));
  for (int t = 0; t < tokens; ++t) {
    const RealToken& tok = rv.tokens[0][size_t(t)];
    for (int h = 0; h < c.n_heads; ++h) {
      const int kvh = h / (c.n_heads / c.n_kv_heads);
      const std::vector<float> q(tok.q.begin() + h * d, tok.q.begin() + (h + 1) * d);
      const std::vector<float> k(tok.k.begin() + kvh * d, tok.k.begin() + (kvh + 1) * d);
      const std::vector<float> v(tok.v.begin() + kvh * d, tok.v.begin() + (kvh + 1) * d);
      add_token(ops, uint32_t(h), t == 0, ws::dijiang_features(p, table, d, to_bf16(k)),
                ws::dijiang_features(p, table, d, to_bf16(q)), to_bf16(v));
    }
  }
  const Stats s = run_state<Rtl8>(ops, rng);
  report("state, stories260K layer 0, " + std::to_string(tokens) + " tokens x 8 heads", s);
  EXPECT_EQ(s.mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(s.transfers, uint64_t(tokens) * uint64_t(c.n_heads) * uint64_t(d));
}

}  // namespace
}  // namespace tbdij
