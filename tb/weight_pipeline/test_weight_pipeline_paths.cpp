// Bench of ws_weight_pipeline_paths (docs/weight_pipeline.md, "Paths: 32 dense weights a cycle"): 2
// wide pipelines (ValueLanes 8, MetaLanes 4) on one forked activation stream, MaxK 4096, value tables
// 2^10 (the synthesized ECP5 set's: real layers are encoded at table log 10, the codec's default 11
// would be refused), Verilated as ws_rtl_driver_paths. wp::PathsDriver splits each layer by rows
// across the paths (ws::split_layer_rows) and compares every output of every path every cycle with
// ws::WeightPipelinePathsModel; y, the paths' y concatenated, bit for bit against ws::sparse_matvec
// (G = 4) and ws::dense_matvec (L = 8). Real stories260K layers, 2:4 and dense, back to back with
// random gaps and backpressure from TB_SEED; the full-speed dense-equivalent weights a cycle; one
// path's error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>

#include "checks.hpp"
#include "paths_bench.hpp"
#include "paths_driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "core/ws_pkg.hpp"
#include "hw/mac_array_model.hpp"

namespace tbwp {
namespace {

constexpr int kValueLog = 10;  // the built top's ValueTableLog: every value chunk is coded at it

TEST(WeightPipelinePaths, BuiltAtTwoWidePathsWithValueTables1024) {
  // The other tests mean nothing if this build is another one.
  const ws::WeightPipelinePathsParams p = wp::PathsDriver::built_params();
  EXPECT_EQ(p.paths, 2);
  EXPECT_EQ(p.path.value_lanes, 8);
  EXPECT_EQ(p.path.meta_lanes, 4);
  EXPECT_EQ(p.path.cols_per_beat(), 16);
  EXPECT_EQ(p.path.max_k, 4096);  // the synthesized ECP5 set's: real layer widths
  EXPECT_EQ(p.path.value_table_log, kValueLog);
  EXPECT_EQ(p.path.meta_table_log, 8);
  EXPECT_EQ(built().value_lanes, 8);  // the stimulus follows each path's parameters
  EXPECT_EQ(row_pad(), 16);
}

// One real layer of a run, 2:4 or dense, owning its streams, with its golden y.
struct RunLayer {
  std::string name;
  ws::Sparse24 L;                      // 2:4
  std::unique_ptr<Streams> s;
  std::unique_ptr<DenseLayer> d;       // dense
  std::vector<uint16_t> x;
  ws::PipelineLayer layer() const { return d ? d->layer(x) : layer_of(L, *s, x); }
  std::vector<uint32_t> golden() const {
    return d ? ws::dense_matvec(d->w, d->rows, d->k, x, ws::MacMode::Bf16, built().value_lanes)
             : ws::sparse_matvec(L, x, ws::MacMode::Bf16, built().meta_lanes);
  }
};

// stories260K's matrix M as a layer of chunks of 1 .. rows / 2 rows (at least two, one a path): 2:4
// under a random permutation, or dense (bf16, K a multiple of 8: whole beats of 16 packed columns).
RunLayer real_run_layer(const RealMatrix& M, bool dense, std::mt19937_64& rng) {
  RunLayer r;
  const int crows = int(1 + rng() % size_t(M.rows / 2));
  if (dense && M.cols % 8 == 0) {
    r.name = M.name + " dense";
    r.d = make_dense(r.name, ws::fp32_to_bf16(M.w), M.rows, M.cols, size_t(crows) * size_t(M.cols), kValueLog);
    r.x = gaussian_x(M.cols, rng);
  } else {
    r.name = M.name + " 2:4";
    r.L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
    r.x = pad_x(gaussian_x(M.cols, rng), r.L.cols);
    r.s = make_streams(r.L, crows, int(5 + rng() % 4), -1, kValueLog);
  }
  return r;
}

// Rows [r0, r1) of M as one path's share of a layer: 2:4 under perm in chunk pairs of crows rows, or
// dense in chunks of crows rows, on the layer's x (K values, padded for 2:4). Every path's share of
// a layer has the same x: the fork's.
RunLayer share_of(const RealMatrix& M, int r0, int r1, bool dense, const std::vector<int32_t>& perm,
                  const std::vector<uint16_t>& x, int crows) {
  RunLayer r;
  const std::vector<float> w(M.w.begin() + long(size_t(r0) * size_t(M.cols)), M.w.begin() + long(size_t(r1) * size_t(M.cols)));
  r.name = M.name + (r1 - r0 == M.rows ? "" : " rows " + std::to_string(r0) + ".." + std::to_string(r1 - 1)) +
           (dense ? " dense" : " 2:4");
  if (dense) {
    r.d = make_dense(r.name, ws::fp32_to_bf16(w), r1 - r0, M.cols, size_t(crows) * size_t(M.cols), kValueLog);
    r.x = x;
  } else {
    r.L = pack_real(w, r1 - r0, M.cols, perm);
    r.x = pad_x(x, r.L.cols);
    r.s = make_streams(r.L, crows, 6, -1, kValueLog);
  }
  return r;
}

// stories260K's matrices of one kind (e.g. "w1") of every block stacked as one layer of all their rows:
// layers as tall as a real model's, so a chunk of a third of the rows streams longer than the next
// chunk's tables take to load (about 1070 cycles at value tables 2^10, hidden behind the stream).
RealMatrix stacked(const std::string& kind) {
  RealMatrix S{kind + "[*]", 0, 0, {}};
  for (const RealMatrix& M : real_matrices()) {
    if (M.name.rfind(kind + "[", 0) != 0) continue;
    S.cols = M.cols;
    S.rows += M.rows;
    S.w.insert(S.w.end(), M.w.begin(), M.w.end());
  }
  return S;
}

// The compressed bytes of a run layer's chunks (paths_bench.hpp's overload beside it).
using tbwp::stream_bytes;
size_t stream_bytes(const RunLayer& r) { return r.d ? stream_bytes(r.d->bytes, {}) : stream_bytes(r.s->value_bytes, r.s->meta); }

// The dense-equivalent weights a cycle a split allows at full speed: each path ends a row at most
// every max(row_beats, MacArrayParams::kRowPace) cycles (one beat a cycle: the wide raw port takes a
// whole beat's raw bits a cycle), so the path of the most rows sets the layer's streaming time.
double split_bound(const wp::PathsResult& r, double row_beats) {
  size_t most = 0;
  for (const auto& part : r.path_layers) most = std::max(most, part.at(0).y.size());
  return double(r.layers.at(0).dense) / (double(most) * std::max(row_beats, double(ws::MacArrayParams::kRowPace)));
}

// One layer at full speed through drv.run (split_layer_rows): y bit for bit, its line, its WS_BENCH
// line, and >= 95% of split_bound asserted.
void full_speed_layer_on_paths(wp::PathsDriver& drv, const RunLayer& lay, const RealMatrix& M, double row_beats,
                               Totals& tot) {
  const wp::PathsResult r = drv.run({lay.layer()}, wp::Traffic{});
  check_run(r, lay.name, tot);
  ASSERT_EQ(r.layers.size(), 1u) << lay.name;
  check_y(r.layers[0].y, lay.golden(), lay.name, tot);
  const wp::LayerResult& R = r.layers[0];
  const double bound = split_bound(r, row_beats), wpc = r.weights_per_cycle(0);
  const size_t chunks = lay.d ? lay.d->views.size() : lay.s->values_v.size();
  std::printf("full speed, 2 paths %s (%dx%d, %zu chunk%s; rows %zu + %zu): %llu dense-equivalent weights in %llu "
              "cycles (first to last weight beat): %.3f a cycle (bound of the split %.3f: %.0f beats a row, the "
              "bigger part's rows at >= %d cycles a row); load (first chunk's tables, format, perm, fill) %llu "
              "cycles\n",
              lay.name.c_str(), M.rows, M.cols, chunks, lay.d ? "s" : " pairs", r.path_layers[0][0].y.size(),
              r.path_layers[1][0].y.size(), (unsigned long long)R.dense,
              (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), wpc, bound, row_beats,
              ws::MacArrayParams::kRowPace, (unsigned long long)R.load_cycles());
  print_paths_bench(lay.name, M.rows, M.cols, r, 0, stream_bytes(lay));
  EXPECT_GE(wpc, 0.95 * bound) << lay.name;
}

TEST(WeightPipelinePaths, Stories260KLayersSplitAcrossPathsBackToBack) {
  // All 35 linear matrices of stories260K, in runs of 1 .. 5 layers back to back, each 2:4 or dense at
  // random (dense where K allows), split over the two paths, random gaps and backpressure per run.
  std::mt19937_64 rng(tb::seed() ^ 0x9a75);
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.Stories260KLayersSplitAcrossPathsBackToBack"));
  Totals tot;
  const std::vector<RealMatrix> all = real_matrices();
  int dense_layers = 0, sparse_layers = 0, runs = 0;
  uint64_t lone[2] = {0, 0};  // the fork's coverage, printed (ForkHoldsXForAPathNotReadyYet asserts it)
  for (size_t at = 0; at < all.size();) {
    const size_t n = std::min(all.size() - at, size_t(1 + rng() % 5));
    std::vector<RunLayer> run;
    std::vector<ws::PipelineLayer> layers;
    for (size_t i = 0; i < n; ++i) run.push_back(real_run_layer(all[at + i], rng() % 2 == 0, rng));
    for (const RunLayer& r : run) layers.push_back(r.layer());
    const wp::Traffic t = random_traffic(rng);
    const wp::PathsResult res = drv.run(layers, t);
    std::string what = "run " + std::to_string(runs) + " (";
    for (const RunLayer& r : run) what += r.name + (&r == &run.back() ? ")" : ", ");
    check_run(res, what, tot);
    EXPECT_FALSE(res.reset_after) << what;
    ASSERT_EQ(res.layers.size(), n) << what;
    for (size_t q = 0; q < 2; ++q) lone[q] += res.lone_act_takes.at(q);
    for (size_t i = 0; i < n; ++i) {
      check_y(res.layers[i].y, run[i].golden(), what + " " + run[i].name, tot);
      (run[i].d ? dense_layers : sparse_layers) += 1;
    }
    at += n;
    ++runs;
  }
  std::printf("%s %d runs, %d 2:4 and %d dense layers, each split over 2 paths; path 0 took x alone in %llu cycles, "
              "path 1 in %llu\n",
              tb::seed_text().c_str(), runs, sparse_layers, dense_layers, (unsigned long long)lone[0],
              (unsigned long long)lone[1]);
  tot.print("paths, stories260K linears back to back", "ws::sparse_matvec and ws::dense_matvec");
  tot.expect_clean();
  EXPECT_GT(dense_layers, 0);
  EXPECT_GT(sparse_layers, 0);
}

TEST(WeightPipelinePaths, FullSpeedDenseWeightsPerCycle) {
  // No gaps, no backpressure, identity permutation, a layer as two chunk pairs of half its rows (one
  // a path). Each path is the wide top, whose bound (test_weight_pipeline_wide.cpp) is 1 beat a cycle
  // of 2 x 8 dense-equivalent weights on rows of >= 8 beats (MacArrayParams::kRowPace), row_beats / 8
  // below; two paths twice that: 32 a cycle on w2[0] (11 beats a row), 16 on w1[0] (4 beats a row).
  // Weights a cycle: the layer's dense-equivalent weights over the cycles from the first weight beat
  // of any path to the last of any. Asserted >= 95% of the bound, printed.
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.FullSpeedDenseWeightsPerCycle"));
  const ws::WeightPipelinePathsParams p = drv.params();
  Totals tot;
  int layers = 0;
  for (const RealMatrix& M : real_matrices()) {
    if (M.name != "w1[0]" && M.name != "w2[0]") continue;
    ++layers;
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols));
    std::mt19937_64 rng(7);
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    const auto s = make_streams(L, (M.rows + 1) / 2, 6, -1, kValueLog);
    const wp::PathsResult r = drv.run({layer_of(L, *s, x)}, wp::Traffic{});
    check_layers(r, {&L}, {x}, tot, M.name);
    ASSERT_EQ(r.layers.size(), 1u);
    const wp::LayerResult& R = r.layers[0];
    const double row_beats = double(L.cols / p.path.cols_per_beat());
    const double path_bound = 2.0 * p.path.value_lanes * std::min(1.0, row_beats / ws::MacArrayParams::kRowPace);
    const double bound = p.paths * path_bound, wpc = r.weights_per_cycle(0);
    std::printf("full speed, 2 paths %s (%dx%d, K16 %d; rows %d + %d): %llu dense-equivalent weights in %llu cycles "
                "(first to last weight beat): %.3f a cycle (bound %.1f: 2 paths x %.1f, %.0f beats a row); path 0 "
                "beats %llu..%llu, path 1 %llu..%llu\n",
                M.name.c_str(), M.rows, M.cols, L.cols, int(r.path_layers[0][0].y.size()),
                int(r.path_layers[1][0].y.size()), (unsigned long long)R.dense,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), wpc, bound, path_bound, row_beats,
                (unsigned long long)r.path_layers[0][0].first_w_cycle, (unsigned long long)r.path_layers[0][0].last_w_cycle,
                (unsigned long long)r.path_layers[1][0].first_w_cycle, (unsigned long long)r.path_layers[1][0].last_w_cycle);
    print_paths_bench(M.name + " 2:4", M.rows, M.cols, r, 0, stream_bytes(s->value_bytes, s->meta));
    EXPECT_GE(wpc, 0.95 * bound) << M.name;
  }
  EXPECT_EQ(layers, 2);
  tot.print("paths, full speed");
  tot.expect_clean();
}

