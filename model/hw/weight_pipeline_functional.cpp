// The functional model of ws_weight_pipeline: the blocks' functional models in a row, no clock.
#include "hw/weight_pipeline_functional.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <future>
#include <stdexcept>

#include "codec/tans.hpp"
#include "core/error.hpp"
#include "core/threads.hpp"
#include "core/ws_pkg.hpp"
#include "numfmt/numfmt.hpp"

namespace ws {

namespace {

// Runs f(part) for part = 0 .. parts-1, part 0 on the calling thread and the others on the pool.
template <class F>
void split(int parts, ThreadPool* pool, F&& f) {
  std::vector<std::future<void>> done;
  for (int p = 1; p < parts && pool; ++p) done.push_back(pool->submit<void>([&f, p] { f(p); }));
  if (!pool)
    for (int p = 1; p < parts; ++p) f(p);
  f(0);
  for (auto& d : done) d.get();  // rethrows a part's exception
}

// A chunk's symbols: the decoder's functional model (each state's stream, docs/tans_decoder.md).
// Into a buffer kept per thread (a fresh one per chunk costs page faults).
const std::vector<uint8_t>& chunk_symbols(const ChunkView& v) {
  thread_local std::vector<uint8_t> sym;
  sym.resize(v.value_count);
  if (v.value_count == 0) return sym;
  tans::decode(v.layout, v.streams.data(), tans::build_decode_table(v.counts), v.counts.table_log, v.lanes,
               v.initial_states.data(), sym.data(), v.value_count);
  return sym;
}

// The unpacker's functional model for the bf16 table (numfmt::decode_tensor), memoized: every symbol
// of the table carries 8 raw bits, so a well-formed raw stream is one byte per value, zero-padded to
// whole words, and each (symbol, byte) has one output word, computed once by Format::output_bits.
// Anything else (an unknown symbol, a short or long raw stream) goes through decode_tensor itself,
// which raises the unpacker's error.
class Bf16Unpacker {
 public:
  Bf16Unpacker() : f_(numfmt::Format::builtin("bf16")), out_(size_t(1) << 16, 0) {
    for (unsigned s = 0; s < 256; ++s) {
      const numfmt::Entry& e = f_.entry(s);
      known_[s] = e.cls != numfmt::Class::None;
      if (known_[s] && e.raw_bits != 8) throw std::logic_error("the bf16 table's symbols carry 8 raw bits");
      for (uint32_t r = 0; r < 256 && known_[s]; ++r) out_[s << 8 | r] = f_.output_bits({uint8_t(s), r});
    }
  }
  // The bf16 values (the top halves of the output words) of n symbols and their raw stream.
  void decode(const uint8_t* sym, size_t n, const uint8_t* raw, size_t raw_bytes, uint16_t* values) const {
    bool plain = raw_bytes == (n + 3) / 4 * 4;
    for (size_t i = n; i < raw_bytes && plain; ++i) plain = raw[i] == 0;
    for (size_t i = 0; i < n && plain; ++i) plain = known_[sym[i]];
    if (!plain) {
      const std::vector<uint32_t> words = numfmt::decode_tensor(f_, sym, n, raw, raw_bytes);
      for (size_t i = 0; i < n; ++i) values[i] = uint16_t(words[i] >> 16);
      return;
    }
    for (size_t i = 0; i < n; ++i) values[i] = uint16_t(out_[size_t(sym[i]) << 8 | raw[i]] >> 16);
  }

