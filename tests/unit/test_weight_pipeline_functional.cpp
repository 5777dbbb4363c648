// The functional model of the weight pipeline (hw/weight_pipeline_functional.hpp) against the golden
// model of the MAC arrays' arithmetic (ws::sparse_matvec, ws::dense_matvec: integer-only bf16 products
// and fp32 sums in the arrays' order): 0 mismatches on real layers (every linear matrix of stories260K,
// dense and pruned 2:4 under a random permutation; SmolLM2's layer-0 matrices, dense) and on random
// layers of extreme values (zeros of both signs, infinities, NaNs, subnormals, cancelling pairs), each
// from compressed chunks as the container holds them; threads give the same y.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/sparse24.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bf16.hpp"
#include "core/threads.hpp"
#include "hw/mac_array_model.hpp"
#include "hw/weight_pipeline_functional.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "prune/magnitude.hpp"

#include "smollm2_reference.hpp"
#include "test_env.hpp"

namespace {

// Chunks of a value sequence (bf16 bits), each `per_chunk` values (the last one shorter), 4 lanes.
struct Chunks {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<ws::ChunkView> views;
};
Chunks value_chunks(const std::vector<uint16_t>& v, size_t per_chunk, int lanes = 4, ws::DType t = ws::DType::BF16) {
  Chunks c;
  ws::ChunkOptions opt;
  opt.lanes = lanes;
  const size_t width = t == ws::DType::Raw ? 1 : 2;
  for (size_t at = 0; at < v.size(); at += per_chunk) {
    const size_t n = std::min(per_chunk, v.size() - at);
    std::vector<uint8_t> b(n * width);
    for (size_t i = 0; i < n; ++i) {
      b[width * i] = uint8_t(v[at + i]);
      if (width == 2) b[2 * i + 1] = uint8_t(v[at + i] >> 8);
    }
    c.bytes.push_back(ws::encode_chunk(b.data(), n, t, opt));
  }
  for (const auto& b : c.bytes) c.views.push_back(ws::parse_chunk(b.data(), b.size()));
  return c;
}

uint16_t extreme(std::mt19937_64& rng) {
  static const uint16_t pick[] = {0x0000, 0x8000, 0x7f80, 0xff80, 0x7fc0, 0xffc1, 0x0001, 0x8001, 0x007f,
                                  0x0080, 0x7f7f, 0xff7f, 0x7f00, 0x3f80, 0xbf80, 0x3f81};
  switch (rng() % 4) {
    case 0: return pick[rng() % (sizeof pick / sizeof pick[0])];
    case 1: return uint16_t(rng());
    case 2: return uint16_t((rng() & 0x8000) | (0x3f00 + (rng() % 0x200)));
    default: return uint16_t((rng() & 0x807f) | ((rng() % 3) << 7));
  }
}

struct Count {
  uint64_t values = 0, mismatches = 0;
  void compare(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t i = 0; i < want.size(); ++i) {
      ++values;
      if (got[i] != want[i] && mismatches++ < 5)
        ADD_FAILURE() << what << " row " << i << ": " << std::hex << got[i] << " want " << want[i] << " "
                      << wsenv::seed_text();
    }
  }
};

// A dense layer through the functional model (2 threads when pool) against ws::dense_matvec (L = 4).
void check_dense(const std::vector<uint16_t>& w, int rows, int k, const std::vector<uint16_t>& x, size_t per_chunk,
                 Count& c, const std::string& what, ws::ThreadPool* pool = nullptr) {
  const Chunks ch = value_chunks(w, per_chunk);
  const ws::PipelineLayer L = ws::dense_pipeline_layer(ch.views, rows, k, x);
  c.compare(ws::weight_pipeline_y(L, pool, pool ? 2 : 1), ws::dense_matvec(w, rows, k, x, ws::MacMode::Bf16, 4), what);
}

// A 2:4 layer (packed, padded to K8) against ws::sparse_matvec (G = 2).
void check_sparse(const ws::Sparse24& P, const std::vector<uint16_t>& x, int chunk_rows, Count& c, const std::string& what) {
  const size_t vpr = size_t(P.cols) / 2, mpr = size_t(P.cols) / 4;
  const Chunks v = value_chunks(P.values, vpr * size_t(chunk_rows));
  std::vector<uint16_t> meta(P.meta.begin(), P.meta.end());
  const Chunks m = value_chunks(meta, mpr * size_t(chunk_rows), 2, ws::DType::Raw);
  const ws::PipelineLayer L = ws::sparse24_pipeline_layer(P, v.views, m.views, x);
  c.compare(ws::weight_pipeline_y(L), ws::sparse_matvec(P, x, ws::MacMode::Bf16, 2), what);
}

std::vector<uint16_t> gaussian(size_t n, std::mt19937_64& rng, float sd = 1.0f) {
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<uint16_t> x(n);
  for (auto& v : x) v = ws::fp32_to_bf16(nd(rng));
  return x;
}