TEST(WeightPipelinePaths, FullSpeedUnevenSplits) {
  // Real containers hold whole-row chunks, so a layer of an odd number of chunk pairs splits unevenly
  // over 2 paths (split_layer_rows: the chunk boundary nearest half the rows). 2:4, identity
  // permutation, no gaps: the 5 blocks' w1 stacked (860 x 64, 4 beats a row) and w2 stacked
  // (320 x 172, 11 beats a row), each in 3 chunk pairs. The path of the bigger part sets the time:
  // the bound is the layer's dense-equivalent weights over that part's rows at max(row beats, 8)
  // cycles a row; >= 95% of it asserted, printed, and a WS_BENCH line per layer. (stories260K's own
  // layers in 3 pairs are too small: a chunk of 22 to 58 rows streams in 240 to 470 cycles, less
  // than the next chunk's table load, so they measure the loads, not the split.)
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.FullSpeedUnevenSplits"));
  const ws::WeightPipelinePathsParams p = drv.params();
  Totals tot;
  for (const std::string kind : {"w1", "w2"}) {
    const RealMatrix M = stacked(kind);
    std::mt19937_64 rng(7);
    const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
    const RunLayer lay = share_of(M, 0, M.rows, false, ws::identity_perm(M.cols), x, (M.rows + 2) / 3);
    ASSERT_EQ(lay.s->values_v.size(), 3u) << lay.name;
    full_speed_layer_on_paths(drv, lay, M, double(lay.L.cols / p.path.cols_per_beat()), tot);
  }
  tot.print("paths, full speed, uneven splits");
  tot.expect_clean();
}

