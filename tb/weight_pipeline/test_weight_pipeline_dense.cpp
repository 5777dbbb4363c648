// Bench of ws_weight_pipeline on dense layers (docs/weight_pipeline.md section 2.1): bf16 layers
// streamed as their value chunks alone (no metadata; the nibbles {0,1} and {2,3} implied), through
// the Verilated top and ws::WeightPipelineModel in lock step, y checked bit for bit against
// ws::dense_matvec(w, M, K, x, BF16, L = 4) and the functional model (ws::weight_pipeline_y).
// Random gaps and backpressure from TB_SEED; mixed with 2:4 layers in one run; dense errors.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "checks.hpp"
#include "driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "core/ws_pkg.hpp"
#include "hw/weight_pipeline_functional.hpp"

namespace tbwp {
namespace {

// stories260K's matrices whose dense packed columns (2K) fit the bench's MaxK 256: all but w2 (K 172).
std::vector<RealMatrix> dense_real_matrices() {
  std::vector<RealMatrix> out;
  for (RealMatrix& M : real_matrices())
    if (2 * M.cols <= wp::Driver::built_params().max_k) out.push_back(std::move(M));
  return out;
}

// y of one good dense layer against ws::dense_matvec, and the functional model against it too.
void check_dense(const wp::LayerResult& R, const DenseLayer& d, const std::vector<uint16_t>& x, Totals& tot) {
  const std::vector<uint32_t> gold = ws::dense_matvec(d.w, d.rows, d.k, x, ws::MacMode::Bf16, wp::Driver::built_params().value_lanes);
  check_y(R.y, gold, d.name, tot);
  Totals functional;
  check_y(ws::weight_pipeline_y(d.layer(x)), gold, d.name + " (functional model)", functional);
  tot.value_mismatches += functional.value_mismatches;
}

TEST(WeightPipelineDense, Stories260KDenseLinears) {
  // The 30 stories260K matrices with K <= 128, rounded to bf16 (RNE), unpruned, in value chunks of
  // random sizes (multiples of 4 values, not whole rows), random gaps and backpressure per layer.
  std::mt19937_64 rng(tb::seed() ^ 0xde5e);
  const int rounds = int(tb::depth(1, 4));
  wp::Driver drv(tb::waves_path("WeightPipelineDense.Stories260KDenseLinears"));
  Totals tot;
  for (int round = 0; round < rounds; ++round)
    for (const RealMatrix& M : dense_real_matrices()) {
      const size_t per_chunk = rng() % 3 == 0 ? 0 : 4 * (1 + rng() % 1500);
      const auto d = make_dense(M.name, ws::fp32_to_bf16(M.w), M.rows, M.cols, per_chunk);
      const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
      const wp::Result r = drv.run({d->layer(x)}, random_traffic(rng));
      check_run(r, M.name, tot);
      if (!r.layers.empty()) check_dense(r.layers[0], *d, x, tot);
    }
  tot.print("stories260K dense linears", "ws::dense_matvec and the functional model");
  tot.expect_clean();
}

TEST(WeightPipelineDense, ExtremeValues) {
  std::mt19937_64 rng(tb::seed() ^ 0xde7);
  const int n = int(tb::depth(16, 300));
  wp::Driver drv(tb::waves_path("WeightPipelineDense.ExtremeValues"));
  Totals tot;
  for (int i = 0; i < n; ++i) {
    const int rows = int(1 + rng() % 12), k = 4 * int(1 + rng() % 32);
    std::vector<uint16_t> w(size_t(rows) * size_t(k));
    for (size_t j = 0; j < w.size(); ++j) w[j] = j > 0 && rng() % 4 == 0 ? uint16_t(w[j - 1] ^ 0x8000) : extreme(rng);
    std::vector<uint16_t> x(static_cast<size_t>(k));
    for (auto& v : x) v = rng() % 3 ? ws::fp32_to_bf16(std::normal_distribution<float>(0, 4)(rng)) : extreme(rng);
    const auto d = make_dense("random " + std::to_string(i), w, rows, k, 4 * (1 + rng() % 200));
    const wp::Result r = drv.run({d->layer(x)}, random_traffic(rng));
    check_run(r, d->name, tot);
    if (!r.layers.empty()) check_dense(r.layers[0], *d, x, tot);
  }
  tot.print("dense random extremes", "ws::dense_matvec and the functional model");
  tot.expect_clean();
}

TEST(WeightPipelineDense, MixedWithSparseBackToBack) {
  // Dense and 2:4 layers alternating in one run (LAYER_DENSE switching between layers that queue
  // behind each other). The first run is at full speed with one chunk (pair) per layer, so that no
  // table load (2^11 writes a value chunk) falls inside a layer's stream: one beat per cycle.
  std::mt19937_64 rng(tb::seed() ^ 0x313);
  wp::Driver drv(tb::waves_path("WeightPipelineDense.MixedWithSparseBackToBack"));
  Totals tot;
  const std::vector<RealMatrix> dense_all = dense_real_matrices();
  const std::vector<RealMatrix> all = real_matrices();
  const int runs = int(tb::depth(2, 8));
  for (int run = 0; run < runs; ++run) {
    std::vector<std::unique_ptr<DenseLayer>> ds;
    std::vector<ws::Sparse24> ss;
    std::vector<std::unique_ptr<Streams>> streams;
    std::vector<std::vector<uint16_t>> dx, sx;
    ss.reserve(3);
    std::vector<ws::PipelineLayer> layers;
    std::vector<bool> is_dense;
    for (int i = 0; i < 6; ++i) {
      if (i % 2 == run % 2) {
        const RealMatrix& M = dense_all[rng() % dense_all.size()];
        ds.push_back(make_dense(M.name + " dense", ws::fp32_to_bf16(M.w), M.rows, M.cols, run == 0 ? 0 : 4 * (1 + rng() % 1000)));
        dx.push_back(gaussian_x(M.cols, rng));
        layers.push_back(ds.back()->layer(dx.back()));
        is_dense.push_back(true);
      } else {
        const RealMatrix& M = all[rng() % all.size()];
        ss.push_back(pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng)));
        sx.push_back(pad_x(gaussian_x(M.cols, rng), ss.back().cols));
        streams.push_back(make_streams(ss.back(), run == 0 || rng() % 2 ? 0 : int(1 + rng() % 40)));
        layers.push_back(layer_of(ss.back(), *streams.back(), sx.back()));
        is_dense.push_back(false);
      }
    }
    const wp::Result r = drv.run(layers, run == 0 ? wp::Traffic{} : random_traffic(rng));
    check_run(r, "mixed run " + std::to_string(run), tot);
    size_t di = 0, si = 0;
    for (size_t i = 0; i < layers.size() && i < r.layers.size(); ++i) {
      if (is_dense[i]) {
        check_dense(r.layers[i], *ds[di], dx[di], tot);
        ++di;
        continue;
      }
      check_y(r.layers[i].y, ws::sparse_matvec(ss[si], sx[si], ws::MacMode::Bf16, 2), "mixed 2:4 layer", tot);
      ++si;
    }
    if (run == 0) {  // full speed: one beat per cycle while the weights stream
      for (size_t i = 0; i < r.layers.size(); ++i)
        EXPECT_GE(r.layers[i].beats_per_cycle(), 0.95) << "layer " << i << (is_dense[i] ? " dense" : " 2:4");
    }
  }
  tot.print("dense and 2:4 back to back", "ws::dense_matvec / ws::sparse_matvec");
  tot.expect_clean();
}

