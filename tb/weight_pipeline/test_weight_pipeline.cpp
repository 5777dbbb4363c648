// Bench of ws_weight_pipeline (docs/weight_pipeline.md section 7): compressed 2:4 bf16 layers through
// the Verilated top and ws::WeightPipelineModel in lock step (driver.hpp compares every output of every
// cycle), y checked bit for bit against ws::sparse_matvec(layer, x, BF16, G = 2).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "driver.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "codec/sparse24.hpp"
#include "codec/tans.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "hw/mac_array_model.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "numfmt/numfmt.hpp"
#include "prune/magnitude.hpp"
#include "prune/shuffle.hpp"

namespace {

using ws::MacMode;

// The compressed streams of one packed layer (rows x K8, K8 a multiple of 8), owning their bytes.
struct Streams {
  std::vector<std::vector<uint8_t>> value_bytes;  // encode_chunk output per value chunk
  std::vector<wp::MetaChunk> meta;
  std::vector<ws::ChunkView> values_v, meta_v;
};

// Chunk pairs of `crows` rows (0: one pair for the layer): value chunk i and metadata chunk i cover
// the same rows (the stream contract). mrows != crows builds a stream that breaks it (error tests).
std::unique_ptr<Streams> make_streams(const ws::Sparse24& L, int crows = 0, int meta_log = 6, int mrows = -1) {
  int vrows = crows;
  if (mrows < 0) mrows = crows;
  auto s = std::make_unique<Streams>();
  const size_t vpr = size_t(L.cols) / 2, mpr = size_t(L.cols) / 4;  // per row
  if (vrows <= 0) vrows = L.rows;
  if (mrows <= 0) mrows = L.rows;
  for (int r = 0; r < L.rows; r += vrows) {
    const int n = std::min(vrows, L.rows - r);
    std::vector<uint8_t> bytes(size_t(n) * vpr * 2);
    for (size_t i = 0; i < size_t(n) * vpr; ++i) {
      const uint16_t v = L.values[size_t(r) * vpr + i];
      bytes[2 * i] = uint8_t(v);
      bytes[2 * i + 1] = uint8_t(v >> 8);
    }
    ws::ChunkOptions opt;
    opt.lanes = 4;
    s->value_bytes.push_back(ws::encode_chunk(bytes.data(), size_t(n) * vpr, ws::DType::BF16, opt));
  }
  for (const auto& b : s->value_bytes) s->values_v.push_back(ws::parse_chunk(b.data(), b.size()));
  for (int r = 0; r < L.rows; r += mrows) {
    const int n = std::min(mrows, L.rows - r);
    s->meta.push_back(wp::make_meta_chunk(L.meta.data() + size_t(r) * mpr, size_t(n) * mpr, meta_log));
  }
  for (const auto& m : s->meta) s->meta_v.push_back(m.view);
  return s;
}

wp::Layer layer_of(const ws::Sparse24& L, const Streams& s, const std::vector<uint16_t>& x) {
  wp::Layer l;
  l.values = s.values_v;
  l.meta = s.meta_v;
  l.rows = L.rows;
  l.k = L.cols;
  l.perm = L.perm;
  l.x = x;
  return l;
}

wp::Traffic random_traffic(std::mt19937_64& rng) {
  wp::Traffic t;
  switch (rng() % 3) {
    case 0: break;  // full speed
    case 1:
      t.valid_rate = 0.3 + 0.7 * double(rng() % 1000) / 1000.0;
      t.ready_rate = 0.3 + 0.7 * double(rng() % 1000) / 1000.0;
      break;
    default:
      t.valid_rate = 0.9;
      t.ready_rate = 0.2 + 0.3 * double(rng() % 1000) / 1000.0;
  }
  t.seed = rng();
  return t;
}

struct Totals {
  uint64_t layers = 0, values = 0, value_mismatches = 0, cycles = 0, cycle_mismatches = 0, signals = 0,
           transfer_mismatches = 0, y_transfers = 0, assertion_errors = 0;
  void add(const wp::Result& r) {
    cycles += r.cycles;
    cycle_mismatches += r.cycle_mismatches;
    signals += r.signals_compared;
    transfer_mismatches += r.transfer_mismatches;
    y_transfers += r.y_transfers;
    assertion_errors += r.assertion_errors;
  }
  void print(const char* what) const {
    std::printf("%s %s: %llu layers, %llu y values compared with ws::sparse_matvec, %llu value mismatches; "
                "%llu cycles, %llu signals compared RTL vs model, %llu cycle mismatches, %llu transfer mismatches, "
                "%llu assertion errors\n",
                tb::seed_text().c_str(), what, (unsigned long long)layers, (unsigned long long)values,
                (unsigned long long)value_mismatches, (unsigned long long)cycles, (unsigned long long)signals,
                (unsigned long long)cycle_mismatches, (unsigned long long)transfer_mismatches,
                (unsigned long long)assertion_errors);
  }
  void expect_clean() const {
    EXPECT_EQ(value_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(cycle_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(transfer_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(assertion_errors, 0u) << tb::seed_text();
    EXPECT_GT(values, 0u);
  }
};

// Checks one good run's layers against the golden model.
void check_layers(const wp::Result& r, const std::vector<const ws::Sparse24*>& Ls,
                  const std::vector<std::vector<uint16_t>>& xs, Totals& tot, const std::string& what) {
  EXPECT_TRUE(r.complete) << what << " " << tb::seed_text();
  EXPECT_FALSE(r.err) << what << ": " << ws::weight_pipeline_error_text(r.err_cause) << " " << tb::seed_text();
  EXPECT_FALSE(r.timed_out) << what << " " << tb::seed_text();
  EXPECT_TRUE(r.inputs_drained) << what << " " << tb::seed_text();
  EXPECT_EQ(r.cycle_mismatches, 0u) << what << " " << r.first_mismatch << " " << tb::seed_text();
  tot.add(r);
  for (size_t i = 0; i < Ls.size(); ++i) {
    const std::vector<uint32_t> gold = ws::sparse_matvec(*Ls[i], xs[i], MacMode::Bf16, 2);
    const std::vector<uint32_t>& y = r.layers[i].y;
    ++tot.layers;
    tot.values += gold.size();
    for (size_t j = 0; j < gold.size(); ++j) {
      const uint32_t got = j < y.size() ? y[j] : 0xdeadbeef;
      if (got != gold[j]) {
        if (tot.value_mismatches < 5)
          ADD_FAILURE() << what << " layer " << i << " row " << j << ": rtl " << std::hex << got << " golden "
                        << gold[j] << std::dec << " " << tb::seed_text();
        ++tot.value_mismatches;
      }
    }
  }
}

std::vector<uint16_t> pad_x(const std::vector<uint16_t>& x, int k8) {
  std::vector<uint16_t> p = x;
  p.resize(size_t(k8), 0);
  return p;
}

// A layer pruned 2:4 by magnitude under perm, rounded to bf16, padded to K8.
ws::Sparse24 pack_real(const std::vector<float>& w, int rows, int cols, const std::vector<int32_t>& perm) {
  const std::vector<float> pruned = ws::prune24_magnitude(w, rows, cols, perm);
  std::vector<uint16_t> b(pruned.size());
  for (size_t i = 0; i < b.size(); ++i) b[i] = ws::fp32_to_bf16(pruned[i]);
  return ws::pad_sparse24_cols(ws::pack_sparse24(b, rows, cols, MacMode::Bf16, perm), 8);
}

std::vector<int32_t> random_perm(int n, std::mt19937_64& rng) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = i;
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

std::vector<uint16_t> gaussian_x(int n, std::mt19937_64& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> x(static_cast<size_t>(n));
  for (auto& v : x) v = ws::fp32_to_bf16(nd(rng));
  return x;
}

const ws::LlamaWeights& stories() {
  static const ws::LlamaWeights w = ws::load_llama(std::string(WS_DATA_DIR) + "/stories260K.bin");
  return w;
}

struct RealMatrix {
  std::string name;
  int rows, cols;
  std::vector<float> w;
};

std::vector<RealMatrix> real_matrices() {
  const ws::LlamaWeights& m = stories();
  std::vector<RealMatrix> out;
  static const char* const names[] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};
  for (int l = 0; l < m.config.n_layers; ++l)
    for (int k = 0; k < ws::kLayerLinears; ++k) {
      const auto kind = ws::LinearKind(k);
      const int rows = ws::linear_out(m.config, kind), cols = ws::linear_in(m.config, kind);
      const size_t n = size_t(rows) * size_t(cols);
      const auto& all = m.linear[size_t(k)];
      out.push_back({std::string(names[k]) + "[" + std::to_string(l) + "]", rows, cols,
                     std::vector<float>(all.begin() + long(size_t(l) * n), all.begin() + long(size_t(l + 1) * n))});
    }
  return out;
}

// ---------------------------------------------------------------------------------------------------

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
  ws::tans::decode(v.symbol_stream, v.symbol_bytes, ws::tans::build_decode_table(v.counts), v.counts.table_log, 4,
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

// Extreme bf16 values: zeros of both signs, infinities, NaNs with payloads, subnormals, the largest
// finite, values near overflow and underflow, and cancelling pairs.
uint16_t extreme(std::mt19937_64& rng) {
  static const uint16_t pick[] = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x7f81, 0x0001, 0x8001,
                                  0x007f, 0x807f, 0x0080, 0x7f7f, 0xff7f, 0x7f00, 0x0100, 0x3f80, 0xbf80,
                                  0x4000, 0xc000, 0x3f81, 0xbf81};
  switch (rng() % 4) {
    case 0: return pick[rng() % (sizeof pick / sizeof pick[0])];
    case 1: return uint16_t(rng());                                             // anything
    case 2: return uint16_t((rng() & 0x8000) | (0x3f00 + (rng() % 0x200)));    // near 1
    default: return uint16_t((rng() & 0x807f) | ((rng() % 3) << 7));           // subnormal / tiny
  }
}

ws::Sparse24 random_layer(int rows, int k8, std::mt19937_64& rng) {
  static const uint8_t metas[] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE};
  ws::Sparse24 L;
  L.rows = rows;
  L.cols = k8;
  L.perm = random_perm(k8, rng);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < k8 / 4; ++g) {
      L.meta.push_back(metas[rng() % 6]);
      const uint16_t a = extreme(rng);
      // Cancellation: sometimes the second value is the first one negated.
      const uint16_t b = rng() % 4 == 0 ? uint16_t(a ^ 0x8000) : extreme(rng);
      L.values.push_back(a);
      L.values.push_back(b);
    }
  ws::validate_sparse24(L);
  return L;
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
    std::vector<wp::Layer> layers;
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
    const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols));
    std::mt19937_64 rng(7);
    const std::vector<uint16_t> x = pad_x(gaussian_x(M.cols, rng), L.cols);
    auto s = make_streams(L);
    const wp::Result r = drv.run({layer_of(L, *s, x)}, wp::Traffic{});
    check_layers(r, {&L}, {x}, tot, M.name);
    const wp::LayerResult& R = r.layers[0];
    const double st = double(R.last_w_cycle - R.first_w_cycle + 1);
    std::printf("full speed %s (%dx%d, K8 %d): %llu cycles = %llu load (value table 2^%d, meta table 2^%d, perm, "
                "pipeline fill) + %llu streaming; %llu beats in %.0f cycles: %.4f beats/cycle = %.3f kept = %.3f "
                "dense-equivalent weights/cycle; whole layer %.3f dense-equivalent weights/cycle\n",
                M.name.c_str(), M.rows, M.cols, L.cols, (unsigned long long)r.cycles,
                (unsigned long long)R.load_cycles(), s->values_v[0].counts.table_log, s->meta_v[0].counts.table_log,
                (unsigned long long)R.stream_cycles(), (unsigned long long)R.beats, st, R.beats_per_cycle(),
                4 * R.beats_per_cycle(), 8 * R.beats_per_cycle(), double(R.dense) / double(r.cycles));
    EXPECT_GE(R.beats_per_cycle(), 0.95) << M.name;
  }
  tot.expect_clean();
}

