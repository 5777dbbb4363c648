// What the MAC array bench feeds the arrays: jobs (one matrix with its configuration, activations,
// weight beats and expected results from the functional model), random values with extremes, and
// the real layers of stories260K with real input vectors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "codec/sparse24.hpp"
#include "core/bf16.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"
#include "hw/mac_array_model.hpp"
#include "prune/magnitude.hpp"
#include "tb.hpp"

namespace tbmac {

using ws::Bits;
using ws::MacArrayKind;
using ws::MacArrayParams;
using ws::MacMode;

// One matrix on the array, with its configuration and activations.
struct Job {
  MacMode mode = MacMode::Int8;
  int row_beats = 1;
  std::vector<std::pair<uint32_t, uint32_t>> cfg;  // (addr, data) writes before the activations
  std::vector<uint16_t> x;                         // activations, act_last on the final one
  std::vector<Bits> beats;                         // weight beats, w_last on the final one
  std::vector<Bits> expect;                        // output beats (rows words each)
  bool check_values = true;  // false: error tests, compared with the cycle model only
  bool clear_error = false;  // pulse err_clear_i once the job's weights are due and err_o is up
  int w_last_at = -1;        // >= 0: w_last on this beat instead (frame error)
};

inline std::vector<Bits> result_beats(const std::vector<uint32_t>& y, int rows) {
  std::vector<Bits> out;
  for (size_t r = 0; r < y.size(); r += size_t(rows)) out.emplace_back(y.begin() + long(r), y.begin() + long(r) + rows);
  return out;
}

// A sparse job: weights 2:4 under perm (built from the original channel order).
inline Job sparse_job(const MacArrayParams& p, MacMode mode, int rows, int cols, const std::vector<uint16_t>& w_orig,
                      const std::vector<int32_t>& perm, const std::vector<uint16_t>& x) {
  Job j;
  j.mode = mode;
  j.row_beats = cols / p.cols_per_beat();
  const ws::Sparse24 L = ws::pack_sparse24(w_orig, rows, cols, mode, perm);
  j.cfg.push_back({0u, ws::mac_ctrl_word(mode, j.row_beats)});
  for (int c = 0; c < cols; ++c) j.cfg.push_back({ws::mac_perm_addr(p, c), uint32_t(L.perm[size_t(c)])});
  j.x = x;
  j.beats = ws::sparse_weight_beats(L, p);
  j.expect = result_beats(ws::sparse_matvec(L, x, mode, p.groups_per_cycle), p.rows);
  return j;
}

inline Job dense_job(const MacArrayParams& p, MacMode mode, int rows, int cols, const std::vector<uint16_t>& w,
                     const std::vector<uint16_t>& x) {
  Job j;
  j.mode = mode;
  j.row_beats = cols / p.cols_per_beat();
  j.cfg.push_back({0u, ws::mac_ctrl_word(mode, j.row_beats)});
  j.x = x;
  j.beats = ws::dense_weight_beats(w, rows, cols, p);
  j.expect = result_beats(ws::dense_matvec(w, rows, cols, x, mode, p.lanes()), p.rows);
  return j;
}

// Value flavours: 0 ordinary, 1 extremes (any bits, +-0, +-inf, NaN, subnormals, max finite, near
// overflow, near underflow), 2 cancellation-prone (a few magnitudes, both signs).
inline uint16_t rand_bf16(std::mt19937_64& rng, int flavour) {
  const uint16_t sign = uint16_t((rng() & 1u) << 15);
  if (flavour == 2) {
    static const uint16_t mags[] = {0x3F80, 0x4000, 0x3F81, 0x3F7F, 0x4B00, 0x3400};
    return sign | mags[rng() % 6];
  }
  if (flavour == 1) {
    switch (rng() % 10) {
      case 0: return uint16_t(rng());
      case 1: return sign;                                                        // +-0
      case 2: return sign | 0x7F80;                                               // +-inf
      case 3: return uint16_t(0x7F80 | (1 + rng() % 127)) | sign;                 // NaN, any payload
      case 4: return sign | uint16_t(rng() % 128);                                // subnormal
      case 5: return sign | 0x7F7F;                                               // max finite
      case 6: return sign | uint16_t((240 + rng() % 15) << 7 | (rng() % 128));    // near overflow
      case 7: return sign | uint16_t((1 + rng() % 40) << 7 | (rng() % 128));      // near underflow
      default: break;
    }
  }
  return sign | uint16_t((118 + rng() % 20) << 7 | (rng() % 128));
}

inline uint16_t rand_int8(std::mt19937_64& rng, int flavour) {
  const uint16_t junk = uint16_t((rng() & 0xFFu) << 8);  // bits 15:8 must be ignored
  if (flavour == 1) {
    static const int ext[] = {-128, 127, -127, -1, 0, 1};
    return junk | uint16_t(ext[rng() % 6] & 0xFF);
  }
  return junk | uint16_t(rng() & 0xFFu);
}

inline uint16_t rand_lane(std::mt19937_64& rng, MacMode mode, int flavour) {
  return mode == MacMode::Bf16 ? rand_bf16(rng, flavour) : rand_int8(rng, flavour);
}

// A random job for the array p: random shape within the array's limits (rows shorter and longer
// than the 16 partial sums, up to MaxK columns), random permutation, random values.
inline Job random_job(const MacArrayParams& p, MacMode mode, std::mt19937_64& rng) {
  const int flavour = int(rng() % 3);
  const int max_beats = p.max_row_beats();
  int beats = 1 + int(rng() % uint64_t(std::min(max_beats, 40)));
  if (rng() % 4 == 0) beats = std::min(max_beats, 1 + int(rng() % 256));
  const int cols = beats * p.cols_per_beat();
  const int rows = p.rows * (1 + int(rng() % 16));  // enough rows per setup for the long run
  std::vector<uint16_t> x(static_cast<size_t>(cols));
  for (auto& v : x) v = rand_lane(rng, mode, flavour);
  std::vector<uint16_t> w(size_t(rows) * cols, 0);
  if (p.kind == MacArrayKind::Dense) {
    for (auto& v : w) v = rng() % 4 == 0 ? 0 : rand_lane(rng, mode, flavour);
    return dense_job(p, mode, rows, cols, w, x);
  }
  std::vector<int32_t> perm = ws::identity_perm(cols);
  if (rng() % 2) std::shuffle(perm.begin(), perm.end(), rng);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < cols / 4; ++g) {
      int pos[4] = {0, 1, 2, 3};
      std::shuffle(pos, pos + 4, rng);
      const int nz = rng() % 8 == 0 ? int(rng() % 2) : 2;
      for (int k = 0; k < nz; ++k)
        w[size_t(r) * cols + size_t(perm[size_t(4 * g + pos[k])])] = rand_lane(rng, mode, flavour);
    }
  return sparse_job(p, mode, rows, cols, w, perm, x);
}