TEST(WeightPipelinePaths, FullSpeedDenseLayers) {
  // Dense layers (section 2.1) on 2 paths at full speed, no gaps: a row of K weights is
  // 2K / cols_per_beat() beats (K 64: 8, one beat a cycle = 8 dense weights a cycle a path). wq[0]
  // (64 rows) and w1[0] (172) in 2 chunks (an even split), the 5 blocks' w3 stacked (860 rows) in 3
  // (uneven: 287 + 573 rows). y bit for bit against ws::dense_matvec; >= 95% of the split's bound,
  // printed, WS_BENCH lines.
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.FullSpeedDenseLayers"));
  const ws::WeightPipelinePathsParams p = drv.params();
  Totals tot;
  std::vector<RealMatrix> ms;
  for (const RealMatrix& M : real_matrices())
    if (M.name == "wq[0]" || M.name == "w1[0]") ms.push_back(M);
  ms.push_back(stacked("w3"));
  ASSERT_EQ(ms.size(), 3u);
  for (const RealMatrix& M : ms) {
    const int chunks = M.name == "w3[*]" ? 3 : 2;
    std::mt19937_64 rng(7);
    const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
    const RunLayer lay = share_of(M, 0, M.rows, true, {}, x, (M.rows + chunks - 1) / chunks);
    ASSERT_EQ(lay.d->views.size(), size_t(chunks)) << lay.name;
    full_speed_layer_on_paths(drv, lay, M, double(2 * M.cols / p.path.cols_per_beat()), tot);
  }
  tot.print("paths, dense full speed", "ws::dense_matvec");
  tot.expect_clean();
}