// ---------------------------------------------------------------------------------------------------
// Malformed streams: each must raise the sticky error with the expected block and cause, and the run
// must end (the top drains its streams after an error), within the cycle bound.

struct ErrCase {
  std::string name;
  int expect_block = 0;  // 0: any block (checked with the functional model where known)
  int expect_cause = -1;
};

void expect_error(const wp::Result& r, const ErrCase& c, Totals& tot) {
  tot.add(r);
  EXPECT_TRUE(r.err) << c.name << " " << tb::seed_text();
  EXPECT_FALSE(r.timed_out) << c.name << " " << tb::seed_text();
  EXPECT_EQ(r.cycle_mismatches, 0u) << c.name << ": " << r.first_mismatch << " " << tb::seed_text();
  if (c.expect_block) EXPECT_EQ(r.err_cause >> 3, c.expect_block) << c.name << ": " << ws::weight_pipeline_error_text(r.err_cause);
  if (c.expect_cause >= 0) EXPECT_EQ(r.err_cause & 7, c.expect_cause) << c.name << ": " << ws::weight_pipeline_error_text(r.err_cause);
  std::printf("  %-44s -> %s, %llu cycles%s\n", c.name.c_str(), ws::weight_pipeline_error_text(r.err_cause).c_str(),
              (unsigned long long)r.cycles, r.inputs_drained ? ", inputs drained" : "");
}

