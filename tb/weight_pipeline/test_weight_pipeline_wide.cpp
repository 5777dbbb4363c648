// Bench of ws_weight_pipeline's wide configuration (docs/weight_pipeline.md, "Wide configuration: 16
// dense weights a cycle"): ValueLanes 8, MetaLanes 4 (the MAC array at GroupsPerCycle 4), MaxK 256,
// value tables 2^12, metadata 2^8 (synth/blocks.json's wide ECP5 set but for MaxK), Verilated a
// fourth time (ws_rtl_driver_wide). The same driver, cycle model and golden models as the default
// bench, at these parameters: every output of every cycle against ws::WeightPipelineModel, y bit for
// bit against ws::sparse_matvec (G = 4) and ws::dense_matvec (L = 8); real stories260K layers (rows
// padded to K16: 16 packed columns a beat), random extremes, random gaps and backpressure from
// TB_SEED, dense and 2:4 layers back to back, the top's errors (those in
// test_weight_pipeline_config.cpp, shared with the UP5K build), and the full-speed beat rate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "checks.hpp"
#include "driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "core/ws_pkg.hpp"
#include "hw/mac_array_model.hpp"

namespace tbwp {
namespace {

TEST(WeightPipelineWide, BuiltAtTheWideConfiguration) {
  // The other tests mean nothing if this build is another one.
  EXPECT_EQ(built().value_lanes, 8);
  EXPECT_EQ(built().meta_lanes, 4);
  EXPECT_EQ(built().cols_per_beat(), 16);
  EXPECT_EQ(row_pad(), 16);
  EXPECT_EQ(built().max_k, 256);
  EXPECT_EQ(built().value_table_log, 11);
  EXPECT_EQ(built().meta_table_log, 8);
}

TEST(WeightPipelineWide, FullSpeedBeatRate) {
  // No gaps, no backpressure, identity permutation: the weight beats per cycle on real layers. A beat
  // carries ValueLanes bf16 values, each with 8 raw bits (sign and mantissa), and the raw port takes
  // one word of ws::pkg::raw_word_bits(ValueLanes) bits a cycle (64 at 8 lanes), so the beat rate is
  // bounded by that over 8 x ValueLanes and by the blocks' one beat a cycle: 1 at 8 lanes. The MAC
  // array ends a row at most every MacArrayParams::kRowPace (8) cycles, so a row of fewer beats runs
  // at row_beats / 8 (w1[0]: 4 beats a row, 0.5). The test asserts at least 95% of the bound of each
  // layer and prints the rate.
  wp::Driver drv(tb::waves_path("WeightPipelineWide.FullSpeedBeatRate"), built());
  Totals tot;
  const double port = std::min(1.0, double(ws::pkg::raw_word_bits(built().value_lanes)) / (8.0 * built().value_lanes));
  EXPECT_EQ(port, 1.0);  // the wide raw port: a whole beat's raw bits a cycle
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
    const double row_beats = double(L.cols / built().cols_per_beat());
    const double bound = row_beats / std::max(row_beats / port, double(ws::MacArrayParams::kRowPace));
    std::printf("full speed, wide %s (%dx%d, K16 %d): %llu beats in %llu cycles: %.4f beats/cycle (bound %.4f: raw "
                "port %.4f, %.0f beats a row, a row per >= %d cycles) = %.3f kept = %.3f dense-equivalent weights/cycle\n",
                M.name.c_str(), M.rows, M.cols, L.cols, (unsigned long long)R.beats,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), bpc, bound, port, row_beats,
                ws::MacArrayParams::kRowPace, built().value_lanes * bpc, 2 * built().value_lanes * bpc);
    EXPECT_GE(bpc, 0.95 * bound) << M.name;
  }
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
