// The tests every non-default configuration of ws_weight_pipeline runs (docs/weight_pipeline.md,
// sections 12 and 13), compiled once per Verilated build: WP_SUITE names the suite and WP_CONFIG the
// configuration in the printed figures (tb/weight_pipeline/CMakeLists.txt). The same driver, cycle
// model and golden models as the default bench, at the built top's parameters: every output of every
// cycle against ws::WeightPipelineModel, y bit for bit against ws::sparse_matvec (G = MetaLanes) and
// ws::dense_matvec (L = ValueLanes); real stories260K layers, random extremes, random gaps and
// backpressure from TB_SEED, dense and 2:4 layers back to back, and the top's errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "checks.hpp"
#include "driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/bf16.hpp"
#include "core/ws_pkg.hpp"

#define WP_STR2(x) #x
#define WP_STR(x) WP_STR2(x)
#define WP_LABEL(what) WP_CONFIG ", " what  // the printed figures name the configuration

namespace tbwp {
namespace {

std::string waves(const char* test) { return tb::waves_path(std::string(WP_STR(WP_SUITE)) + "." + test); }

// Value chunks at the codec's default table log, or the built top's tables where they are smaller.
int value_log() { return std::min(ws::tans::kDefaultTableLog, built().value_table_log); }

std::unique_ptr<Streams> streams(const ws::Sparse24& L, int chunk_rows = 0, int meta_log = 6, int meta_rows = -1) {
  return make_streams(L, chunk_rows, meta_log, meta_rows, value_log());
}

TEST(WP_SUITE, Stories260KLinears) {
  // All 35 linear matrices of stories260K (long: 4 rounds), pruned 2:4 by magnitude under a random
  // channel permutation, in value and metadata chunks of random row counts (metadata table logs
  // 5 .. 8), random gaps and backpressure per layer.
  std::mt19937_64 rng(tb::seed() ^ 0x5c5);
  const std::vector<RealMatrix> all = real_matrices();
  const int rounds = int(tb::depth(1, 4));
  wp::Driver drv(waves("Stories260KLinears"), built());
  Totals tot;
  for (int round = 0; round < rounds; ++round)
  for (const RealMatrix& M : all) {
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    const int crows = rng() % 2 ? 0 : int(1 + rng() % M.rows);
    auto s = streams(L, crows, int(5 + rng() % 4));
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, M.name);
  }
  tot.print(WP_LABEL("stories260K linears"));
  tot.expect_clean();
}

TEST(WP_SUITE, RandomExtremesBackToBack) {
  // Random 2:4 layers of extreme bf16 values (K a multiple of row_pad() up to MaxK), two or three per
  // run (each layer's configuration and activations queue behind the stream before), random
  // chunking, gaps and backpressure.
  std::mt19937_64 rng(tb::seed() ^ 0x5e7);
  const int n = int(tb::depth(16, 200));
  wp::Driver drv(waves("RandomExtremesBackToBack"), built());
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
      ss.push_back(streams(Ls[size_t(j)], int(1 + rng() % Ls[size_t(j)].rows), int(5 + rng() % 4)));
      layers.push_back(layer_of(Ls[size_t(j)], *ss.back(), xs[size_t(j)]));
    }
    std::vector<const ws::Sparse24*> ptrs;
    for (const auto& L : Ls) ptrs.push_back(&L);
    check_layers(drv.run(layers, random_traffic(rng)), ptrs, xs, tot, "random run " + std::to_string(i));
  }
  tot.print(WP_LABEL("random extremes back to back"));
  tot.expect_clean();
}

TEST(WP_SUITE, DenseAndSparseMixed) {
  // Dense stories260K matrices (2K <= MaxK: K 64) and 2:4 ones alternating in one run; dense y against
  // ws::dense_matvec with the array's ValueLanes multipliers (value chunks of random multiples of
  // 2 x ValueLanes values).
  std::mt19937_64 rng(tb::seed() ^ 0x5d5);
  const std::vector<RealMatrix> all = real_matrices();
  std::vector<RealMatrix> dense;
  for (const RealMatrix& M : all)
    if (2 * M.cols <= built().max_k) dense.push_back(M);
  ASSERT_FALSE(dense.empty());
  const int runs = int(tb::depth(4, 20));
  wp::Driver drv(waves("DenseAndSparseMixed"), built());
  Totals tot;
  for (int run = 0; run < runs; ++run) {
    const RealMatrix& D = dense[rng() % dense.size()];
    const RealMatrix& S = all[rng() % all.size()];
    const size_t per_chunk = rng() % 2 ? 0 : size_t(2 * built().value_lanes) * (1 + rng() % 250);
    const auto d = make_dense(D.name + " dense", ws::fp32_to_bf16(D.w), D.rows, D.cols, per_chunk, value_log());
    const ws::Sparse24 L = pack_real(S.w, S.rows, S.cols, random_perm(S.cols, rng));
    const std::vector<uint16_t> xd = gaussian_x(D.cols, rng), xs = pad_x(gaussian_x(S.cols, rng), L.cols);
    auto s = streams(L);
    const wp::Result r = drv.run({d->layer(xd), layer_of(L, *s, xs), d->layer(xd)}, random_traffic(rng));
    check_run(r, "run " + std::to_string(run), tot);
    const std::vector<uint32_t> gd = ws::dense_matvec(d->w, d->rows, d->k, xd, ws::MacMode::Bf16, built().value_lanes);
    const std::vector<uint32_t> gs = ws::sparse_matvec(L, xs, ws::MacMode::Bf16, built().meta_lanes);
    for (size_t i = 0; i < 3; ++i)
      check_y(i < r.layers.size() ? r.layers[i].y : std::vector<uint32_t>{}, i == 1 ? gs : gd,
              (i == 1 ? S.name : d->name) + " (layer " + std::to_string(i) + ")", tot);
  }
  tot.print(WP_LABEL("dense and 2:4 mixed"), "ws::dense_matvec and ws::sparse_matvec");
  tot.expect_clean();
}