int tans_cause(const std::string& what) {
  if (what.find("ends early") != std::string::npos) return 1;
  if (what.find("left over") != std::string::npos) return 2;
  if (what.find("final state") != std::string::npos) return 3;
  return -1;
}

TEST(WeightPipelineErrors, MalformedStreamsRaiseStickyErrors) {
  std::mt19937_64 rng(tb::seed() ^ 0xbad);
  wp::Driver drv(tb::waves_path("WeightPipelineErrors.MalformedStreamsRaiseStickyErrors"));
  Totals tot;
  const std::vector<RealMatrix> all = real_matrices();
  const RealMatrix& M = all[1];  // wk[0], 32 x 64
  const ws::Sparse24 L = pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
  const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
  const int reps = int(tb::depth(1, 6));
  uint64_t flagged = 0, cases = 0;
  auto run_case = [&](const ErrCase& c, wp::Layer layer) {
    drv.reset();
    const wp::Result r = drv.run({layer}, random_traffic(rng));
    expect_error(r, c, tot);
    ++cases;
    flagged += r.err;
    // After a reset the next good layer runs.
    drv.reset();
    auto s = make_streams(L);
    check_layers(drv.run({layer_of(L, *s, x)}, random_traffic(rng)), {&L}, {x}, tot, c.name + " (good layer after)");
  };
  for (int rep = 0; rep < reps; ++rep) {
    {  // a bad metadata nibble (idx0 >= idx1): the MAC array's cause 1
      ws::Sparse24 B = L;
      B.meta[rng() % B.meta.size()] = uint8_t(rng() % 2 ? 0x3 : 0x0);
      auto s = make_streams(B);
      run_case({"bad metadata nibble", ws::kWpBlkMac, ws::kMacErrMeta}, layer_of(B, *s, x));
    }
    {  // a metadata symbol above 15
      ws::Sparse24 B = L;
      auto s = make_streams(B);
      std::vector<uint8_t> nib = B.meta;
      nib[rng() % nib.size()] = 0x14;
      s->meta[0] = wp::make_meta_chunk(nib.data(), nib.size(), 6);
      s->meta_v[0] = s->meta[0].view;
      run_case({"metadata symbol above 15", ws::kWpBlkTop, ws::kWpErrMetaSymbol}, layer_of(B, *s, x));
    }
    {  // a partial value beat: the value chunk 2 values short (its decoder ends cleanly on a partial beat)
      auto s = make_streams(L);
      std::vector<uint8_t> bytes(L.values.size() * 2 - 4);
      std::memcpy(bytes.data(), L.values.data(), bytes.size());  // little-endian host
      ws::ChunkOptions opt;
      opt.lanes = 4;
      s->value_bytes[0] = ws::encode_chunk(bytes.data(), bytes.size() / 2, ws::DType::BF16, opt);
      s->values_v[0] = ws::parse_chunk(s->value_bytes[0].data(), s->value_bytes[0].size());
      run_case({"partial value beat", ws::kWpBlkTop, ws::kWpErrValuePartial}, layer_of(L, *s, x));
    }
    {  // a partial metadata beat: the metadata chunk one nibble short
      auto s = make_streams(L);
      s->meta[0] = wp::make_meta_chunk(L.meta.data(), L.meta.size() - 1, 6);
      s->meta_v[0] = s->meta[0].view;
      run_case({"partial metadata beat", ws::kWpBlkTop, ws::kWpErrMetaPartial}, layer_of(L, *s, x));
    }
    {  // value and metadata chunks of different beat counts: the value chunk one beat longer
      auto s = make_streams(L);
      std::vector<uint16_t> v = L.values;
      for (int i = 0; i < 4; ++i) v.push_back(0x3f80);
      ws::ChunkOptions opt;
      opt.lanes = 4;
      s->value_bytes[0] = ws::encode_chunk(reinterpret_cast<const uint8_t*>(v.data()), v.size(), ws::DType::BF16, opt);
      s->values_v[0] = ws::parse_chunk(s->value_bytes[0].data(), s->value_bytes[0].size());
      run_case({"value chunk one beat longer than metadata", ws::kWpBlkTop, ws::kWpErrChunkEnds}, layer_of(L, *s, x));
    }
    {  // value chunks of 8 rows, metadata chunks of 16: chunk pairs that do not cover the same rows
      auto s = make_streams(L, 8, 6, 16);
      run_case({"value and metadata chunks of different rows", ws::kWpBlkTop, ws::kWpErrChunkEnds}, layer_of(L, *s, x));
    }
    {  // a value chunk one beat short: its end meets a metadata beat that does not end its chunk
      auto s = make_streams(L);
      std::vector<uint16_t> v(L.values.begin(), L.values.end() - 4);
      ws::ChunkOptions opt;
      opt.lanes = 4;
      s->value_bytes[0] = ws::encode_chunk(reinterpret_cast<const uint8_t*>(v.data()), v.size(), ws::DType::BF16, opt);
      s->values_v[0] = ws::parse_chunk(s->value_bytes[0].data(), s->value_bytes[0].size());
      run_case({"value chunk one beat shorter than metadata", ws::kWpBlkTop, ws::kWpErrChunkEnds}, layer_of(L, *s, x));
    }
    {  // LAYER_BEATS short of the chunks: the layer ends inside its chunks
      auto s = make_streams(L);
      wp::Layer l = layer_of(L, *s, x);
      l.rows = L.rows - 1;
      run_case({"layer ends inside its chunks", ws::kWpBlkTop, ws::kWpErrLayerEnd}, l);
    }
    {  // a bit flipped in the value symbol stream: the decoder's cause, as ws::tans::decode names it
      auto s = make_streams(L);
      std::vector<uint8_t>& b = s->value_bytes[0];
      ws::ChunkView v = ws::parse_chunk(b.data(), b.size());
      const size_t at = size_t(v.symbol_stream - b.data()) + rng() % v.symbol_bytes;
      b[at] ^= uint8_t(1u << (rng() % 8));
      v = ws::parse_chunk(b.data(), b.size());
      std::vector<uint8_t> out(v.value_count);
      int cause = 0;
      try {
        ws::tans::decode(v.symbol_stream, v.symbol_bytes, ws::tans::build_decode_table(v.counts), v.counts.table_log,
                         4, v.initial_states.data(), out.data(), out.size());
      } catch (const ws::FormatError& e) {
        cause = tans_cause(e.what());
      }
      s->values_v[0] = v;
      if (cause > 0) run_case({"value stream bit flip", ws::kWpBlkValueDec, cause}, layer_of(L, *s, x));
    }
    {  // the value symbol stream cut by its last word
      auto s = make_streams(L);
      s->values_v[0].symbol_bytes -= 4;
      run_case({"value stream truncated", ws::kWpBlkValueDec, -1}, layer_of(L, *s, x));
    }
    {  // the raw stream cut by its last word: the unpacker runs out
      auto s = make_streams(L);
      s->values_v[0].raw_bytes -= 4;
      run_case({"raw stream truncated", ws::kWpBlkUnpacker, ws::kNumErrRunsOut}, layer_of(L, *s, x));
    }
    {  // a word flipped in the metadata stream
      auto s = make_streams(L);
      ws::ChunkView& v = s->meta_v[0];
      std::vector<uint8_t>& b = s->meta[0].stream;
      b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
      std::vector<uint8_t> out(v.value_count);
      int cause = 0;
      try {
        ws::tans::decode(v.symbol_stream, v.symbol_bytes, ws::tans::build_decode_table(v.counts), v.counts.table_log,
                         2, v.initial_states.data(), out.data(), out.size());
      } catch (const ws::FormatError& e) {
        cause = tans_cause(e.what());
      }
      if (cause > 0) run_case({"metadata stream bit flip", ws::kWpBlkMetaDec, cause}, layer_of(L, *s, x));
    }
    {  // the metadata stream cut by its last word
      auto s = make_streams(L);
      s->meta_v[0].symbol_bytes -= 4;
      run_case({"metadata stream truncated", ws::kWpBlkMetaDec, -1}, layer_of(L, *s, x));
    }
  }
  std::printf("%s errors: %llu malformed layers, %llu flagged with the expected cause\n", tb::seed_text().c_str(),
              (unsigned long long)cases, (unsigned long long)flagged);
  EXPECT_EQ(flagged, cases);
  EXPECT_EQ(tot.cycle_mismatches, 0u);
  EXPECT_EQ(tot.value_mismatches, 0u);
}

