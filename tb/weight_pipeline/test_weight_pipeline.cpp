// Bench of ws_weight_pipeline (docs/weight_pipeline.md section 9): compressed 2:4 bf16 layers through
// the Verilated top and ws::WeightPipelineModel in lock step (driver.hpp compares every output of every
// cycle), y checked bit for bit against ws::sparse_matvec(layer, x, BF16, G = 2). Good layers here;
// malformed ones and err_clear in test_weight_pipeline_errors.cpp.
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
#include "codec/tans.hpp"
#include "numfmt/numfmt.hpp"

namespace tbwp {
namespace {

TEST(WeightPipelineFormat, Bf16TableConsumesCodecRawLayout) {
  // Every bf16 pattern through the codec (encode_chunk, BF16) and then the unpacker's functional model
  // with the built-in bf16 table: the symbol stream decoded by ws::tans::decode, the raw stream as the
  // codec wrote it. The fp32 word must be the pattern in its top half and 0 below.
  std::vector<uint8_t> bytes(2 * 65536);
  for (uint32_t p = 0; p < 65536; ++p) {
    bytes[2 * p] = uint8_t(p);
    bytes[2 * p + 1] = uint8_t(p >> 8);
  }
  ws::ChunkOptions opt;
  opt.lanes = 4;
  const std::vector<uint8_t> chunk = ws::encode_chunk(bytes.data(), 65536, ws::DType::BF16, opt);
  const ws::ChunkView v = ws::parse_chunk(chunk.data(), chunk.size());
  std::vector<uint8_t> syms(65536);
  ws::tans::decode(v.layout, v.streams.data(), ws::tans::build_decode_table(v.counts), v.counts.table_log, v.lanes,
                   v.initial_states.data(), syms.data(), syms.size());
  const std::vector<uint32_t> out = ws::numfmt::decode_tensor(ws::numfmt::Format::builtin("bf16"), syms.data(),
                                                              syms.size(), v.raw_stream, v.raw_bytes);
  ASSERT_EQ(out.size(), 65536u);
  uint64_t bad = 0;
  for (uint32_t p = 0; p < 65536; ++p) bad += out[p] != (p << 16);
  std::printf("%s bf16 format table vs codec raw layout: 65536 patterns, %llu mismatches\n", tb::seed_text().c_str(),
              (unsigned long long)bad);
  EXPECT_EQ(bad, 0u);
}

TEST(WeightPipelineReal, Stories260KAllLinears) {
  // All 35 linear matrices of stories260K, pruned 2:4 by magnitude under a random channel permutation,
  // bf16 (RNE), one value chunk and one metadata chunk each, with random gaps and backpressure per layer.
  std::mt19937_64 rng(tb::seed() ^ 0x2604);
  const int rounds = int(tb::depth(1, 4));
  wp::Driver drv(tb::waves_path("WeightPipelineReal.Stories260KAllLinears"));
  Totals tot;
  for (int round = 0; round < rounds; ++round)
    for (const RealMatrix& M : real_matrices()) {
      const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
      const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
      auto s = make_streams(L);
      const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
      check_layers(r, {&L}, {x}, tot, M.name);
    }
  tot.print("stories260K 35 linears");
  tot.expect_clean();
}

TEST(WeightPipelineRandom, Extremes) {
  std::mt19937_64 rng(tb::seed() ^ 0xe87);
  const int n = int(tb::depth(24, 400));
  wp::Driver drv(tb::waves_path("WeightPipelineRandom.Extremes"));
  Totals tot;
  for (int i = 0; i < n; ++i) {
    const int rows = int(1 + rng() % 12), k8 = 8 * int(1 + rng() % 32);
    const ws::Sparse24 L = random_layer(rows, k8, rng);
    std::vector<uint16_t> x(static_cast<size_t>(k8));
    for (auto& v : x) v = rng() % 3 ? ws::fp32_to_bf16(std::normal_distribution<float>(0, 4)(rng)) : extreme(rng);
    auto s = make_streams(L, int(1 + rng() % rows), int(5 + rng() % 4));
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, "random " + std::to_string(i));
  }
  tot.print("random extremes");
  tot.expect_clean();
}

TEST(WeightPipelineReal, MultiChunkLayers) {
  // Real layers cut into several value and metadata chunks of different row counts.
  std::mt19937_64 rng(tb::seed() ^ 0x3c);
  wp::Driver drv(tb::waves_path("WeightPipelineReal.MultiChunkLayers"));
  Totals tot;
  const std::vector<RealMatrix> all = real_matrices();
  const int n = int(tb::depth(4, 35));
  for (int i = 0; i < n; ++i) {
    const RealMatrix& M = all[size_t(i * 7 + 4) % all.size()];  // w1, w2, w3 ... of several layers
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    auto s = make_streams(L, int(1 + rng() % 40), int(5 + rng() % 4));
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, M.name + " multi-chunk (" + std::to_string(s->values_v.size()) + " value, " +
                                        std::to_string(s->meta_v.size()) + " meta chunks)");
  }
  tot.print("multi-chunk layers");
  tot.expect_clean();
}

