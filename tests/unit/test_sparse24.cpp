// 2:4 packing, validation, magnitude pruning and the input-channel permutation (codec/sparse24.hpp), and
// the functional matvec models of the sparse and dense arrays (hw/mac_array_model.hpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "codec/sparse24.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "hw/mac_array_model.hpp"
#include "prune/magnitude.hpp"
#include "prune/shuffle.hpp"

#include "test_env.hpp"

namespace {

using wstest::seed;

using ws::MacMode;


std::vector<int32_t> random_perm(int n, std::mt19937_64& rng) {
  std::vector<int32_t> p = ws::identity_perm(n);
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

// A random W (original channel order) that is 2:4 under perm, with small non-zero integer values
// (as int8 lanes, or as bf16 of the same integers).
std::vector<int> random_sparse_ints(int rows, int cols, const std::vector<int32_t>& perm, std::mt19937_64& rng) {
  std::vector<int> w(size_t(rows) * cols, 0);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < cols / 4; ++g) {
      const int nz = int(rng() % 3);  // 0, 1 or 2 non-zeros
      std::vector<int> pos = {0, 1, 2, 3};
      std::shuffle(pos.begin(), pos.end(), rng);
      for (int k = 0; k < nz; ++k) {
        int v = int(rng() % 255) - 127;
        if (v == 0) v = 1;
        w[size_t(r) * cols + size_t(perm[size_t(4 * g + pos[size_t(k)])])] = v;
      }
    }
  return w;
}

uint16_t int_lane(MacMode mode, int v) {
  if (mode == MacMode::Int8) return uint16_t(v & 0xFF);
  float f = float(v);
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return ws::fp32_bits_to_bf16(b);
}

TEST(Sparse24, MetadataConvention) {
  int valid = 0;
  for (int m = 0; m < 16; ++m) valid += ws::sparse24_meta_valid(uint8_t(m));
  EXPECT_EQ(valid, 6);
  EXPECT_EQ(ws::sparse24_meta(0, 1), 0x4);
  EXPECT_EQ(ws::sparse24_meta(2, 3), 0xE);
  EXPECT_FALSE(ws::sparse24_meta_valid(ws::sparse24_meta(1, 1)));
  EXPECT_FALSE(ws::sparse24_meta_valid(ws::sparse24_meta(3, 0)));
}

TEST(Sparse24, CanonicalFormOfSparseGroups) {
  // Row 0: all zero -> (0, 1); one non-zero at 3 -> (0, 3); at 0 -> (0, 1); two at 1 and 2 -> (1, 2).
  const std::vector<uint16_t> w = {0, 0, 0, 0, 0, 0, 0, 9, 7, 0, 0, 0, 0, 5, 6, 0};
  const ws::Sparse24 L = ws::pack_sparse24(w, 1, 16, MacMode::Int8);
  ASSERT_EQ(L.meta.size(), 4u);
  EXPECT_EQ(L.meta[0], ws::sparse24_meta(0, 1));
  EXPECT_EQ(L.meta[1], ws::sparse24_meta(0, 3));
  EXPECT_EQ(L.meta[2], ws::sparse24_meta(0, 1));
  EXPECT_EQ(L.meta[3], ws::sparse24_meta(1, 2));
  EXPECT_EQ(L.values, (std::vector<uint16_t>{0, 0, 0, 9, 7, 0, 5, 6}));
  EXPECT_EQ(ws::unpack_sparse24(L), w);
}

TEST(Sparse24, BothZerosAreZeroInBf16) {
  // -0.0 (0x8000) counts as zero, so this group has 2 non-zeros, not 3.
  const std::vector<uint16_t> w = {0x8000, 0x3F80, 0x0000, 0x4000};
  const ws::Sparse24 L = ws::pack_sparse24(w, 1, 4, MacMode::Bf16);
  EXPECT_EQ(L.meta[0], ws::sparse24_meta(1, 3));
  // In INT8 mode only bits 7:0 count: 0x8000 is zero there too, 0x0100 as well.
  EXPECT_NO_THROW(ws::pack_sparse24({0x0100, 1, 0, 2}, 1, 4, MacMode::Int8));
}

TEST(Sparse24, TooManyNonZerosNamesRowAndGroup) {
  std::vector<uint16_t> w(3 * 8, 0);
  w[2 * 8 + 4] = w[2 * 8 + 5] = w[2 * 8 + 7] = 1;  // row 2, group 1: three non-zeros
  try {
    ws::pack_sparse24(w, 3, 8, MacMode::Int8);
    FAIL() << "no error";
  } catch (const ws::FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("row 2 group 1"), std::string::npos) << e.what();
  }
  // The same matrix is fine when the permutation spreads the channels over both groups.
  EXPECT_THROW(ws::pack_sparse24(w, 3, 8, MacMode::Int8, {0, 1, 2, 3, 4, 5, 6, 7}), ws::FormatError);
  EXPECT_NO_THROW(ws::pack_sparse24(w, 3, 8, MacMode::Int8, {4, 0, 1, 2, 5, 7, 3, 6}));
}