TEST(WeightPipelineFunctional, Stories260KDenseAnd24EqualsTheGoldenModel) {
  std::mt19937_64 rng(wstest::seed());
  const ws::LlamaWeights w = ws::load_llama(wstest::stories_path());
  Count dense, sparse;
  ws::ThreadPool pool(1);
  for (int k = 0; k < ws::kLayerLinears; ++k)
    for (int l = 0; l < w.config.n_layers; ++l) {
      const auto kind = ws::LinearKind(k);
      const int rows = ws::linear_out(w.config, kind), cols = ws::linear_in(w.config, kind);
      const size_t n = size_t(rows) * size_t(cols);
      const std::vector<float> m(w.linear[size_t(k)].begin() + long(l * n), w.linear[size_t(k)].begin() + long((l + 1) * n));
      const std::vector<uint16_t> b = ws::fp32_to_bf16(m);
      const std::string what = std::string(ws::linear_name(kind)) + "[" + std::to_string(l) + "]";
      check_dense(b, rows, cols, gaussian(size_t(cols), rng), 4 * (1 + rng() % 600), dense, what + " dense",
                  l % 2 ? &pool : nullptr);
      std::vector<int32_t> perm = ws::identity_perm(cols);
      std::shuffle(perm.begin(), perm.end(), rng);
      const std::vector<uint16_t> pb = ws::fp32_to_bf16(ws::prune24_magnitude(m, rows, cols, perm));
      const ws::Sparse24 P = ws::pad_sparse24_cols(ws::pack_sparse24(pb, rows, cols, ws::MacMode::Bf16, perm), 8);
      std::vector<uint16_t> x = gaussian(size_t(cols), rng);
      x.resize(size_t(P.cols), 0);
      check_sparse(P, x, int(1 + rng() % rows), sparse, what + " 2:4");
    }
  std::printf("%s stories260K 35 matrices: dense %llu y values, %llu mismatches; 2:4 %llu y values, %llu mismatches\n",
              wsenv::seed_text().c_str(), (unsigned long long)dense.values, (unsigned long long)dense.mismatches,
              (unsigned long long)sparse.values, (unsigned long long)sparse.mismatches);
  EXPECT_EQ(dense.mismatches, 0u);
  EXPECT_EQ(sparse.mismatches, 0u);
}

TEST(WeightPipelineFunctional, ExtremeValuesEqualTheGoldenModel) {
  std::mt19937_64 rng(wstest::seed() ^ 0xe7);
  Count dense, sparse;
  static const uint8_t metas[] = {0x4, 0x8, 0xC, 0x9, 0xD, 0xE};
  const int n = int(wsenv::depth(200, 4000));
  for (int i = 0; i < n; ++i) {
    const int rows = int(1 + rng() % 24), k = 8 * int(1 + rng() % 40);
    std::vector<uint16_t> w(size_t(rows) * size_t(k)), x(static_cast<size_t>(k));
    for (size_t j = 0; j < w.size(); ++j) w[j] = j > 0 && rng() % 4 == 0 ? uint16_t(w[j - 1] ^ 0x8000) : extreme(rng);
    for (auto& v : x) v = rng() % 3 ? ws::fp32_to_bf16(std::normal_distribution<float>(0, 4)(rng)) : extreme(rng);
    check_dense(w, rows, k, x, 4 * (1 + rng() % 100), dense, "random dense " + std::to_string(i));
    ws::Sparse24 P;
    P.rows = rows;
    P.cols = k;
    P.perm = ws::identity_perm(k);
    std::shuffle(P.perm.begin(), P.perm.end(), rng);
    for (int g = 0; g < rows * k / 4; ++g) {
      P.meta.push_back(metas[rng() % 6]);
      P.values.push_back(extreme(rng));
      P.values.push_back(rng() % 4 ? extreme(rng) : uint16_t(P.values.back() ^ 0x8000));
    }
    check_sparse(P, x, int(1 + rng() % rows), sparse, "random 2:4 " + std::to_string(i));
  }
  std::printf("%s %d random layers: dense %llu y values, %llu mismatches; 2:4 %llu y values, %llu mismatches\n",
              wsenv::seed_text().c_str(), n, (unsigned long long)dense.values, (unsigned long long)dense.mismatches,
              (unsigned long long)sparse.values, (unsigned long long)sparse.mismatches);
  EXPECT_EQ(dense.mismatches, 0u);
  EXPECT_EQ(sparse.mismatches, 0u);
}

TEST(WeightPipelineFunctional, SmolLM2Layer0DenseEqualsTheGoldenModel) {
  // SmolLM2's 7 layer-0 matrices (576 and 1536 wide), dequantized and rounded to bf16, in the
  // container's chunk size (65536 values rounded down to whole rows).
  std::mt19937_64 rng(wstest::seed() ^ 0x5e0);
  const ws::LlamaWeights w = ws::load_llama(wstest::smollm2());
  Count dense;
  ws::ThreadPool pool(1);
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    const auto kind = ws::LinearKind(k);
    const int rows = ws::linear_out(w.config, kind), cols = ws::linear_in(w.config, kind);
    const std::vector<uint16_t> b = ws::fp32_to_bf16(w.linear[size_t(k)].data(), size_t(rows) * size_t(cols));
    check_dense(b, rows, cols, gaussian(size_t(cols), rng, 2.0f), 65536 / size_t(cols) * size_t(cols), dense,
                std::string(ws::linear_name(kind)) + "[0]", &pool);
  }
  std::printf("%s SmolLM2 layer 0, 7 matrices dense: %llu y values, %llu mismatches\n", wsenv::seed_text().c_str(),
              (unsigned long long)dense.values, (unsigned long long)dense.mismatches);
  EXPECT_EQ(dense.mismatches, 0u);
}

}  // namespace
