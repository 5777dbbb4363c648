// Bench of ws_weight_pipeline's wide configuration (docs/weight_pipeline.md, "Wide configuration: 16
// dense weights a cycle"): ValueLanes 8, MetaLanes 4 (the MAC array at GroupsPerCycle 4), MaxK 256,
// value tables 2^11, metadata 2^8 (synth/blocks.json's wide ECP5 set but for MaxK), Verilated a
// fourth time (ws_rtl_driver_wide). The same driver, cycle model and golden models as the default
// bench, at these parameters: every output of every cycle against ws::WeightPipelineModel, y bit for
// bit against ws::sparse_matvec (G = 4) and ws::dense_matvec (L = 8); real stories260K layers (rows
// padded to K16: 16 packed columns a beat), random extremes, random gaps and backpressure from
// TB_SEED, dense and 2:4 layers back to back, the top's errors (those in
// test_weight_pipeline_config.cpp, shared with the UP5K build), and the full-speed beat rates of 2:4
// and dense layers.
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

// The beat rate a layer can reach at full speed: the raw port's word of ws::pkg::raw_word_bits(ValueLanes)
// bits a cycle over a beat's 8 x ValueLanes raw bits (1 at 8 lanes), and the MAC array's end of a row at
// most every MacArrayParams::kRowPace cycles (row_beats / 8 for rows of fewer beats).
double raw_port_rate() {
  return std::min(1.0, double(ws::pkg::raw_word_bits(built().value_lanes)) / (8.0 * built().value_lanes));
}
double beat_bound(double row_beats) {
  return row_beats / std::max(row_beats / raw_port_rate(), double(ws::MacArrayParams::kRowPace));
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
  const double port = raw_port_rate();
  EXPECT_EQ(port, 1.0);  // the wide raw port: a whole beat's raw bits a cycle
  for (const RealMatrix& M : real_matrices()) {
    if (M.name != "w1[0]" && M.name != "w2[0]") continue;
    const FullSpeedLayer F = full_speed_layer(M);
    const wp::Result r = drv.run({F.layer()}, wp::Traffic{});
    check_layers(r, {&F.L}, {F.x}, tot, M.name);
    const wp::LayerResult& R = r.layers[0];
    const double bpc = R.beats_per_cycle();
    const double row_beats = double(F.L.cols / built().cols_per_beat());
    const double bound = beat_bound(row_beats);
    std::printf("full speed, wide %s (%dx%d, K16 %d): %llu beats in %llu cycles: %.4f beats/cycle (bound %.4f: raw "
                "port %.4f, %.0f beats a row, a row per >= %d cycles) = %.3f kept = %.3f dense-equivalent weights/cycle\n",
                M.name.c_str(), M.rows, M.cols, F.L.cols, (unsigned long long)R.beats,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), bpc, bound, port, row_beats,
                ws::MacArrayParams::kRowPace, built().value_lanes * bpc, 2 * built().value_lanes * bpc);
    EXPECT_GE(bpc, 0.95 * bound) << M.name;
  }
  tot.expect_clean();
}

TEST(WeightPipelineWide, FullSpeedDenseBeatRate) {
  // Dense layers (docs/weight_pipeline.md section 2.1) at full speed, no gaps: a beat is ValueLanes
  // values = ValueLanes dense weights over 2 x ValueLanes packed columns, so a row of K weights is
  // 2K / cols_per_beat() beats. wq[0] and w1[0] (K 64: 8 beats a row) reach the raw port's 1 beat a
  // cycle = 8 dense weights a cycle at 8 lanes. y bit for bit against ws::dense_matvec.
  wp::Driver drv(tb::waves_path("WeightPipelineWide.FullSpeedDenseBeatRate"), built());
  Totals tot;
  int layers = 0;
  for (const RealMatrix& M : real_matrices()) {
    if (M.name != "wq[0]" && M.name != "w1[0]") continue;
    ++layers;
    std::mt19937_64 rng(7);
    const auto d = make_dense(M.name + " dense", ws::fp32_to_bf16(M.w), M.rows, M.cols, 0);
    const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
    const wp::Result r = drv.run({d->layer(x)}, wp::Traffic{});
    check_run(r, d->name, tot);
    ASSERT_EQ(r.layers.size(), 1u) << d->name;
    check_y(r.layers[0].y, ws::dense_matvec(d->w, d->rows, d->k, x, ws::MacMode::Bf16, built().value_lanes), d->name, tot);
    const wp::LayerResult& R = r.layers[0];
    const double bpc = R.beats_per_cycle(), row_beats = double(2 * M.cols / built().cols_per_beat());
    const double bound = beat_bound(row_beats);
    std::printf("full speed, wide %s (%dx%d): %llu beats in %llu cycles: %.4f beats/cycle (bound %.4f, %.0f beats a "
                "row) = %.3f dense weights/cycle\n",
                d->name.c_str(), M.rows, M.cols, (unsigned long long)R.beats,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), bpc, bound, row_beats,
                built().value_lanes * bpc);
    EXPECT_GE(bpc, 0.95 * bound) << d->name;
  }
  EXPECT_EQ(layers, 2);
  tot.print("wide configuration, dense full speed", "ws::dense_matvec");
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