// ---------------------------------------------------------------------------------------------
// Real layers: every weight matrix of stories260K (../shared/data/README.md).

struct RealLayer {
  std::string name;
  int rows, cols;
  std::vector<float> w;  // [rows][cols]
  std::vector<float> x;  // a real input vector of the layer
};

inline const ws::Llama2cModel& stories() {
  static const ws::Llama2cModel m = ws::load_llama2c(tb::stories_path());
  return m;
}

// Activations from the model itself: the RMS-normalised embedding of a token (the input of wq, wk,
// wv, w1, w3), and silu(w1 h) * (w3 h) for w2; wo gets the normalised embedding too.
inline std::vector<RealLayer> real_layers(int token) {
  const ws::Llama2cModel& m = stories();
  const ws::Llama2cConfig& c = m.file.config;
  const int D = c.dim, H = c.hidden_dim, KV = c.kv_dim();
  const float* emb = m.data("token_embedding_table") + size_t(token) * D;
  std::vector<RealLayer> out;
  for (int l = 0; l < c.n_layers; ++l) {
    const float* rms = m.data("rms_ffn_weight") + size_t(l) * D;
    std::vector<float> h(static_cast<size_t>(D));
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += double(emb[i]) * emb[i];
    const float inv = float(1.0 / std::sqrt(ss / D + 1e-5));
    for (int i = 0; i < D; ++i) h[size_t(i)] = emb[i] * inv * rms[i];
    auto mat = [&](const char* n, int rows, int cols, const std::vector<float>& x) {
      const float* base = m.data(n) + size_t(l) * rows * cols;
      out.push_back({std::string(n) + "[" + std::to_string(l) + "]", rows, cols,
                     std::vector<float>(base, base + size_t(rows) * cols), x});
    };
    mat("wq", D, D, h);
    mat("wk", KV, D, h);
    mat("wv", KV, D, h);
    mat("wo", D, D, h);
    mat("w1", H, D, h);
    mat("w3", H, D, h);
    const float* w1 = m.data("w1") + size_t(l) * H * D;
    const float* w3 = m.data("w3") + size_t(l) * H * D;
    std::vector<float> a(static_cast<size_t>(H));
    for (int i = 0; i < H; ++i) {
      double g = 0, u = 0;
      for (int k = 0; k < D; ++k) {
        g += double(w1[size_t(i) * D + size_t(k)]) * h[size_t(k)];
        u += double(w3[size_t(i) * D + size_t(k)]) * h[size_t(k)];
      }
      a[size_t(i)] = float(g / (1.0 + std::exp(-g)) * u);
    }
    mat("w2", D, H, a);
  }
  return out;
}