TEST(WeightPipelineDense, MalformedDenseStreamsRaiseStickyErrors) {
  // A dense chunk of a value count that is not a multiple of 4 (a partial beat, 1.1), a layer whose
  // LAYER_BEATS ends inside its chunk (1.4), and LAYER_DENSE 2 (1.6); each followed, after a reset,
  // by a good dense layer.
  std::mt19937_64 rng(tb::seed() ^ 0xdbad);
  wp::Driver drv(tb::waves_path("WeightPipelineDense.MalformedDenseStreamsRaiseStickyErrors"));
  Totals tot;
  const RealMatrix M = dense_real_matrices().at(1);  // wk[0], 32 x 64
  const auto good = make_dense(M.name, ws::fp32_to_bf16(M.w), M.rows, M.cols, 0);
  const std::vector<uint16_t> x = gaussian_x(M.cols, rng);
  auto run_case = [&](const ErrCase& c, const ws::PipelineLayer& layer) {
    drv.reset();
    expect_error(drv.run({layer}, random_traffic(rng)), c, tot);
    drv.reset();
    const wp::Result r = drv.run({good->layer(x)}, random_traffic(rng));
    check_run(r, c.name + " (good layer after)", tot);
    if (!r.layers.empty()) check_dense(r.layers[0], *good, x, tot);
  };
  {  // the last chunk 2 values short of a beat
    std::vector<uint16_t> w = good->w;
    w.resize(w.size() - 2);
    const auto d = make_dense("short", w, M.rows, M.cols, 1024);
    run_case({"dense partial value beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_VALUE_PARTIAL}, d->layer(x));
  }
  {  // one row fewer in LAYER_BEATS than the chunk holds
    ws::PipelineLayer l = good->layer(x);
    l.rows -= 1;
    run_case({"dense layer ends inside its chunk", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_LAYER_END}, l);
  }
  {  // LAYER_DENSE takes only 0 and 1
    ws::PipelineLayer l = good->layer(x);
    l.cfg_before = {{ws::pkg::wp_cfg_addr(ws::pkg::WP_CFG_TOP, ws::pkg::WP_TOP_LAYER_DENSE), 2u}};
    run_case({"LAYER_DENSE 2", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CONFIG}, l);
  }
  tot.print("dense errors (3 malformed, each with a good layer after)", "ws::dense_matvec");
  EXPECT_EQ(tot.value_mismatches, 0u);
  EXPECT_EQ(tot.cycle_mismatches, 0u);
}

}  // namespace
}  // namespace tbwp