TEST(Sparse24, ValidationRejectsBadLayers) {
  std::mt19937_64 rng(seed());
  const std::vector<int32_t> perm = random_perm(8, rng);
  std::vector<uint16_t> w(2 * 8);
  const std::vector<int> iw = random_sparse_ints(2, 8, perm, rng);
  for (size_t i = 0; i < w.size(); ++i) w[i] = int_lane(MacMode::Int8, iw[i]);
  ws::Sparse24 L = ws::pack_sparse24(w, 2, 8, MacMode::Int8, perm);
  EXPECT_NO_THROW(ws::validate_sparse24(L));
  for (uint8_t bad : {0x0, 0x1, 0x5, 0x6, 0xB, 0xF}) {  // idx0 >= idx1
    ws::Sparse24 B = L;
    B.meta[3] = bad;  // row 1, group 1
    try {
      ws::validate_sparse24(B);
      FAIL() << "meta " << int(bad) << " accepted";
    } catch (const ws::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("row 1 group 1"), std::string::npos) << e.what();
    }
  }
  ws::Sparse24 P = L;
  P.perm[0] = P.perm[1];
  EXPECT_THROW(ws::validate_sparse24(P), ws::FormatError);
  P.perm[0] = 8;
  EXPECT_THROW(ws::validate_sparse24(P), ws::FormatError);
  EXPECT_THROW(ws::pack_sparse24(std::vector<uint16_t>(6), 1, 6, MacMode::Int8), ws::FormatError);
}

TEST(Sparse24, PackUnpackRoundTripWithPermutation) {
  std::mt19937_64 rng(seed());
  for (int t = 0; t < 50; ++t) {
    const int rows = 1 + int(rng() % 9), cols = 4 * (1 + int(rng() % 12));
    const std::vector<int32_t> perm = random_perm(cols, rng);
    const std::vector<int> iw = random_sparse_ints(rows, cols, perm, rng);
    for (MacMode mode : {MacMode::Int8, MacMode::Bf16}) {
      std::vector<uint16_t> w(iw.size());
      for (size_t i = 0; i < w.size(); ++i) w[i] = int_lane(mode, iw[i]);
      const ws::Sparse24 L = ws::pack_sparse24(w, rows, cols, mode, perm);
      ws::validate_sparse24(L);
      ASSERT_EQ(ws::unpack_sparse24(L), w);
      // The packed column j holds W[:, perm[j]].
      for (int r = 0; r < rows; ++r)
        for (int g = 0; g < cols / 4; ++g) {
          const uint8_t m = L.meta_at(r, g);
          ASSERT_EQ(L.value(r, g, 1), w[size_t(r) * cols + size_t(perm[size_t(4 * g + ws::sparse24_idx1(m))])]);
        }
    }
  }
}