// Real layers at LLM row lengths: layer 0 of MiniLM (all-MiniLM-L6-v2, tb::minilm_path()): query
// (384 x 384) and intermediate (1536 x 384) on a token's embedding, output (384 x 1536) on
// gelu(intermediate h + bias) (tanh form). Attention and LayerNorm are skipped: the vectors are real
// values of the model at the right lengths, not the layer's exact inputs.
inline std::vector<RealLayer> minilm_layers(int token) {
  const std::string path = tb::minilm_path();
  if (path.empty()) throw std::runtime_error("bench: no MiniLM (scripts/minilm.sh, make deps)");
  const ws::SafetensorsFile st = ws::read_safetensors(path);
  std::ifstream f(path, std::ios::binary);
  auto read = [&](const std::string& name, uint64_t first, uint64_t count) {
    const ws::SafetensorsTensor* t = st.find(name);
    if (!t || t->dtype != "F32" || first + count > t->value_count) throw std::runtime_error("bench: MiniLM " + name);
    std::vector<float> v(static_cast<size_t>(count));
    f.seekg(std::streamoff(t->offset + 4 * first));
    f.read(reinterpret_cast<char*>(v.data()), std::streamsize(4 * count));
    if (!f) throw std::runtime_error("bench: cannot read MiniLM " + name);
    return v;
  };
  const int D = 384, H = 1536;
  const std::string l0 = "encoder.layer.0.";
  const std::vector<float> h = read("embeddings.word_embeddings.weight", uint64_t(token) * D, D);
  const std::vector<float> wq = read(l0 + "attention.self.query.weight", 0, uint64_t(D) * D);
  const std::vector<float> wi = read(l0 + "intermediate.dense.weight", 0, uint64_t(H) * D);
  const std::vector<float> bi = read(l0 + "intermediate.dense.bias", 0, H);
  const std::vector<float> wo = read(l0 + "output.dense.weight", 0, uint64_t(D) * H);
  std::vector<float> a(static_cast<size_t>(H));
  for (int i = 0; i < H; ++i) {
    double u = bi[size_t(i)];
    for (int k = 0; k < D; ++k) u += double(wi[size_t(i) * D + size_t(k)]) * h[size_t(k)];
    a[size_t(i)] = float(0.5 * u * (1.0 + std::tanh(0.7978845608 * (u + 0.044715 * u * u * u))));
  }
  return {{"minilm.query[0]", D, D, wq, h}, {"minilm.intermediate[0]", H, D, wi, h}, {"minilm.output[0]", D, H, wo, a}};
}

// A real layer as lanes for one mode: pruned 2:4 by magnitude under perm, then bf16 (RNE) or int8
// with a symmetric per-row scale (weights) and one per-tensor scale (activations). Rows padded to
// the array's rows and columns to whole beats, with zero weights and zero activations.
struct Lanes {
  int rows = 0, cols = 0;
  std::vector<uint16_t> w;  // pruned, original channel order, padded
  std::vector<int32_t> perm;
  std::vector<uint16_t> x;
};

inline uint32_t f32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

inline Lanes quantise(const RealLayer& L, MacMode mode, const std::vector<int32_t>& perm, int row_mult, int col_mult) {
  const std::vector<float> pruned = ws::prune24_magnitude(L.w, L.rows, L.cols, perm);
  Lanes q;
  q.rows = (L.rows + row_mult - 1) / row_mult * row_mult;
  q.cols = (L.cols + col_mult - 1) / col_mult * col_mult;
  q.w.assign(size_t(q.rows) * q.cols, 0);
  q.x.assign(size_t(q.cols), 0);
  q.perm = perm;
  for (int c = L.cols; c < q.cols; ++c) q.perm.push_back(c);
  float xmax = 0;
  for (float v : L.x) xmax = std::max(xmax, std::fabs(v));
  for (int c = 0; c < L.cols; ++c) {
    const float v = L.x[size_t(c)];
    q.x[size_t(c)] = mode == MacMode::Bf16 ? ws::fp32_bits_to_bf16(f32_bits(v))
                                           : uint16_t(int(std::lround(v / xmax * 127.0f)) & 0xFF);
  }
  for (int r = 0; r < L.rows; ++r) {
    float wmax = 0;
    for (int c = 0; c < L.cols; ++c) wmax = std::max(wmax, std::fabs(pruned[size_t(r) * L.cols + size_t(c)]));
    for (int c = 0; c < L.cols; ++c) {
      const float v = pruned[size_t(r) * L.cols + size_t(c)];
      q.w[size_t(r) * q.cols + size_t(c)] =
          mode == MacMode::Bf16 ? ws::fp32_bits_to_bf16(f32_bits(v))
                                : uint16_t(wmax > 0 ? int(std::lround(v / wmax * 127.0f)) & 0xFF : 0);
    }
  }
  return q;
}

}  // namespace tbmac
