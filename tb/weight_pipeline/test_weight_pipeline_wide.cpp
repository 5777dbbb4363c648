// Bench of ws_weight_pipeline's wide configuration (docs/weight_pipeline.md, "Wide configuration: 16
// dense weights a cycle"): ValueLanes 8, MetaLanes 4 (the MAC array at GroupsPerCycle 4), MaxK 256,
// value tables 2^12, metadata 2^8 (synth/blocks.json's wide ECP5 set but for MaxK), Verilated a
// fourth time (ws_rtl_driver_wide). The same driver, cycle model and golden models as the default
// bench, at these parameters: every output of every cycle against ws::WeightPipelineModel, y bit for
// bit against ws::sparse_matvec (G = 4) and ws::dense_matvec (L = 8); real stories260K layers (rows
// padded to K16: 16 packed columns a beat), random extremes, random gaps and backpressure from
// TB_SEED, dense and 2:4 layers back to back, the top's errors, and the full-speed beat rate.
#include <gtest/gtest.h>

#include <algorithm>
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

TEST(WeightPipelineWide, BuiltAtTheWideConfiguration) {
  // The other tests mean nothing if this build is another one.
  EXPECT_EQ(built().value_lanes, 8);
  EXPECT_EQ(built().meta_lanes, 4);
  EXPECT_EQ(built().cols_per_beat(), 16);
  EXPECT_EQ(row_pad(), 16);
  EXPECT_EQ(built().max_k, 256);
  EXPECT_EQ(built().value_table_log, 12);
  EXPECT_EQ(built().meta_table_log, 8);
}

TEST(WeightPipelineWide, Stories260KLinears) {
  // All 35 linear matrices of stories260K (long: 4 rounds), pruned 2:4 by magnitude under a random
  // channel permutation, in value and metadata chunks of random row counts (metadata table logs
  // 5 .. 8), random gaps and backpressure per layer.
  std::mt19937_64 rng(tb::seed() ^ 0x31de);
  const std::vector<RealMatrix> all = real_matrices();
  const int rounds = int(tb::depth(1, 4));
  wp::Driver drv(tb::waves_path("WeightPipelineWide.Stories260KLinears"), built());
  Totals tot;
  for (int round = 0; round < rounds; ++round)
  for (const RealMatrix& M : all) {
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    const int crows = rng() % 2 ? 0 : int(1 + rng() % M.rows);
    auto s = make_streams(L, crows, int(5 + rng() % 4));
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, M.name);
  }
  tot.print("wide configuration, stories260K linears");
  tot.expect_clean();
}

TEST(WeightPipelineWide, RandomExtremesBackToBack) {
  // Random 2:4 layers of extreme bf16 values (K16 16 .. 256), two or three per run (each layer's
  // configuration and activations queue behind the stream before), random chunking, gaps and
  // backpressure.
  std::mt19937_64 rng(tb::seed() ^ 0x31e7);
  const int n = int(tb::depth(12, 200));
  wp::Driver drv(tb::waves_path("WeightPipelineWide.RandomExtremesBackToBack"), built());
  Totals tot;
  for (int i = 0; i < n; ++i) {
    const int count = int(2 + rng() % 2);
    std::vector<ws::Sparse24> Ls;
    std::vector<std::unique_ptr<Streams>> ss;
    std::vector<std::vector<uint16_t>> xs;
    std::vector<ws::PipelineLayer> layers;
    for (int j = 0; j < count; ++j) {
      const int rows = int(1 + rng() % 12), k = row_pad() * int(1 + rng() % (built().max_k / row_pad()));
      Ls.push_back(random_layer(rows, k, rng));
      std::vector<uint16_t> x(static_cast<size_t>(k));
      for (auto& v : x) v = rng() % 3 ? ws::fp32_to_bf16(std::normal_distribution<float>(0, 4)(rng)) : extreme(rng);
      xs.push_back(std::move(x));
    }
    for (int j = 0; j < count; ++j) {
      ss.push_back(make_streams(Ls[size_t(j)], int(1 + rng() % Ls[size_t(j)].rows), int(5 + rng() % 4)));
      layers.push_back(layer_of(Ls[size_t(j)], *ss.back(), xs[size_t(j)]));
    }
    std::vector<const ws::Sparse24*> ptrs;
    for (const auto& L : Ls) ptrs.push_back(&L);
    check_layers(drv.run(layers, random_traffic(rng)), ptrs, xs, tot, "random run " + std::to_string(i));
  }
  tot.print("wide configuration, random extremes back to back");
  tot.expect_clean();
}