TEST(WeightPipelineReal, BackToBackLayers) {
  // One transformer block's seven matrices (and some random ones) in one run: each layer's configuration
  // and activations queue behind the previous layer's stream.
  std::mt19937_64 rng(tb::seed() ^ 0xb2b);
  wp::Driver drv(tb::waves_path("WeightPipelineReal.BackToBackLayers"));
  Totals tot;
  const std::vector<RealMatrix> all = real_matrices();
  const int blocks = int(tb::depth(1, 5));
  for (int b = 0; b < blocks; ++b) {
    std::vector<ws::Sparse24> Ls;
    std::vector<std::vector<uint16_t>> xs;
    std::vector<std::unique_ptr<Streams>> ss;
    Ls.reserve(9);
    for (int k = 0; k < 7; ++k) {
      const RealMatrix& M = all[size_t(b * 7 + k) % all.size()];
      Ls.push_back(pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng)));
      xs.push_back(pad_x(gaussian_x(M.cols, rng), Ls.back().cols));
    }
    for (int k = 0; k < 2; ++k) {
      Ls.push_back(random_layer(int(1 + rng() % 5), 8 * int(1 + rng() % 4), rng));
      xs.push_back(gaussian_x(Ls.back().cols, rng));
    }
    std::vector<ws::PipelineLayer> layers;
    std::vector<const ws::Sparse24*> ptrs;
    for (size_t i = 0; i < Ls.size(); ++i) {
      ss.push_back(make_streams(Ls[i], rng() % 2 ? 0 : int(1 + rng() % 64)));
      layers.push_back(layer_of(Ls[i], *ss.back(), xs[i]));
      ptrs.push_back(&Ls[i]);
    }
    const wp::Result r = drv.run(layers, b == 0 ? wp::Traffic{} : random_traffic(rng));
    check_layers(r, ptrs, xs, tot, "block " + std::to_string(b));
    if (b == 0) {
      uint64_t beats = 0;
      for (const auto& l : r.layers) beats += l.beats;
      std::printf("back to back, full speed: %zu layers, %llu weight beats in %llu cycles (tables included)\n",
                  r.layers.size(), (unsigned long long)beats, (unsigned long long)r.cycles);
    }
  }
  tot.print("back-to-back layers");
  tot.expect_clean();
}

TEST(WeightPipelineReal, FullSpeedThroughput) {
  // No gaps, no backpressure: table load cycles and weight beats per cycle on real layers.
  wp::Driver drv(tb::waves_path("WeightPipelineReal.FullSpeedThroughput"));
  Totals tot;
  for (const RealMatrix& M : real_matrices()) {
    if (M.name != "w1[0]" && M.name != "w2[0]" && M.name != "wq[0]" && M.name != "wk[0]") continue;
    const FullSpeedLayer F = full_speed_layer(M);
    const wp::Result r = drv.run({F.layer()}, wp::Traffic{});
    check_layers(r, {&F.L}, {F.x}, tot, M.name);
    const wp::LayerResult& R = r.layers[0];
    const double st = double(R.last_w_cycle - R.first_w_cycle + 1);
    std::printf("full speed %s (%dx%d, K8 %d): %llu cycles = %llu load (value table 2^%d, meta table 2^%d, perm, "
                "pipeline fill) + %llu streaming; %llu beats in %.0f cycles: %.4f beats/cycle = %.3f kept = %.3f "
                "dense-equivalent weights/cycle; whole layer %.3f dense-equivalent weights/cycle\n",
                M.name.c_str(), M.rows, M.cols, F.L.cols, (unsigned long long)r.cycles,
                (unsigned long long)R.load_cycles(), F.s->values_v[0].counts.table_log, F.s->meta_v[0].counts.table_log,
                (unsigned long long)R.stream_cycles(), (unsigned long long)R.beats, st, R.beats_per_cycle(),
                4 * R.beats_per_cycle(), 8 * R.beats_per_cycle(), double(R.dense) / double(r.cycles));
    // For scripts/bench_hw.py: what the layer's compressed streams (value and metadata chunks) weigh.
    size_t stream_bytes = 0;
    for (const auto& b : F.s->value_bytes) stream_bytes += b.size();
    for (const MetaChunk& m : F.s->meta) stream_bytes += m.stream.size();
    std::printf("WS_BENCH {\"bench\":\"weight_pipeline\",\"layer\":\"%s\",\"rows\":%d,\"cols\":%d,"
                "\"beats\":%llu,\"stream_cycles\":%.0f,\"dense\":%llu,\"cycles\":%llu,\"stream_bytes\":%zu}\n",
                M.name.c_str(), M.rows, M.cols, (unsigned long long)R.beats, st, (unsigned long long)R.dense,
                (unsigned long long)r.cycles, stream_bytes);
    EXPECT_GE(R.beats_per_cycle(), 0.95) << M.name;
  }
  tot.expect_clean();
}

