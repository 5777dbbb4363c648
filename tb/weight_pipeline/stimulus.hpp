// What the weight-pipeline bench streams: 2:4 layers (real stories260K matrices pruned by magnitude,
// random layers of extreme bf16 values) as value and metadata chunks, activations, traffic patterns.
#pragma once

#include <algorithm>
#include <cstdint>
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
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "prune/magnitude.hpp"
#include "prune/shuffle.hpp"

namespace tbwp {

using ws::MacMode;

// The parameters of the linked Verilated top (wp::Driver::built_params()), which the stimulus follows.
inline const ws::WeightPipelineParams& built() {
  static const ws::WeightPipelineParams p = wp::Driver::built_params();
  return p;
}

// A metadata chunk of nibbles (normalised at meta_table_log, the built top's MetaLanes lanes, layout 2:
// 2 x MetaLanes state streams, no raw stream) as the pipeline takes it; the container's own are encode_sparse24_chunk's meta
// sub-chunks. The view points into `stream` (the state streams back to back): move, never copy.
struct MetaChunk {
  std::vector<uint8_t> stream;
  ws::ChunkView view;
  MetaChunk() = default;
  MetaChunk(MetaChunk&&) = default;
  MetaChunk& operator=(MetaChunk&&) = default;
  MetaChunk(const MetaChunk&) = delete;
  MetaChunk& operator=(const MetaChunk&) = delete;
};
inline MetaChunk make_meta_chunk(const uint8_t* nibbles, size_t n, int meta_table_log = 6) {
  MetaChunk c;
  ws::tans::Histogram h{};
  for (size_t i = 0; i < n; ++i) ++h[nibbles[i]];
  const ws::tans::NormalizedCounts nc = ws::tans::normalize(h, meta_table_log);
  const int lanes = built().meta_lanes;
  const ws::tans::EncodedSymbols e = ws::tans::encode(nibbles, n, nc, lanes, ws::tans::Layout::PerState);
  for (const auto& st : e.streams) c.stream.insert(c.stream.end(), st.begin(), st.end());
  c.view.value_count = uint32_t(n);
  c.view.layout = ws::tans::Layout::PerState;
  c.view.lanes = lanes;
  c.view.counts = nc;
  c.view.initial_states = e.initial_states;
  c.view.symbol_stream = c.stream.data();
  c.view.symbol_bytes = uint32_t(c.stream.size());
  size_t at = 0;
  for (size_t j = 0; j < e.streams.size(); ++j) {
    c.view.streams[j] = {c.stream.data() + at, e.streams[j].size()};
    at += e.streams[j].size();
  }
  return c;
}

// n bf16 values as one value chunk at the built top's ValueLanes (value_log: its table log, 0: the
// codec's default), the values little-endian as in a weight file.
inline std::vector<uint8_t> value_chunk(const uint16_t* v, size_t n, int value_log = 0) {
  std::vector<uint8_t> bytes(2 * n);
  for (size_t i = 0; i < n; ++i) {
    bytes[2 * i] = uint8_t(v[i]);
    bytes[2 * i + 1] = uint8_t(v[i] >> 8);
  }
  ws::ChunkOptions opt;
  opt.lanes = built().value_lanes;
  if (value_log > 0) opt.table_log = value_log;
  return ws::encode_chunk(bytes.data(), n, ws::DType::BF16, opt);
}

// The compressed streams of one packed layer (rows x K8, K8 a multiple of row_pad()), owning their bytes.
struct Streams {
  std::vector<std::vector<uint8_t>> value_bytes;  // encode_chunk output per value chunk
  std::vector<MetaChunk> meta;
  std::vector<ws::ChunkView> values_v, meta_v;
  // Value chunk i replaced by the values v (error tests: a chunk shorter or longer than its layer's).
  void set_values(size_t i, const std::vector<uint16_t>& v, int value_log = 0) {
    value_bytes[i] = value_chunk(v.data(), v.size(), value_log);
    values_v[i] = ws::parse_chunk(value_bytes[i].data(), value_bytes[i].size());
  }
};

// Value chunks of the rows `vcut` gives and metadata chunks of the rows `mcut` gives (ws::RowChunks,
// codec/chunk.hpp: the compressor's cut); the same cut for both is the stream contract.
inline std::unique_ptr<Streams> make_streams(const ws::Sparse24& L, const ws::RowChunks& vcut, const ws::RowChunks& mcut,
                                             int meta_log, int value_log) {
  auto s = std::make_unique<Streams>();
  const size_t vpr = size_t(L.cols) / 2, mpr = size_t(L.cols) / 4;  // per row
  for (uint64_t i = 0; i < vcut.count; ++i)
    s->value_bytes.push_back(
        value_chunk(L.values.data() + vcut.first_row(i) * vpr, size_t(vcut.rows_of(i)) * vpr, value_log));
  for (const auto& b : s->value_bytes) s->values_v.push_back(ws::parse_chunk(b.data(), b.size()));
  for (uint64_t i = 0; i < mcut.count; ++i)
    s->meta.push_back(make_meta_chunk(L.meta.data() + mcut.first_row(i) * mpr, size_t(mcut.rows_of(i)) * mpr, meta_log));
  for (const auto& m : s->meta) s->meta_v.push_back(m.view);
  return s;
}

// Chunk pairs of `crows` rows (0: one pair for the layer): value chunk i and metadata chunk i cover
// the same rows (the stream contract). mrows != crows builds a stream that breaks it (error tests).
// value_log: the value chunks' table log (0: the codec's default).
inline std::unique_ptr<Streams> make_streams(const ws::Sparse24& L, int crows = 0, int meta_log = 6, int mrows = -1,
                                             int value_log = 0) {
  if (mrows < 0) mrows = crows;
  // One-path cuts of crows (mrows) rows a chunk: chunk_rows_for with one value a row.
  const uint64_t rows = uint64_t(L.rows);
  const ws::RowChunks vcut = ws::chunk_rows_for(rows, 1, crows > 0 ? uint64_t(crows) : std::max<uint64_t>(rows, 1));
  const ws::RowChunks mcut = ws::chunk_rows_for(rows, 1, mrows > 0 ? uint64_t(mrows) : std::max<uint64_t>(rows, 1));
  return make_streams(L, vcut, mcut, meta_log, value_log);
}

// A dense bf16 layer as value chunks of `per_chunk` values (a multiple of ValueLanes; 0: one chunk)
// at the built top's ValueLanes, owning its bytes. value_log: the chunks' table log (0: the codec's default).
struct DenseLayer {
  std::string name;
  int rows = 0, k = 0;
  std::vector<uint16_t> w;  // rows x k, bf16
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<ws::ChunkView> views;
  ws::PipelineLayer layer(const std::vector<uint16_t>& x) const { return ws::dense_pipeline_layer(views, rows, k, x); }
};

inline std::unique_ptr<DenseLayer> make_dense(std::string name, std::vector<uint16_t> w, int rows, int k, size_t per_chunk,
                                              int value_log = 0) {
  auto d = std::make_unique<DenseLayer>();
  d->name = std::move(name);
  d->rows = rows;
  d->k = k;
  d->w = std::move(w);
  if (per_chunk == 0) per_chunk = d->w.size();
  for (size_t at = 0; at < d->w.size(); at += per_chunk)
    d->bytes.push_back(value_chunk(d->w.data() + at, std::min(per_chunk, d->w.size() - at), value_log));
  for (const auto& b : d->bytes) d->views.push_back(ws::parse_chunk(b.data(), b.size()));
  return d;
}

inline ws::PipelineLayer layer_of(const ws::Sparse24& L, const Streams& s, const std::vector<uint16_t>& x) {
  return ws::sparse24_pipeline_layer(L, s.values_v, s.meta_v, x);
}

inline wp::Traffic random_traffic(std::mt19937_64& rng) {
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

inline std::vector<uint16_t> pad_x(const std::vector<uint16_t>& x, int k8) {
  std::vector<uint16_t> p = x;
  p.resize(size_t(k8), 0);
  return p;
}

// The columns a packed 2:4 row is padded to for the built top: K8, or whole beats where a beat is
// wider (MetaLanes 4: K16).
inline int row_pad() { return std::max(8, built().cols_per_beat()); }

// A layer pruned 2:4 by magnitude under perm, rounded to bf16, padded to row_pad() columns.
inline ws::Sparse24 pack_real(const std::vector<float>& w, int rows, int cols, const std::vector<int32_t>& perm) {
  const std::vector<float> pruned = ws::prune24_magnitude(w, rows, cols, perm);
  std::vector<uint16_t> b(pruned.size());
  for (size_t i = 0; i < b.size(); ++i) b[i] = ws::fp32_to_bf16(pruned[i]);
  return ws::pad_sparse24_cols(ws::pack_sparse24(b, rows, cols, MacMode::Bf16, perm), row_pad());
}

inline std::vector<int32_t> random_perm(int n, std::mt19937_64& rng) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) p[size_t(i)] = i;
  std::shuffle(p.begin(), p.end(), rng);
  return p;
}