TEST(WeightPipelineWide, DenseAndSparseMixed) {
  // Dense stories260K matrices (2K <= MaxK: K 64) and 2:4 ones alternating in one run; dense y against
  // ws::dense_matvec with the array's 8 multipliers (8 consecutive weights a beat, value chunks of
  // random multiples of 8 values).
  std::mt19937_64 rng(tb::seed() ^ 0x31d5);
  const std::vector<RealMatrix> all = real_matrices();
  std::vector<RealMatrix> dense;
  for (const RealMatrix& M : all)
    if (2 * M.cols <= built().max_k) dense.push_back(M);
  ASSERT_FALSE(dense.empty());
  const int runs = int(tb::depth(4, 20));
  wp::Driver drv(tb::waves_path("WeightPipelineWide.DenseAndSparseMixed"), built());
  Totals tot;
  for (int run = 0; run < runs; ++run) {
    const RealMatrix& D = dense[rng() % dense.size()];
    const RealMatrix& S = all[rng() % all.size()];
    const size_t per_chunk = rng() % 2 ? 0 : size_t(built().value_lanes) * (1 + rng() % 250);
    const auto d = make_dense(D.name + " dense", ws::fp32_to_bf16(D.w), D.rows, D.cols, per_chunk);
    const ws::Sparse24 L = pack_real(S.w, S.rows, S.cols, random_perm(S.cols, rng));
    const std::vector<uint16_t> xd = gaussian_x(D.cols, rng), xs = pad_x(gaussian_x(S.cols, rng), L.cols);
    auto s = make_streams(L, 0, 6);
    const wp::Result r = drv.run({d->layer(xd), layer_of(L, *s, xs), d->layer(xd)}, random_traffic(rng));
    check_run(r, "run " + std::to_string(run), tot);
    const std::vector<uint32_t> gd = ws::dense_matvec(d->w, d->rows, d->k, xd, ws::MacMode::Bf16, built().value_lanes);
    const std::vector<uint32_t> gs = ws::sparse_matvec(L, xs, ws::MacMode::Bf16, built().meta_lanes);
    for (size_t i = 0; i < 3; ++i)
      check_y(i < r.layers.size() ? r.layers[i].y : std::vector<uint32_t>{}, i == 1 ? gs : gd,
              (i == 1 ? S.name : d->name) + " (layer " + std::to_string(i) + ")", tot);
  }
  tot.print("wide configuration, dense and 2:4 mixed", "ws::dense_matvec and ws::sparse_matvec");
  tot.expect_clean();
}