TEST(WeightPipelinePaths, ForkHoldsXForAPathNotReadyYet) {
  // The fork's sent flags at work: the paths' readiness for x differs. Each layer is split by hand
  // (run_split) into a share of 1/8 of its rows and one of the rest, the small share on path 0 and
  // path 1 in turn, layers back to back: the path with the small share retires its layer early and
  // opens the next one (its MAC bank free) long before the other path, so it takes the next vector's
  // first x alone and the fork holds x for the other path (sets its sent flag) until that path opens
  // its layer. The first 7 stories260K linears, 2:4 under a random permutation or dense (K 64) at
  // random, once at full speed and once with random gaps and backpressure from TB_SEED. Each path's
  // y bit for bit against its rows' golden; the cycles in which each path took x alone are printed
  // and asserted > 0 (a fork that forgot a sent flag, or moved on with one path's ready, fails here).
  std::mt19937_64 rng(tb::seed() ^ 0xf04c);
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.ForkHoldsXForAPathNotReadyYet"));
  Totals tot;
  const std::vector<RealMatrix> all = real_matrices();
  std::vector<uint64_t> lone(2, 0);
  uint64_t transfers = 0;
  int layers = 0;
  for (int pass = 0; pass < 2; ++pass) {
    const wp::Traffic t = pass == 0 ? wp::Traffic{} : random_traffic(rng);
    std::vector<RunLayer> shares[2];
    std::vector<ws::PipelineLayer> per_path[2];
    for (size_t i = 0; i < 7; ++i) {
      const RealMatrix& M = all[i];
      const bool dense = M.cols % 8 == 0 && rng() % 2 == 0;
      const std::vector<int32_t> perm = random_perm(M.cols, rng);
      const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
      const int small = std::max(1, M.rows / 8), cut = i % 2 == 0 ? small : M.rows - small;
      const int crows = std::max(1, (M.rows - small) / 3);  // the big share in chunks of a third of it
      shares[0].push_back(share_of(M, 0, cut, dense, perm, x, i % 2 == 0 ? small : crows));
      shares[1].push_back(share_of(M, cut, M.rows, dense, perm, x, i % 2 == 0 ? crows : small));
      for (int q = 0; q < 2; ++q) per_path[q].push_back(shares[q].back().layer());
    }
    const std::string what = pass == 0 ? "full speed" : "random traffic";
    const wp::PathsResult res = drv.run_split({per_path[0], per_path[1]}, t);
    check_run(res, what, tot);
    EXPECT_FALSE(res.reset_after) << what;
    ASSERT_EQ(res.path_layers.size(), 2u) << what;
    for (int q = 0; q < 2; ++q) {
      ASSERT_EQ(res.path_layers[size_t(q)].size(), 7u) << what;
      for (size_t i = 0; i < 7; ++i) {
        const RunLayer& r = shares[q][i];
        check_y(res.path_layers[size_t(q)][i].y, r.golden(), what + " path " + std::to_string(q) + " " + r.name, tot);
      }
    }
    layers += 7;
    std::printf("%s fork, %s: 7 layers back to back, %llu x transfers, path 0 took x alone in %llu cycles, path 1 in "
                "%llu; %llu cycles\n",
                tb::seed_text().c_str(), what.c_str(), (unsigned long long)res.act_transfers,
                (unsigned long long)res.lone_act_takes[0], (unsigned long long)res.lone_act_takes[1],
                (unsigned long long)res.cycles);
    for (int q = 0; q < 2; ++q) lone[size_t(q)] += res.lone_act_takes[size_t(q)];
    transfers += res.act_transfers;
  }
  EXPECT_EQ(layers, 14);
  EXPECT_GT(lone[0], 0u);
  EXPECT_GT(lone[1], 0u);
  EXPECT_GT(transfers, 0u);
  tot.print("paths, the fork with the paths' readiness apart", "each path's rows' golden");
  tot.expect_clean();
}

