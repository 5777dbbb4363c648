// Bench of ws_weight_pipeline's small configuration (docs/weight_pipeline.md, "Small configuration:
// iCE40 UP5K"): ValueLanes 2, MetaLanes 1 (the MAC array at GroupsPerCycle 1), MaxK 256, tables of
// 2^8 entries, the parameters of synth/blocks.json's ice40up5k set, Verilated a second time
// (ws_rtl_driver_up5k). The same driver, cycle model and golden models as the default bench, at these
// parameters: every output of every cycle against ws::WeightPipelineModel, y bit for bit against
// ws::sparse_matvec (G = 1) and ws::dense_matvec (L = 2); real stories260K layers, random extremes,
// random gaps and backpressure from TB_SEED, dense and 2:4 layers back to back, and the top's errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "checks.hpp"
#include "driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "core/bf16.hpp"
#include "core/ws_pkg.hpp"

namespace tbwp {
namespace {

const ws::WeightPipelineParams& built() {
  static const ws::WeightPipelineParams p = wp::Driver::built_params();
  return p;
}

TEST(WeightPipelineUp5k, BuiltAtTheSmallConfiguration) {
  // The other tests mean nothing if this build is the default one.
  EXPECT_EQ(built().value_lanes, 2);
  EXPECT_EQ(built().meta_lanes, 1);
  EXPECT_EQ(built().max_k, 256);
  EXPECT_EQ(built().value_table_log, 8);
  EXPECT_EQ(built().meta_table_log, 8);
}

TEST(WeightPipelineUp5k, Stories260KLinears) {
  // All 35 linear matrices of stories260K (long: 4 rounds), pruned 2:4 by magnitude under a random
  // channel permutation, in value and metadata chunks of random row counts (table logs 8 and 5 .. 8),
  // random gaps and backpressure per layer.
  std::mt19937_64 rng(tb::seed() ^ 0x5c5);
  const std::vector<RealMatrix> all = real_matrices();
  const int rounds = int(tb::depth(1, 4));
  wp::Driver drv(tb::waves_path("WeightPipelineUp5k.Stories260KLinears"), built());
  Totals tot;
  for (int round = 0; round < rounds; ++round)
  for (const RealMatrix& M : all) {
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    const int crows = rng() % 2 ? 0 : int(1 + rng() % M.rows);
    auto s = make_streams(L, crows, int(5 + rng() % 4), -1, built().value_table_log);
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, M.name);
  }
  tot.print("small configuration, stories260K linears");
  tot.expect_clean();
}

TEST(WeightPipelineUp5k, RandomExtremesBackToBack) {
  // Random 2:4 layers of extreme bf16 values, two or three per run (each layer's configuration and
  // activations queue behind the stream before), random chunking, gaps and backpressure.
  std::mt19937_64 rng(tb::seed() ^ 0x5e7);
  const int n = int(tb::depth(16, 200));
  wp::Driver drv(tb::waves_path("WeightPipelineUp5k.RandomExtremesBackToBack"), built());
  Totals tot;
  for (int i = 0; i < n; ++i) {
    const int count = int(2 + rng() % 2);
    std::vector<ws::Sparse24> Ls;
    std::vector<std::unique_ptr<Streams>> ss;
    std::vector<std::vector<uint16_t>> xs;
    std::vector<ws::PipelineLayer> layers;
    for (int j = 0; j < count; ++j) {
      const int rows = int(1 + rng() % 12), k8 = 8 * int(1 + rng() % 32);
      Ls.push_back(random_layer(rows, k8, rng));
      std::vector<uint16_t> x(static_cast<size_t>(k8));
      for (auto& v : x) v = rng() % 3 ? ws::fp32_to_bf16(std::normal_distribution<float>(0, 4)(rng)) : extreme(rng);
      xs.push_back(std::move(x));
    }
    for (int j = 0; j < count; ++j) {
      ss.push_back(make_streams(Ls[size_t(j)], int(1 + rng() % Ls[size_t(j)].rows), int(5 + rng() % 4), -1,
                                built().value_table_log));
      layers.push_back(layer_of(Ls[size_t(j)], *ss.back(), xs[size_t(j)]));
    }
    std::vector<const ws::Sparse24*> ptrs;
    for (const auto& L : Ls) ptrs.push_back(&L);
    check_layers(drv.run(layers, random_traffic(rng)), ptrs, xs, tot, "random run " + std::to_string(i));
  }
  tot.print("small configuration, random extremes back to back");
  tot.expect_clean();
}

TEST(WeightPipelineUp5k, DenseAndSparseMixed) {
  // Dense stories260K matrices (2K <= MaxK: K 64) and 2:4 ones alternating in one run; dense y against
  // ws::dense_matvec with the array's 2 multipliers.
  std::mt19937_64 rng(tb::seed() ^ 0x5d5);
  const std::vector<RealMatrix> all = real_matrices();
  std::vector<RealMatrix> dense;
  for (const RealMatrix& M : all)
    if (2 * M.cols <= built().max_k) dense.push_back(M);
  ASSERT_FALSE(dense.empty());
  const int runs = int(tb::depth(4, 20));
  wp::Driver drv(tb::waves_path("WeightPipelineUp5k.DenseAndSparseMixed"), built());
  Totals tot;
  for (int run = 0; run < runs; ++run) {
    const RealMatrix& D = dense[rng() % dense.size()];
    const RealMatrix& S = all[rng() % all.size()];
    const auto d = make_dense(D.name + " dense", ws::fp32_to_bf16(D.w), D.rows, D.cols,
                              rng() % 2 ? 0 : 4 * (1 + rng() % 500), built().value_table_log);
    const ws::Sparse24 L = pack_real(S.w, S.rows, S.cols, random_perm(S.cols, rng));
    const std::vector<uint16_t> xd = gaussian_x(D.cols, rng), xs = pad_x(gaussian_x(S.cols, rng), L.cols);
    auto s = make_streams(L, 0, 6, -1, built().value_table_log);
    const wp::Result r = drv.run({d->layer(xd), layer_of(L, *s, xs), d->layer(xd)}, random_traffic(rng));
    check_run(r, "run " + std::to_string(run), tot);
    const std::vector<uint32_t> gd = ws::dense_matvec(d->w, d->rows, d->k, xd, ws::MacMode::Bf16, built().value_lanes);
    const std::vector<uint32_t> gs = ws::sparse_matvec(L, xs, ws::MacMode::Bf16, built().meta_lanes);
    for (size_t i = 0; i < 3; ++i)
      check_y(i < r.layers.size() ? r.layers[i].y : std::vector<uint32_t>{}, i == 1 ? gs : gd,
              (i == 1 ? S.name : d->name) + " (layer " + std::to_string(i) + ")", tot);
  }
  tot.print("small configuration, dense and 2:4 mixed", "ws::dense_matvec and ws::sparse_matvec");
  tot.expect_clean();
}

TEST(WeightPipelineUp5k, MalformedStreamsRaiseStickyErrors) {
  // The top's and the blocks' errors at the small lane counts; a good layer runs after each.
  std::mt19937_64 rng(tb::seed() ^ 0x5ba);
  wp::Driver drv(tb::waves_path("WeightPipelineUp5k.MalformedStreamsRaiseStickyErrors"), built());
  Totals tot;
  const ws::Sparse24 L = real_layer(1, rng);  // wk[0], 32 x 64
  const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
  const int vlog = built().value_table_log;
  auto run_case = [&](const ErrCase& c, ws::PipelineLayer layer) {
    drv.reset();
    expect_error(drv.run({layer}, random_traffic(rng)), c, tot);
    drv.reset();
    auto s = make_streams(L, 0, 6, -1, vlog);
    check_layers(drv.run({layer_of(L, *s, x)}, random_traffic(rng)), {&L}, {x}, tot, c.name + " (good layer after)");
  };
  {
    ws::Sparse24 B = L;
    B.meta[rng() % B.meta.size()] = uint8_t(rng() % 2 ? 0x3 : 0x0);
    auto s = make_streams(B, 0, 6, -1, vlog);
    run_case({"bad metadata nibble", ws::pkg::WP_BLK_MAC, ws::pkg::MAC_ERR_META}, layer_of(B, *s, x));
  }
  {
    auto s = make_streams(L, 0, 6, -1, vlog);
    std::vector<uint8_t> nib = L.meta;
    nib[rng() % nib.size()] = 0x14;
    s->meta[0] = make_meta_chunk(nib.data(), nib.size(), 6);
    s->meta_v[0] = s->meta[0].view;
    run_case({"metadata symbol above 15", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_SYMBOL}, layer_of(L, *s, x));
  }
  {  // one value short: a beat of 1 of 2 values
    auto s = make_streams(L, 0, 6, -1, vlog);
    std::vector<uint8_t> bytes(L.values.size() * 2 - 2);
    std::memcpy(bytes.data(), L.values.data(), bytes.size());  // little-endian host
    ws::ChunkOptions opt;
    opt.lanes = built().value_lanes;
    opt.table_log = vlog;
    s->value_bytes[0] = ws::encode_chunk(bytes.data(), bytes.size() / 2, ws::DType::BF16, opt);
    s->values_v[0] = ws::parse_chunk(s->value_bytes[0].data(), s->value_bytes[0].size());
    run_case({"partial value beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_VALUE_PARTIAL}, layer_of(L, *s, x));
  }
  {  // value and metadata chunks of different row counts
    auto s = make_streams(L, 8, 6, 16, vlog);
    run_case({"chunks end on different beats", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
  }
  tot.print("small configuration, malformed streams (then a good layer)");
  EXPECT_EQ(tot.cycle_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.value_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.assertion_errors, 0u) << tb::seed_text();
}

}  // namespace
}  // namespace tbwp