TEST(WeightPipelineWide, MalformedStreamsRaiseStickyErrors) {
  // The top's and the blocks' errors at the wide lane counts; a good layer runs after each.
  std::mt19937_64 rng(tb::seed() ^ 0x31ba);
  wp::Driver drv(tb::waves_path("WeightPipelineWide.MalformedStreamsRaiseStickyErrors"), built());
  Totals tot;
  const ws::Sparse24 L = real_layer(1, rng);  // wk[0], 32 x 64
  const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
  auto run_case = [&](const ErrCase& c, ws::PipelineLayer layer) {
    drv.reset();
    expect_error(drv.run({layer}, random_traffic(rng)), c, tot);
    drv.reset();
    auto s = make_streams(L, 0, 6);
    check_layers(drv.run({layer_of(L, *s, x)}, random_traffic(rng)), {&L}, {x}, tot, c.name + " (good layer after)");
  };
  {
    ws::Sparse24 B = L;
    B.meta[rng() % B.meta.size()] = uint8_t(rng() % 2 ? 0x3 : 0x0);
    auto s = make_streams(B, 0, 6);
    run_case({"bad metadata nibble", ws::pkg::WP_BLK_MAC, ws::pkg::MAC_ERR_META}, layer_of(B, *s, x));
  }
  {
    auto s = make_streams(L, 0, 6);
    std::vector<uint8_t> nib = L.meta;
    nib[rng() % nib.size()] = 0x14;
    s->meta[0] = make_meta_chunk(nib.data(), nib.size(), 6);
    s->meta_v[0] = s->meta[0].view;
    run_case({"metadata symbol above 15", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_SYMBOL}, layer_of(L, *s, x));
  }
  {  // one value short: a last beat of 7 of 8 values
    auto s = make_streams(L, 0, 6);
    std::vector<uint8_t> bytes(L.values.size() * 2 - 2);
    std::memcpy(bytes.data(), L.values.data(), bytes.size());  // little-endian host
    ws::ChunkOptions opt;
    opt.lanes = built().value_lanes;
    s->value_bytes[0] = ws::encode_chunk(bytes.data(), bytes.size() / 2, ws::DType::BF16, opt);
    s->values_v[0] = ws::parse_chunk(s->value_bytes[0].data(), s->value_bytes[0].size());
    run_case({"partial value beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_VALUE_PARTIAL}, layer_of(L, *s, x));
  }
  {  // one nibble short: a last metadata beat of 3 of 4 nibbles
    auto s = make_streams(L, 0, 6);
    s->meta[0] = make_meta_chunk(L.meta.data(), L.meta.size() - 1, 6);
    s->meta_v[0] = s->meta[0].view;
    run_case({"partial metadata beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_PARTIAL}, layer_of(L, *s, x));
  }
  {  // value and metadata chunks of different row counts
    auto s = make_streams(L, 8, 6, 16);
    run_case({"chunks end on different beats", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
  }
  tot.print("wide configuration, malformed streams (then a good layer)");
  EXPECT_EQ(tot.cycle_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.value_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.assertion_errors, 0u) << tb::seed_text();
}

TEST(WeightPipelineWide, FullSpeedBeatRate) {
  // No gaps, no backpressure, identity permutation: the weight beats per cycle on real layers. A beat
  // carries ValueLanes bf16 values, each with 8 raw bits (sign and mantissa), and the raw port takes
  // one 32-bit word a cycle (ws_pkg::STREAM_WORD_BITS), so the beat rate is bounded by 32 / (8 x
  // ValueLanes): 0.5 at 8 lanes. The test asserts at least 95% of that bound and prints the rate.
  wp::Driver drv(tb::waves_path("WeightPipelineWide.FullSpeedBeatRate"), built());
  Totals tot;
  const double bound = std::min(1.0, double(ws::pkg::STREAM_WORD_BITS) / (8.0 * built().value_lanes));
  for (const RealMatrix& M : real_matrices()) {
    if (M.name != "w1[0]" && M.name != "w2[0]") continue;
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols));
    std::mt19937_64 rng(7);
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    auto s = make_streams(L);
    const wp::Result r = drv.run({layer_of(L, *s, x)}, wp::Traffic{});
    check_layers(r, {&L}, {x}, tot, M.name);
    const wp::LayerResult& R = r.layers[0];
    const double bpc = R.beats_per_cycle();
    std::printf("full speed, wide %s (%dx%d, K16 %d): %llu beats in %llu cycles: %.4f beats/cycle (raw-port bound "
                "%.4f) = %.3f kept = %.3f dense-equivalent weights/cycle\n",
                M.name.c_str(), M.rows, M.cols, L.cols, (unsigned long long)R.beats,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), bpc, bound, built().value_lanes * bpc,
                2 * built().value_lanes * bpc);
    EXPECT_GE(bpc, 0.95 * bound) << M.name;
  }
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