TEST(WP_SUITE, MalformedStreamsRaiseStickyErrors) {
  // The top's and the blocks' errors at the built lane counts; a good layer runs after each.
  std::mt19937_64 rng(tb::seed() ^ 0x5ba);
  wp::Driver drv(waves("MalformedStreamsRaiseStickyErrors"), built());
  Totals tot;
  const ws::Sparse24 L = real_layer(1, rng);  // wk[0], 32 x 64
  const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
  auto run_case = [&](const ErrCase& c, ws::PipelineLayer layer) {
    drv.reset();
    expect_error(drv.run({layer}, random_traffic(rng)), c, tot);
    drv.reset();
    auto s = streams(L);
    check_layers(drv.run({layer_of(L, *s, x)}, random_traffic(rng)), {&L}, {x}, tot, c.name + " (good layer after)");
  };
  {
    ws::Sparse24 B = L;
    B.meta[rng() % B.meta.size()] = uint8_t(rng() % 2 ? 0x3 : 0x0);
    auto s = streams(B);
    run_case({"bad metadata nibble", ws::pkg::WP_BLK_MAC, ws::pkg::MAC_ERR_META}, layer_of(B, *s, x));
  }
  {
    auto s = streams(L);
    std::vector<uint8_t> nib = L.meta;
    nib[rng() % nib.size()] = 0x14;
    s->meta[0] = make_meta_chunk(nib.data(), nib.size(), 6);
    s->meta_v[0] = s->meta[0].view;
    run_case({"metadata symbol above 15", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_SYMBOL}, layer_of(L, *s, x));
  }
  {  // one value short: a last beat of ValueLanes - 1 values
    auto s = streams(L);
    s->set_values(0, std::vector<uint16_t>(L.values.begin(), L.values.end() - 1), value_log());
    run_case({"partial value beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_VALUE_PARTIAL}, layer_of(L, *s, x));
  }
  if (built().meta_lanes > 1) {  // one nibble short: a last metadata beat of MetaLanes - 1 nibbles
    auto s = streams(L);
    s->meta[0] = make_meta_chunk(L.meta.data(), L.meta.size() - 1, 6);
    s->meta_v[0] = s->meta[0].view;
    run_case({"partial metadata beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_PARTIAL}, layer_of(L, *s, x));
  }
  {  // value and metadata chunks of different row counts
    auto s = streams(L, 8, 6, 16);
    run_case({"chunks end on different beats", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
  }
  // The raw stream (words of ws::pkg::raw_word_bits(ValueLanes) bits): a port word short, then a
  // 32-bit word after it, zero or not (at 64 bits the new last word's upper half is its padding): the
  // unpacker runs out, or finds bits left over (more than the last word's zero padding).
  const size_t port_bytes = size_t(ws::pkg::raw_word_bits(built().value_lanes) / 8);
  for (const auto& [name, cut, extra, cause] :
       {std::make_tuple("raw stream a port word short", true, std::vector<uint8_t>{}, int(ws::pkg::UNP_ERR_RUNS_OUT)),
        std::make_tuple("raw stream a zero word long", false, std::vector<uint8_t>{0, 0, 0, 0}, int(ws::pkg::UNP_ERR_LEFT_OVER)),
        std::make_tuple("raw stream a non-zero word long", false, std::vector<uint8_t>{0, 0, 0, 0x80},
                        int(ws::pkg::UNP_ERR_LEFT_OVER))}) {
    auto s = streams(L);
    ws::ChunkView& v = s->values_v[0];
    ASSERT_EQ(v.raw_bytes % port_bytes, 0u);  // whole port words: ValueLanes bytes a beat
    std::vector<uint8_t> raw(v.raw_stream, v.raw_stream + v.raw_bytes - (cut ? port_bytes : 0));
    raw.insert(raw.end(), extra.begin(), extra.end());
    v.raw_stream = raw.data();
    v.raw_bytes = uint32_t(raw.size());
    run_case({name, ws::pkg::WP_BLK_UNPACKER, cause}, layer_of(L, *s, x));
  }
  tot.print(WP_LABEL("malformed streams (then a good layer)"));
  EXPECT_EQ(tot.cycle_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.value_mismatches, 0u) << tb::seed_text();
  EXPECT_EQ(tot.assertion_errors, 0u) << tb::seed_text();
}

}  // namespace
}  // namespace tbwp