 private:
  numfmt::Format f_;
  std::vector<uint32_t> out_;  // [symbol << 8 | raw byte]
  bool known_[256] = {};
};

float lane_float(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint32_t result_bits(float f) {
  if (std::isnan(f)) return 0x7FC00000u;  // the arrays' canonical NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// One row's sum in the arrays' order: beat b's pairwise tree of 4 products goes into partial sum
// b mod 16; the row's value is the pairwise tree over the 16 (ws::MacRowSum with L = 4).
struct RowSum {
  float s[pkg::MAC_ACC_PARTIALS] = {};
  int b = 0;
  void beat(float p0, float p1, float p2, float p3) {
    const float t0 = p0 + p1, t1 = p2 + p3;  // separate statements: no contraction across the tree
    const float t = t0 + t1;
    float& acc = s[b % pkg::MAC_ACC_PARTIALS];
    acc = acc + t;
    ++b;
  }
  float result() const {
    float u[pkg::MAC_ACC_PARTIALS];
    std::copy(s, s + pkg::MAC_ACC_PARTIALS, u);
    for (int n = pkg::MAC_ACC_PARTIALS; n > 1; n /= 2)
      for (int i = 0; i < n / 2; ++i) u[i] = u[2 * i] + u[2 * i + 1];
    return u[0];
  }
};
static_assert(pkg::MAC_ACC_PARTIALS == 16, "RowSum's combine is the pairwise tree over 16");

}  // namespace

PipelineWeights weight_pipeline_weights(const PipelineLayer& L, ThreadPool* pool, unsigned threads) {
  PipelineWeights w;
  w.dense = L.dense;
  w.rows = L.rows;
  w.cols = L.dense ? L.k : L.k8();
  const uint64_t per_row = L.dense ? uint64_t(L.k) : uint64_t(L.k8() / 2);
  std::vector<uint64_t> at(L.values.size() + 1, 0);
  for (size_t i = 0; i < L.values.size(); ++i) at[i + 1] = at[i] + L.values[i].value_count;
  if (at.back() != per_row * uint64_t(L.rows))
    throw FormatError("the value chunks hold " + std::to_string(at.back()) + " values, the layer " +
                      std::to_string(per_row * uint64_t(L.rows)));
  w.values.assign(size_t(at.back()), 0);
  static const Bf16Unpacker unpacker;
  const int chunks = int(L.values.size());
  const int parts = std::max(1, std::min<int>(int(threads), chunks));
  split(parts, pool, [&](int p) {
    for (int i = p; i < chunks; i += parts) {
      const ChunkView& v = L.values[size_t(i)];
      const std::vector<uint8_t>& sym = chunk_symbols(v);
      unpacker.decode(sym.data(), sym.size(), v.raw_stream, v.raw_bytes, w.values.data() + at[size_t(i)]);
    }
  });
  if (L.dense) return w;
  for (const ChunkView& v : L.meta) {
    const std::vector<uint8_t>& sym = chunk_symbols(v);
    for (uint8_t s : sym)
      if (s > 15) throw FormatError("metadata symbol " + std::to_string(s) + " is above 15");
    w.meta.insert(w.meta.end(), sym.begin(), sym.end());
  }
  if (w.meta.size() != size_t(L.rows) * size_t(L.k8() / 4))
    throw FormatError("the metadata chunks hold " + std::to_string(w.meta.size()) + " nibbles, the layer " +
                      std::to_string(size_t(L.rows) * size_t(L.k8() / 4)));
  return w;
}

std::vector<uint32_t> weight_pipeline_mac(const PipelineWeights& w, const std::vector<int32_t>& perm,
                                          const std::vector<uint16_t>& x, ThreadPool* pool, unsigned threads) {
  if (w.cols % (w.dense ? 4 : 8) != 0 || x.size() > size_t(w.cols) || perm.size() > size_t(w.cols))
    throw std::invalid_argument("weight_pipeline_mac: K must fill whole beats, x and perm at most K entries");
  // x as floats in the packed column order (2:4: padded with +0, permuted; dense: as it is).
  std::vector<float> xf(size_t(w.cols), 0.0f);
  for (int j = 0; j < w.cols; ++j) {
    const size_t i = j < int(perm.size()) ? size_t(perm[size_t(j)]) : size_t(j);
    if (i >= size_t(w.cols)) throw std::invalid_argument("weight_pipeline_mac: permutation entry out of range");
    xf[size_t(j)] = i < x.size() ? lane_float(x[i]) : 0.0f;
  }
  std::vector<uint32_t> y(size_t(w.rows));
  const int parts = std::max(1, std::min<int>(int(threads), w.rows / 16));
  split(parts, pool, [&](int p) {
    const int begin = int(int64_t(w.rows) * p / parts), end = int(int64_t(w.rows) * (p + 1) / parts);
    for (int r = begin; r < end; ++r) {
      RowSum row;
      if (w.dense) {
        const uint16_t* v = w.values.data() + size_t(r) * size_t(w.cols);
        for (int j = 0; j < w.cols; j += 4)
          row.beat(lane_float(v[j]) * xf[size_t(j)], lane_float(v[j + 1]) * xf[size_t(j + 1)],
                   lane_float(v[j + 2]) * xf[size_t(j + 2)], lane_float(v[j + 3]) * xf[size_t(j + 3)]);
      } else {
        const uint16_t* v = w.values.data() + size_t(r) * size_t(w.cols / 2);
        const uint8_t* m = w.meta.data() + size_t(r) * size_t(w.cols / 4);
        for (int g = 0; g < w.cols / 4; g += 2) {
          const float* x0 = xf.data() + 4 * g;
          const float* x1 = x0 + 4;
          row.beat(lane_float(v[2 * g]) * x0[m[g] & 3], lane_float(v[2 * g + 1]) * x0[m[g] >> 2 & 3],
                   lane_float(v[2 * g + 2]) * x1[m[g + 1] & 3], lane_float(v[2 * g + 3]) * x1[m[g + 1] >> 2 & 3]);
        }
      }
      y[size_t(r)] = result_bits(row.result());
    }
  });
  return y;
}

std::vector<uint32_t> weight_pipeline_y(const PipelineLayer& layer, ThreadPool* pool, unsigned threads) {
  return weight_pipeline_mac(weight_pipeline_weights(layer, pool, threads), layer.perm, layer.x, pool, threads);
}

}  // namespace ws