TEST(Sparse24, MagnitudeMaskKeepsTwoLargest) {
  const std::vector<float> w = {0.5f, -3.0f, 2.0f, 0.1f,   // keep -3, 2
                                1.0f, -1.0f, 1.0f, 0.0f,   // ties: keep the two lowest columns
                                0.0f, 0.0f, 0.0f, -0.0f};  // nothing to keep
  const std::vector<float> p = ws::prune24_magnitude(w, 1, 12);
  EXPECT_EQ(p, (std::vector<float>{0, -3.0f, 2.0f, 0, 1.0f, -1.0f, 0, 0, 0, 0, 0, 0}));
  // Under a permutation the groups are formed over W[:, perm].
  const std::vector<int32_t> perm = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  const std::vector<float> q = ws::prune24_magnitude(w, 1, 12, perm);
  // Group 0 of W' = W[0], W[4], W[8], W[1] = 0.5, 1, 0, -3 -> keep 1 and -3.
  EXPECT_EQ(q[4], 1.0f);
  EXPECT_EQ(q[1], -3.0f);
  EXPECT_EQ(q[0], 0.0f);
  std::vector<float> nan_w(4, 1.0f);
  nan_w[2] = std::nanf("");
  EXPECT_THROW(ws::prune24_magnitude(nan_w, 1, 4), ws::FormatError);
}

TEST(Sparse24, MatvecThroughPermutationEqualsWx) {
  // Small integer weights and activations keep every bf16 product and every fp32 partial sum exact,
  // so both modes must give exactly W x computed in plain integers, whatever the order.
  std::mt19937_64 rng(seed());
  uint64_t checked = 0;
  for (int t = 0; t < 40; ++t) {
    const int G = 1 << int(rng() % 3);
    const int rows = 1 + int(rng() % 8), cols = 4 * G * (1 + int(rng() % 6));
    const std::vector<int32_t> perm = random_perm(cols, rng);
    const std::vector<int> iw = random_sparse_ints(rows, cols, perm, rng);
    std::vector<int> ix(static_cast<size_t>(cols));
    for (int& v : ix) v = int(rng() % 255) - 127;
    for (MacMode mode : {MacMode::Int8, MacMode::Bf16}) {
      std::vector<uint16_t> w(iw.size()), x(ix.size());
      for (size_t i = 0; i < w.size(); ++i) w[i] = int_lane(mode, iw[i]);
      for (size_t i = 0; i < x.size(); ++i) x[i] = int_lane(mode, ix[i]);
      const ws::Sparse24 L = ws::pack_sparse24(w, rows, cols, mode, perm);
      const std::vector<uint32_t> ys = ws::sparse_matvec(L, x, mode, G);
      const std::vector<uint32_t> yd = ws::dense_matvec(w, rows, cols, x, mode, 2 * G);
      for (int r = 0; r < rows; ++r) {
        int64_t want = 0;
        for (int j = 0; j < cols; ++j) want += int64_t(iw[size_t(r) * cols + j]) * ix[size_t(j)];
        uint32_t want_bits;
        if (mode == MacMode::Int8) {
          want_bits = uint32_t(want);
        } else {
          float f = float(want);
          std::memcpy(&want_bits, &f, 4);
          if (want == 0) want_bits = 0;  // +0: the array never returns -0 from an exact zero sum
        }
        ASSERT_EQ(ys[size_t(r)], want_bits) << "sparse, mode " << int(mode) << " row " << r;
        ASSERT_EQ(yd[size_t(r)], want_bits) << "dense, mode " << int(mode) << " row " << r;
        checked += 2;
      }
    }
  }
  std::printf("matvec == W x: %llu values checked, 0 mismatches (TB_SEED=%llu)\n", (unsigned long long)checked,
              (unsigned long long)seed());
}

TEST(Sparse24, PaddingKeepsTheResult) {
  std::mt19937_64 rng(seed());
  const int rows = 3, cols = 12;
  const std::vector<int32_t> perm = random_perm(cols, rng);
  const std::vector<int> iw = random_sparse_ints(rows, cols, perm, rng);
  std::vector<uint16_t> w(iw.size()), x(static_cast<size_t>(cols));
  for (size_t i = 0; i < w.size(); ++i) w[i] = int_lane(MacMode::Int8, iw[i]);
  for (auto& v : x) v = uint16_t(rng() & 0xFF);
  const ws::Sparse24 L = ws::pack_sparse24(w, rows, cols, MacMode::Int8, perm);
  const ws::Sparse24 P = ws::pad_sparse24_cols(L, 16);
  ASSERT_EQ(P.cols, 16);
  ws::validate_sparse24(P);
  std::vector<uint16_t> xp = x;
  xp.resize(16, 0);
  EXPECT_EQ(ws::sparse_matvec(P, xp, MacMode::Int8, 4), ws::sparse_matvec(L, x, MacMode::Int8, 1));
}