// A run on a driver of its own, destroyed before the next one is made: one driver at a time
// (Verilator 5.006 deadlocks destroying one of two live models).
wp::Result fresh_run(const std::vector<ws::PipelineLayer>& layers, const wp::Traffic& t) {
  wp::Driver drv;
  return drv.run(layers, t);
}

TEST(WeightPipelineReal, TableLoadOverlapsDecode) {
  // The decoders' two table banks: each chunk's table loads into one bank while the chunk before
  // decodes from the other. The same layers at full speed with the tables alternating between the
  // banks and with every table in bank 0 (each load waits for the chunk before to end), each on a
  // fresh driver. The tables (2^11 + 2^6 writes a pair) take longer than a chunk's decode here, so
  // the banked run must save about the decode cycles of every chunk pair but the last: at least 90%
  // of their beats (the decoders run a few beats ahead of the MAC array, so a serial load starts a
  // little before the last beat of the chunk before); both give y bit for bit.
  const std::vector<RealMatrix> all = real_matrices();
  struct Case {
    std::string name;
    std::vector<size_t> matrices;  // back to back
    int crows;                     // rows per chunk pair (0: one pair per layer)
  };
  const Case cases[] = {{"w1[0] in chunk pairs of 43 rows", {4}, 43},
                        {"wq[0], wk[0], wv[0], wo[0] back to back, one chunk pair each", {0, 1, 2, 3}, 0}};
  Totals tot;
  for (const Case& c : cases) {
    std::vector<ws::Sparse24> Ls;
    std::vector<std::vector<uint16_t>> xs;
    std::vector<std::unique_ptr<Streams>> ss;
    std::vector<ws::PipelineLayer> layers;
    std::vector<const ws::Sparse24*> ptrs;
    std::mt19937_64 rng(11);
    Ls.reserve(c.matrices.size());
    uint64_t hidden_beats = 0;  // beats of every chunk pair but the run's last
    for (size_t m : c.matrices) {
      const RealMatrix& M = all.at(m);
      Ls.push_back(pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols)));
      xs.push_back(pad_x(gaussian_x(M.cols, rng), Ls.back().cols));
      ss.push_back(make_streams(Ls.back(), c.crows));
      layers.push_back(layer_of(Ls.back(), *ss.back(), xs.back()));
      ptrs.push_back(&Ls.back());
      for (const ws::ChunkView& v : ss.back()->values_v) hidden_beats += v.value_count / 4;
    }
    hidden_beats -= ss.back()->values_v.back().value_count / 4;
    wp::Traffic one_bank;
    one_bank.one_bank = true;
    const wp::Result rb = fresh_run(layers, wp::Traffic{}), rs = fresh_run(layers, one_bank);
    check_layers(rb, ptrs, xs, tot, c.name + " (two banks)");
    check_layers(rs, ptrs, xs, tot, c.name + " (one bank)");
    std::printf("%s table load overlap, %s: %llu cycles with two table banks, %llu with one (loads in series): "
                "%lld fewer; %llu beats of chunks before the last\n",
                tb::seed_text().c_str(), c.name.c_str(), (unsigned long long)rb.cycles, (unsigned long long)rs.cycles,
                (long long)rs.cycles - (long long)rb.cycles, (unsigned long long)hidden_beats);
    EXPECT_GE(double(rs.cycles) - double(rb.cycles), 0.9 * double(hidden_beats)) << c.name;
  }
  tot.print("table load overlap");
  tot.expect_clean();
}