TEST(WeightPipelinePaths, OnePathsErrorLeavesTheOtherPathRunning) {
  // A bad configuration write on path 1 alone (an unknown top register): path 1's sticky error and
  // cause, path 0 without error; then err_clear (shared) clears it and a layer runs on both paths.
  // Inside a run: the same write ahead of path 1's share of a layer: path 1 raises the error, path 0
  // streams its share to the end (its y bit for bit), the run ends (no hang) and resets the top.
  std::mt19937_64 rng(tb::seed() ^ 0xe11);
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.OnePathsErrorLeavesTheOtherPathRunning"));
  Totals tot;
  const RealMatrix M = real_matrices().at(2);  // wv[0], 32 x 64
  const ErrCase bad{"unknown top register on path 1", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CONFIG};
  const ws::CfgWrite write{ws::pkg::wp_cfg_addr(ws::pkg::WP_CFG_TOP, 2), 1};
  auto good_run = [&](const std::string& what) {
    const RunLayer r = real_run_layer(M, rng() % 2 == 0, rng);
    const wp::PathsResult res = drv.run({r.layer()}, random_traffic(rng));
    check_run(res, what, tot);
    ASSERT_EQ(res.layers.size(), 1u);
    check_y(res.layers[0].y, r.golden(), what, tot);
  };
  good_run("first layer");

  const wp::PathsResult e = drv.configure(1, {write});
  expect_error(e, bad, tot);
  ASSERT_EQ(e.path_err.size(), 2u);
  EXPECT_FALSE(e.path_err[0]) << ws::weight_pipeline_error_text(e.path_err_cause[0]);
  EXPECT_TRUE(e.path_err[1]);
  EXPECT_EQ(e.path_err_cause[1], e.err_cause);
  const wp::PathsResult cl = drv.clear_error();
  tot.add(cl);
  EXPECT_FALSE(cl.err) << ws::weight_pipeline_error_text(cl.err_cause);
  good_run("layer after err_clear");

  // Inside a run.
  const RunLayer r = real_run_layer(M, false, rng);
  std::vector<ws::PipelineLayer> parts = ws::split_layer_rows(r.layer(), 2);
  parts[1].cfg_before.push_back(write);
  const wp::PathsResult in_run = drv.run_split({{parts[0]}, {parts[1]}}, random_traffic(rng));
  expect_error(in_run, {"unknown top register ahead of path 1's rows", bad.expect_block, bad.expect_cause}, tot);
  ASSERT_EQ(in_run.path_err.size(), 2u);
  EXPECT_FALSE(in_run.path_err[0]) << ws::weight_pipeline_error_text(in_run.path_err_cause[0]);
  EXPECT_TRUE(in_run.path_err[1]);
  EXPECT_TRUE(in_run.reset_after);
  const std::vector<uint32_t> gold = r.golden();
  ASSERT_EQ(in_run.path_layers.size(), 2u);
  check_y(in_run.path_layers[0][0].y, std::vector<uint32_t>(gold.begin(), gold.begin() + parts[0].rows),
          "path 0's rows beside path 1's error", tot);
  std::printf("  path 0: %zu of %d rows out, path 1: %zu rows out, %s; run of %llu cycles%s\n",
              in_run.path_layers[0][0].y.size(), parts[0].rows, in_run.path_layers[1][0].y.size(),
              ws::weight_pipeline_error_text(in_run.path_err_cause[1]).c_str(), (unsigned long long)in_run.cycles,
              in_run.inputs_drained ? ", inputs drained" : "");
  good_run("layer after the reset");

  // A layer of one chunk pair cannot feed two paths: refused before any cycle.
  const ws::Sparse24 one = pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols));
  const auto s1 = make_streams(one, 0, 6, -1, kValueLog);
  EXPECT_THROW(drv.run({layer_of(one, *s1, pad_x(gaussian_x(M.cols, rng), one.cols))}), std::invalid_argument);
  tot.print("paths, one path's error");
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