TEST(Sparse24, RealLayersOfStories260K) {
  // Every weight matrix of the real model: prune 2:4 by magnitude (identity and a random channel
  // permutation), round to bf16, pack, validate, unpack; exactly half of each group survives
  // unless the weights were already zero.
  const std::string path = std::string(WS_DATA_DIR) + "/stories260K.bin";
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "missing " << path;
  int32_t hdr[7];
  f.read(reinterpret_cast<char*>(hdr), sizeof hdr);
  const int dim = hdr[0], hidden = hdr[1], layers = hdr[2], heads = hdr[3], kv_heads = hdr[4], vocab = std::abs(hdr[5]);
  const int kv_dim = dim * kv_heads / heads;
  std::vector<float> all((1056540 - 28) / 4);
  f.read(reinterpret_cast<char*>(all.data()), std::streamsize(all.size() * 4));
  ASSERT_TRUE(f);
  size_t at = size_t(vocab) * dim + size_t(layers) * dim;  // after token_embedding, rms_att
  struct M { const char* name; int rows, cols; size_t off; };
  std::vector<M> mats;
  auto take = [&](const char* n, int r, int c) {
    for (int l = 0; l < layers; ++l) mats.push_back({n, r, c, at + size_t(l) * r * c});
    at += size_t(layers) * r * c;
  };
  take("wq", dim, dim);
  take("wk", kv_dim, dim);
  take("wv", kv_dim, dim);
  take("wo", dim, dim);
  at += size_t(layers) * dim;  // rms_ffn
  take("w1", hidden, dim);
  take("w2", dim, hidden);
  take("w3", hidden, dim);
  std::mt19937_64 rng(seed());
  size_t weights = 0, kept = 0;
  for (const M& m : mats) {
    std::vector<float> w(all.begin() + long(m.off), all.begin() + long(m.off + size_t(m.rows) * m.cols));
    for (int use_perm = 0; use_perm < 2; ++use_perm) {
      const std::vector<int32_t> perm = use_perm ? random_perm(m.cols, rng) : ws::identity_perm(m.cols);
      const std::vector<float> p = ws::prune24_magnitude(w, m.rows, m.cols, perm);
      std::vector<uint16_t> lanes(p.size());
      for (size_t i = 0; i < p.size(); ++i) {
        uint32_t b;
        std::memcpy(&b, &p[i], 4);
        lanes[i] = ws::fp32_bits_to_bf16(b);
      }
      const ws::Sparse24 L = ws::pack_sparse24(lanes, m.rows, m.cols, MacMode::Bf16, perm);
      ws::validate_sparse24(L);
      ASSERT_EQ(ws::unpack_sparse24(L), lanes) << m.name;
      for (size_t i = 0; i < p.size(); ++i) kept += p[i] != 0.0f;
      weights += p.size();
      // The kept values are the largest: no pruned |w| exceeds the smaller kept |w| of its group.
      for (int r = 0; r < m.rows; ++r)
        for (int g = 0; g < m.cols / 4; ++g) {
          float min_kept = INFINITY, max_pruned = 0;
          for (int i = 0; i < 4; ++i) {
            const size_t k = size_t(r) * m.cols + size_t(perm[size_t(4 * g + i)]);
            if (p[k] != 0.0f) min_kept = std::min(min_kept, std::fabs(w[k]));
            else max_pruned = std::max(max_pruned, std::fabs(w[k]));
          }
          ASSERT_LE(max_pruned, min_kept) << m.name << " row " << r << " group " << g;
        }
    }
  }
  std::printf("stories260K: %zu matrices x 2 permutations, %zu weights, %zu kept (%.4f)\n", mats.size(), weights,
              kept, double(kept) / double(weights));
  EXPECT_EQ(mats.size(), size_t(7 * layers));
  EXPECT_NEAR(double(kept) / double(weights), 0.5, 0.001);
}

}  // namespace