TEST(WeightPipelineReal, NextLayerLoadsWhileStreaming) {
  // Two layers open at once: the next layer's MAC CTRL, permutation and activations load (into the
  // MAC array's other bank) while the current layer streams, as its tables do into the decoders'
  // other banks. stories260K's block 0 back to back at full speed, one chunk pair a layer, with the
  // demo's table sizes (value 2^7, metadata 2^5), so that each layer streams for longer than the next
  // one takes to load. Against the serial baseline (a layer's MAC writes wait for the last beat of
  // the layer before, as before issue 12), on fresh drivers: between one layer's last beat and the
  // next one's first, the serial run loses at least the next layer's permutation writes and
  // activation transfers (2 K8 cycles), the overlapped run at most 25 cycles whatever K8 (what is
  // left is the decoders' chunk start, about 11 cycles, docs/tans_decoder.md section 3, and the hand-
  // over of the last beat through the MAC slice; 20 until bf16u36: the bf16 unpacker holds few beats
  // where ws_num_unpacker's 10 stages let the value decoder run ahead and start wv[0]'s chunk
  // earlier, so wv[0]'s gap went from 16 to 25 cycles, and to 24 with the unpacker's symbol slice
  // of 7eebb1a, latency 2, and to 25 again without u_u_slice behind the bf16 unpacker, y37: one slot
  // of buffering less; TB_SEED 1 and 2); y bit for bit in both.
  const std::vector<RealMatrix> all = real_matrices();
  std::vector<ws::Sparse24> Ls;
  std::vector<std::vector<uint16_t>> xs;
  std::vector<std::unique_ptr<Streams>> ss;
  std::vector<ws::PipelineLayer> layers;
  std::vector<const ws::Sparse24*> ptrs;
  std::mt19937_64 rng(tb::seed() ^ 0x0e71);
  Ls.reserve(7);
  for (size_t m = 0; m < 7; ++m) {
    const RealMatrix& M = all.at(m);
    Ls.push_back(pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng)));
    xs.push_back(pad_x(gaussian_x(M.cols, rng), Ls.back().cols));
    ss.push_back(make_streams(Ls.back(), 0, 5, -1, 7));
    layers.push_back(layer_of(Ls.back(), *ss.back(), xs.back()));
    ptrs.push_back(&Ls.back());
  }
  wp::Traffic serial;
  serial.serial_layers = true;
  const wp::Result ro = fresh_run(layers, wp::Traffic{}), rs = fresh_run(layers, serial);
  Totals tot;
  check_layers(ro, ptrs, xs, tot, "overlapped");
  check_layers(rs, ptrs, xs, tot, "serial");
  uint64_t beats = 0, gaps_o = 0, gaps_s = 0;
  for (size_t li = 0; li < layers.size(); ++li) {
    beats += ro.layers[li].beats;
    if (li == 0) continue;
    const int k8 = Ls[li].cols;
    const uint64_t gap_o = ro.layers[li].first_w_cycle - ro.layers[li - 1].last_w_cycle - 1;
    const uint64_t gap_s = rs.layers[li].first_w_cycle - rs.layers[li - 1].last_w_cycle - 1;
    gaps_o += gap_o;
    gaps_s += gap_s;
    std::printf("%s next layer %s (K8 %d, %llu beats): %llu cycles without a beat before it overlapped, %llu serial\n",
                tb::seed_text().c_str(), all[li].name.c_str(), k8, (unsigned long long)ro.layers[li].beats,
                (unsigned long long)gap_o, (unsigned long long)gap_s);
    EXPECT_LE(gap_o, 25u) << all[li].name;
    EXPECT_GE(gap_s, 2u * uint64_t(k8)) << all[li].name;
  }
  std::printf("%s next layer overlap: %zu layers, %llu beats; %llu cycles overlapped (%.4f beats/cycle, %llu cycles "
              "between layers), %llu serial (%.4f, %llu between layers)\n",
              tb::seed_text().c_str(), layers.size(), (unsigned long long)beats, (unsigned long long)ro.cycles,
              double(beats) / double(ro.cycles), (unsigned long long)gaps_o, (unsigned long long)rs.cycles,
              double(beats) / double(rs.cycles), (unsigned long long)gaps_s);
  tot.print("next layer overlap");
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
