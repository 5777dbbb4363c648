// The paths' top (docs/weight_pipeline.md section 14.2) on real layer widths: SmolLM2-135M's first
// transformer block (the GGUF of WS_SMOLLM2_GGUF), its 7 linears dequantized to bf16, pruned 2:4 by
// magnitude (identity permutation), rows of K16, and cut as `weightstream compress --paths 2` cuts
// them (ws::chunk_rows_for): an even number of chunk pairs of whole rows, each <= 65,536 values, rows
// balanced, value chunks at the built top's value table log (10). y bit for bit against ws::sparse_matvec, every cycle against
// ws::WeightPipelinePathsModel (wp::PathsDriver). The figures: dense-equivalent weights a cycle per
// layer and over the whole block back to back; the issue-12 target (2.2 G weights/s) at real widths.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "checks.hpp"
#include "paths_bench.hpp"
#include "paths_driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bf16.hpp"
#include "core/io.hpp"
#include "files/gguf.hpp"
#include "hw/mac_array_model.hpp"

namespace tbwp {
namespace {

constexpr size_t kChunkValues = 65536;  // the container's chunk size (values a chunk at most)

// One linear of the block: its GGUF tensor, 2:4 packed, its chunk pairs and x.
struct SmolLinear {
  std::string name;  // the GGUF tensor's, without "blk.0."
  int rows = 0, cols = 0;
  ws::Sparse24 L;
  std::unique_ptr<Streams> s;
  std::vector<uint16_t> x;
  ws::PipelineLayer layer() const { return layer_of(L, *s, x); }
  std::vector<uint32_t> golden() const {
    return ws::sparse_matvec(L, x, ws::MacMode::Bf16, wp::PathsDriver::built_params().path.meta_lanes);
  }
};

// The chunk pairs `weightstream compress --paths 2` writes for a 2:4 matrix (ws::chunk_rows_for, the
// codec's rule: 2 S kept values a row, at most kChunkValues a chunk): an even number, rows balanced.
ws::RowChunks paths_cut(int rows, int cols) {
  return ws::chunk_rows_for(uint64_t(rows), 2 * uint64_t(ws::sparse24_stored_groups(uint64_t(cols))), kChunkValues,
                            wp::PathsDriver::built_params().paths);
}

// Block 0's linears in the forward pass's order.
const std::vector<std::string> kBlockLinears = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                                "ffn_down"};

// Block 0's linears `names` (GGUF names without "blk.0." and ".weight"), x of each drawn from rng.
std::vector<SmolLinear> smollm2_block0(const std::vector<std::string>& names, std::mt19937_64& rng) {
  const std::string path = WS_SMOLLM2_GGUF;
  if (path.empty()) throw std::runtime_error("the SmolLM2 GGUF is missing: run make deps, then reconfigure");
  const ws::FileSource src(path);
  const ws::GgufFile f = ws::parse_gguf(src);
  const int value_log = wp::PathsDriver::built_params().path.value_table_log;
  std::vector<SmolLinear> out;
  for (const std::string& name : names) {
    const ws::GgufTensor* t = f.find_tensor("blk.0." + name + ".weight");
    if (!t) throw std::runtime_error("blk.0." + name + ".weight is not in " + path);
    SmolLinear lin;
    lin.name = name;
    lin.rows = int(t->shape().at(0));
    lin.cols = int(t->shape().at(1));
    // Dequantized (Q4_1 in the file) and rounded to bf16 first: the weights the top streams.
    std::vector<float> w = ws::gguf_read_fp32(src, *t);
    for (float& v : w) v = ws::bf16_to_fp32(ws::fp32_to_bf16(v));
    lin.L = pack_real(w, lin.rows, lin.cols, ws::identity_perm(lin.cols));
    lin.x = pad_x(gaussian_x(lin.cols, rng), lin.L.cols);
    const ws::RowChunks cut = paths_cut(lin.rows, lin.cols);
    lin.s = make_streams(lin.L, cut, cut, 6, value_log);
    out.push_back(std::move(lin));
  }
  return out;
}

TEST(WeightPipelinePaths, SmolLM2Block0BackToBackAtFullSpeed) {
  // The 7 linears back to back, no gaps, no backpressure, x from seed 7. Per layer: dense-equivalent
  // weights over the cycles from its first weight beat (any path) to its last (any path). The block:
  // all 7 layers' dense weights over the cycles from the first layer's first weight beat to the last
  // layer's last (the loads between layers included). Rows of 36 and 96 beats are far above the MAC
  // array's row pace (8) and the splits even, so the bound is 32 a cycle; >= 95% of it asserted.
  std::mt19937_64 rng(7);
  const std::vector<SmolLinear> lins = smollm2_block0(kBlockLinears, rng);
  std::vector<ws::PipelineLayer> layers;
  for (const SmolLinear& l : lins) layers.push_back(l.layer());
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.SmolLM2Block0BackToBackAtFullSpeed"));
  Totals tot;
  const wp::PathsResult r = drv.run(layers, wp::Traffic{});
  check_run(r, "SmolLM2 block 0", tot);
  EXPECT_FALSE(r.reset_after);
  ASSERT_EQ(r.layers.size(), lins.size());
  uint64_t dense = 0;
  for (size_t i = 0; i < lins.size(); ++i) {
    const SmolLinear& l = lins[i];
    const wp::LayerResult& R = r.layers[i];
    check_y(R.y, l.golden(), "SmolLM2 block 0 " + l.name, tot);
    dense += R.dense;
    const size_t pairs = l.s->values_v.size();
    std::printf("SmolLM2 blk.0.%s 2:4 (%dx%d, %zu chunk pairs of %d rows, %zu values each; rows %zu + %zu): %llu "
                "dense-equivalent weights in %llu cycles (first to last weight beat): %.3f a cycle; %llu cycles from its "
                "configuration's start (behind the layer before) to its first weight beat\n",
                l.name.c_str(), l.rows, l.cols, pairs, l.rows / int(pairs), size_t(l.rows / int(pairs)) * size_t(l.L.cols / 2),
                r.path_layers[0][i].y.size(), r.path_layers[1][i].y.size(), (unsigned long long)R.dense,
                (unsigned long long)(R.last_w_cycle - R.first_w_cycle + 1), r.weights_per_cycle(i),
                (unsigned long long)R.load_cycles());
    print_paths_bench("blk.0." + l.name + " 2:4", l.rows, l.cols, r, i,
                      stream_bytes(l.s->value_bytes, l.s->meta), "smollm2");
  }
  const uint64_t span = r.layers.back().last_w_cycle - r.layers.front().first_w_cycle + 1;
  const double steady = double(dense) / double(span);
  std::printf("SmolLM2 block 0, 7 linears back to back on 2 paths: %llu dense-equivalent weights in %llu cycles "
              "(first layer's first weight beat to last layer's last): %.3f a cycle (bound 32); run of %llu cycles\n",
              (unsigned long long)dense, (unsigned long long)span, steady, (unsigned long long)r.cycles);
  EXPECT_GE(steady, 0.95 * 32.0);
  tot.print("paths, SmolLM2 block 0 at full speed");
  tot.expect_clean();
}

TEST(WeightPipelinePaths, SmolLM2KProjWithRandomTraffic) {
  // k_proj (192 x 576, 2 chunk pairs of 96 rows) with random gaps and backpressure from TB_SEED: every
  // input port valid and the y port ready at rates drawn from it.
  std::mt19937_64 rng(tb::seed() ^ 0x5313);
  const std::vector<SmolLinear> lins = smollm2_block0({"attn_k"}, rng);
  const SmolLinear& k = lins.at(0);
  wp::PathsDriver drv(tb::waves_path("WeightPipelinePaths.SmolLM2KProjWithRandomTraffic"));
  Totals tot;
  // Always gaps and backpressure (random_traffic() draws full speed a third of the time).
  wp::Traffic t;
  t.valid_rate = 0.3 + 0.6 * double(rng() % 1000) / 1000.0;
  t.ready_rate = 0.2 + 0.6 * double(rng() % 1000) / 1000.0;
  t.seed = rng();
  std::printf("%s attn_k: valid rate %.3f, ready rate %.3f\n", tb::seed_text().c_str(), t.valid_rate, t.ready_rate);
  const wp::PathsResult r = drv.run({k.layer()}, t);
  check_run(r, "SmolLM2 blk.0.attn_k, random traffic", tot);
  EXPECT_FALSE(r.reset_after);
  ASSERT_EQ(r.layers.size(), 1u);
  check_y(r.layers[0].y, k.golden(), "SmolLM2 blk.0.attn_k, random traffic", tot);
  tot.print("paths, SmolLM2 blk.0.attn_k with random gaps and backpressure");
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