TEST(WeightPipelineErrors, BadConfigurationWrites) {
  // Unknown addresses, LAYER_BEATS 0, and a format entry the unpacker refuses.
  std::mt19937_64 rng(tb::seed() ^ 0xcf9);
  wp::Driver drv(tb::waves_path("WeightPipelineErrors.BadConfigurationWrites"));
  Totals tot;
  const ws::Sparse24 L = random_layer(3, 16, rng);
  const std::vector<uint16_t> x = gaussian_x(16, rng);
  struct C {
    const char* name;
    uint32_t addr, data;
    int block, cause;
  };
  const C cases[] = {
      {"unknown region", 0x5000, 1, ws::kWpBlkTop, ws::kWpErrConfig},
      {"unknown top register", ws::kWpRegTop | 1, 1, ws::kWpBlkTop, ws::kWpErrConfig},
      {"LAYER_BEATS 0", ws::kWpLayerBeatsAddr, 0, ws::kWpBlkTop, ws::kWpErrConfig},
      {"LAYER_BEATS too large", ws::kWpLayerBeatsAddr, 1u << 24, ws::kWpBlkTop, ws::kWpErrConfig},
      {"region 15", 0xf000, 0, ws::kWpBlkTop, ws::kWpErrConfig},
      {"meta table offset past 2^8", ws::kWpRegMeta | 0x100, 0, ws::kWpBlkTop, ws::kWpErrConfig},
      {"unpacker offset 257", ws::kWpRegUnp | 257, 0, ws::kWpBlkTop, ws::kWpErrConfig},
      {"unpacker entry class 7", ws::kWpRegUnp | 9, 7, ws::kWpBlkUnpacker, ws::kNumErrBadCfg},
      {"MAC address 1", ws::kWpRegMac | 1, 0, ws::kWpBlkMac, ws::kMacErrConfig},
      {"value table entry nb_bits 13", ws::kWpRegValue | 3, 13u << 8, ws::kWpBlkValueDec, 6},
  };
  for (const C& c : cases) {
    drv.reset();
    auto s = make_streams(L);
    const wp::Result good = drv.run({layer_of(L, *s, x)}, wp::Traffic{});  // loads the format table
    check_layers(good, {&L}, {x}, tot, c.name);
    // The write alone, then a layer: the error is sticky and the layer's streams drain.
    wp::Layer l = layer_of(L, *s, x);
    l.cfg_before.push_back({c.addr, c.data});
    const wp::Result r = drv.run({l}, random_traffic(rng));
    expect_error(r, {c.name, c.block, c.cause}, tot);
  }
  EXPECT_EQ(tot.cycle_mismatches, 0u);
}

}  // namespace