inline std::vector<uint16_t> gaussian_x(int n, std::mt19937_64& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> x(static_cast<size_t>(n));
  for (auto& v : x) v = ws::fp32_to_bf16(nd(rng));
  return x;
}

inline const ws::LlamaWeights& stories() {
  static const ws::LlamaWeights w = ws::load_llama(tb::stories_path());
  return w;
}

struct RealMatrix {
  std::string name;
  int rows, cols;
  std::vector<float> w;
};

inline std::vector<RealMatrix> real_matrices() {
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

// A real matrix as the full-speed tests run it: pruned 2:4 in column order (identity permutation),
// one chunk pair, activations drawn from seed 7.
struct FullSpeedLayer {
  ws::Sparse24 L;
  std::vector<uint16_t> x;
  std::unique_ptr<Streams> s;
  ws::PipelineLayer layer() const { return layer_of(L, *s, x); }
};
inline FullSpeedLayer full_speed_layer(const RealMatrix& M) {
  FullSpeedLayer f;
  f.L = pack_real(M.w, M.rows, M.cols, ws::identity_perm(M.cols));
  std::mt19937_64 rng(7);
  f.x = pad_x(gaussian_x(M.cols, rng), f.L.cols);
  f.s = make_streams(f.L);
  return f;
}

// stories260K's linear matrix `index` (in real_matrices() order) pruned 2:4 under a random permutation.
inline ws::Sparse24 real_layer(size_t index, std::mt19937_64& rng) {
  const RealMatrix M = real_matrices().at(index);
  return pack_real(M.w, M.rows, M.cols, random_perm(M.cols, rng));
}

// Extreme bf16 values: zeros of both signs, infinities, NaNs with payloads, subnormals, the largest
// finite, values near overflow and underflow, and cancelling pairs.
inline uint16_t extreme(std::mt19937_64& rng) {
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

inline ws::Sparse24 random_layer(int rows, int k8, std::mt19937_64& rng) {
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

}  // namespace tbwp
