// LTE experts, routers and side file (docs/lte.md).
#include "llm/lte.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <tuple>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"

namespace ws {
namespace {

constexpr const char* kFormat = "weightstream-lte";
constexpr const char* kVersion = "1";

double sq_dist(const float* a, const double* c, int d) {
  double s = 0.0;
  for (int j = 0; j < d; ++j) {
    const double t = double(a[j]) - c[j];
    s += t * t;
  }
  return s;
}

constexpr const char* kWhat = "LTE side file";

}  // namespace

std::vector<int> expert_bounds(int hidden, int size) {
  if (size < 1 || hidden < 1) throw std::invalid_argument("expert_bounds: need hidden >= 1 and size >= 1");
  std::vector<int> b{0};
  while (b.back() + size <= hidden) b.push_back(b.back() + size);
  if (b.back() != hidden) b.push_back(hidden);  // the remainder: one smaller expert, last
  return b;
}

std::vector<int32_t> balanced_kmeans(const float* rows, int n, int d, int size, uint64_t seed, int iters) {
  const std::vector<int> bounds = expert_bounds(n, size);
  const int k = int(bounds.size()) - 1;
  // k-means++ seeding.
  Sampler rng(seed);
  std::vector<double> cent(size_t(k) * size_t(d));
  std::vector<double> best(size_t(n), 1e300);
  int pick = int(rng.random_u32() % uint32_t(n));
  for (int c = 0; c < k; ++c) {
    for (int j = 0; j < d; ++j) cent[size_t(c) * size_t(d) + size_t(j)] = rows[size_t(pick) * size_t(d) + size_t(j)];
    if (c + 1 == k) break;
    double total = 0.0;
    for (int i = 0; i < n; ++i) {
      best[size_t(i)] = std::min(best[size_t(i)], sq_dist(rows + size_t(i) * size_t(d), &cent[size_t(c) * size_t(d)], d));
      total += best[size_t(i)];
    }
    double coin = double(rng.random_f32()) * total, cdf = 0.0;
    pick = n - 1;
    for (int i = 0; i < n; ++i) {
      cdf += best[size_t(i)];
      if (coin < cdf) {
        pick = i;
        break;
      }
    }
  }
  std::vector<int> assign(size_t(n), -1), prev;
  std::vector<std::tuple<double, int, int>> pairs(size_t(n) * size_t(k));
  for (int it = 0; it < iters && assign != prev; ++it) {
    prev = assign;
    for (int i = 0; i < n; ++i)
      for (int c = 0; c < k; ++c)
        pairs[size_t(i) * size_t(k) + size_t(c)] = {sq_dist(rows + size_t(i) * size_t(d), &cent[size_t(c) * size_t(d)], d), i, c};
    std::sort(pairs.begin(), pairs.end());
    std::vector<int> room(static_cast<size_t>(k));
    for (int c = 0; c < k; ++c) room[size_t(c)] = bounds[size_t(c) + 1] - bounds[size_t(c)];
    std::fill(assign.begin(), assign.end(), -1);
    for (const auto& [dist, i, c] : pairs)
      if (assign[size_t(i)] < 0 && room[size_t(c)] > 0) {
        assign[size_t(i)] = c;
        --room[size_t(c)];
      }
    std::fill(cent.begin(), cent.end(), 0.0);
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < d; ++j) cent[size_t(assign[size_t(i)]) * size_t(d) + size_t(j)] += rows[size_t(i) * size_t(d) + size_t(j)];
    for (int c = 0; c < k; ++c)
      for (int j = 0; j < d; ++j) cent[size_t(c) * size_t(d) + size_t(j)] /= double(bounds[size_t(c) + 1] - bounds[size_t(c)]);
  }
  std::vector<int32_t> order;
  for (int c = 0; c < k; ++c)
    for (int i = 0; i < n; ++i)
      if (assign[size_t(i)] == c) order.push_back(i);
  return order;
}

double grouping_cost(const float* rows, int d, const std::vector<int32_t>& order, const std::vector<int>& bounds) {
  double cost = 0.0;
  std::vector<double> mean(static_cast<size_t>(d));
  for (size_t e = 0; e + 1 < bounds.size(); ++e) {
    std::fill(mean.begin(), mean.end(), 0.0);
    const int b0 = bounds[e], b1 = bounds[e + 1];
    for (int k = b0; k < b1; ++k)
      for (int j = 0; j < d; ++j) mean[size_t(j)] += rows[size_t(order[size_t(k)]) * size_t(d) + size_t(j)];
    for (double& m : mean) m /= double(b1 - b0);
    for (int k = b0; k < b1; ++k) cost += sq_dist(rows + size_t(order[size_t(k)]) * size_t(d), mean.data(), d);
  }
  return cost;
}

void LteSide::validate() const {
  if (n_layers < 1 || dim < 1 || hidden_dim < 1 || expert_size < 1)
    throw FormatError("LTE side file: non-positive n_layers, dim, hidden_dim or expert_size");
  const size_t L = size_t(n_layers), H = size_t(hidden_dim);
  if (order.size() != L * H) throw FormatError("LTE side file: lte.order has the wrong size");
  for (size_t l = 0; l < L; ++l) {
    std::vector<bool> seen(H, false);
    for (size_t k = 0; k < H; ++k) {
      const int32_t v = order[l * H + k];
      if (v < 0 || size_t(v) >= H || seen[size_t(v)])
        throw FormatError("LTE side file: lte.order of layer " + std::to_string(l) +
                          " is not a permutation of the hidden neurons (every neuron in exactly one expert)");
      seen[size_t(v)] = true;
    }
  }
  if (router.empty()) {
    if (!threshold.empty()) throw FormatError("LTE side file: lte.threshold without lte.router");
    return;
  }
  if (router.size() != L * size_t(experts()) * size_t(dim)) throw FormatError("LTE side file: lte.router has the wrong size");
  if (threshold.size() != L) throw FormatError("LTE side file: lte.router needs lte.threshold, one per layer");
  for (float v : router)
    if (!std::isfinite(v)) throw FormatError("LTE side file: lte.router holds a value that is not finite");
  for (float v : threshold)
    if (!std::isfinite(v)) throw FormatError("LTE side file: lte.threshold holds a value that is not finite");
}

void LteSide::check_model(const LlamaConfig& c) const {
  if (c.n_layers != n_layers || c.dim != dim || c.hidden_dim != hidden_dim)
    throw FormatError("LTE side file is for n_layers " + std::to_string(n_layers) + ", dim " + std::to_string(dim) +
                      ", hidden_dim " + std::to_string(hidden_dim) + "; the model has " + std::to_string(c.n_layers) +
                      ", " + std::to_string(c.dim) + ", " + std::to_string(c.hidden_dim));
}

LteSide lte_experts(const LlamaWeights& w, int expert_size, uint64_t seed) {
  const LlamaConfig& c = w.config;
  LteSide s;
  s.n_layers = c.n_layers;
  s.dim = c.dim;
  s.hidden_dim = c.hidden_dim;
  s.expert_size = expert_size;
  s.metadata["kmeans_seed"] = std::to_string(seed);
  const size_t per_layer = size_t(c.hidden_dim) * size_t(c.dim);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::vector<int32_t> o = balanced_kmeans(w.linear[int(LinearKind::w1)].data() + size_t(l) * per_layer,
                                                   c.hidden_dim, c.dim, expert_size, seed + uint64_t(l));
    s.order.insert(s.order.end(), o.begin(), o.end());
  }
  s.validate();
  return s;
}

LteSide load_lte(const std::string& path) {
  const SafetensorsFile f = read_safetensors(path);
  check_side_format(f.metadata, kFormat, kVersion, kWhat);
  LteSide s;
  s.n_layers = side_metadata_int(f.metadata, "n_layers", kWhat);
  s.dim = side_metadata_int(f.metadata, "dim", kWhat);
  s.hidden_dim = side_metadata_int(f.metadata, "hidden_dim", kWhat);
  s.expert_size = side_metadata_int(f.metadata, "expert_size", kWhat);
  s.metadata = side_extra_metadata(f.metadata, {"n_layers", "dim", "hidden_dim", "expert_size"});
  const FileSource src(path);
  const uint64_t L = uint64_t(s.n_layers);
  s.order = read_side_tensor<int32_t>(src, f, "lte.order", "I32", {L, uint64_t(s.hidden_dim)}, kWhat);
  if (f.find("lte.router")) {
    s.router = read_side_tensor<float>(src, f, "lte.router", "F32", {L, uint64_t(s.experts()), uint64_t(s.dim)}, kWhat);
    s.threshold = read_side_tensor<float>(src, f, "lte.threshold", "F32", {L}, kWhat);
  } else if (f.find("lte.threshold")) {
    throw FormatError("LTE side file: lte.threshold without lte.router");
  }
  s.validate();
  return s;
}

void save_lte(const LteSide& s, const std::string& path) {
  s.validate();
  std::map<std::string, std::string> md = s.metadata;
  md["n_layers"] = std::to_string(s.n_layers);
  md["dim"] = std::to_string(s.dim);
  md["hidden_dim"] = std::to_string(s.hidden_dim);
  md["expert_size"] = std::to_string(s.expert_size);
  const uint64_t L = uint64_t(s.n_layers);
  std::vector<SideTensor> tensors{{{"lte.order", "I32", {L, uint64_t(s.hidden_dim)}}, s.order.data(), s.order.size() * 4}};
  if (s.has_router()) {
    tensors.push_back({{"lte.router", "F32", {L, uint64_t(s.experts()), uint64_t(s.dim)}}, s.router.data(), s.router.size() * 4});
    tensors.push_back({{"lte.threshold", "F32", {L}}, s.threshold.data(), s.threshold.size() * 4});
  }
  write_side_file(path, md, kFormat, kVersion, tensors);
}

LlamaWeights expert_ordered(const LlamaWeights& w, const LteSide& side) {
  side.validate();
  side.check_model(w.config);
  LlamaWeights o = w;
  const size_t H = size_t(w.config.hidden_dim), D = size_t(w.config.dim);
  const std::vector<int> b = side.bounds();
  std::vector<int32_t>& p2 = o.perm[int(LinearKind::w2)];
  for (size_t l = 0; l < size_t(w.config.n_layers); ++l) {
    const int32_t* ord = side.order.data() + l * H;
    if (!p2.empty()) {
      // A pruned model's w2 channel shuffle (stored column j reads neuron perm[j]) composes with the
      // expert order only if it keeps each expert's neurons in that expert's block of stored columns
      // (`prune --lte SIDE`): then the stored columns stay and perm becomes expert-local.
      std::vector<int32_t> inv(H);
      for (size_t k = 0; k < H; ++k) inv[size_t(ord[k])] = int32_t(k);
      int32_t* p = p2.data() + l * H;
      for (size_t e = 0; e + 1 < b.size(); ++e)
        for (int j = b[e]; j < b[e + 1]; ++j) {
          const int32_t k = inv[size_t(p[j])];
          if (k < b[e] || k >= b[e + 1])
            throw FormatError("the model's w2 column permutation (a channel shuffle) crosses the side file's expert "
                              "boundaries in layer " + std::to_string(l) + " (prune it with --lte SIDE)");
          p[j] = k;
        }
    }
    for (LinearKind kind : {LinearKind::w1, LinearKind::w3}) {
      const float* src = w.linear[int(kind)].data() + l * H * D;
      float* dst = o.linear[int(kind)].data() + l * H * D;
      for (size_t k = 0; k < H; ++k) std::memcpy(dst + k * D, src + size_t(ord[k]) * D, D * sizeof(float));
    }
    if (!p2.empty()) continue;  // the stored columns already are in expert blocks
    const float* src = w.linear[int(LinearKind::w2)].data() + l * D * H;
    float* dst = o.linear[int(LinearKind::w2)].data() + l * D * H;
    for (size_t r = 0; r < D; ++r)
      for (size_t k = 0; k < H; ++k) dst[r * H + k] = src[r * H + size_t(ord[k])];
  }
  return o;
}

void CountingGate::count(const uint8_t* active) {
  last_.assign(active, active + last_.size());
  for (size_t e = 0; e + 1 < bounds_.size(); ++e) {
    const uint64_t n = uint64_t(bounds_[e + 1] - bounds_[e]);
    ++counts_.experts;
    counts_.neurons += n;
    if (!active[e]) {
      ++counts_.experts_off;
      counts_.neurons_off += n;
    }
  }
}

RouterGate::RouterGate(const LteSide& side) : CountingGate(side.bounds()), side_(side) {
  if (!side.has_router()) throw FormatError("LTE side file has no routers (lte.router): a grouping only");
  scores_.resize(size_t(side.experts()));
}

void RouterGate::route(int layer, const float* xb, uint8_t* active) {
  const int E = int(scores_.size()), d = side_.dim;
  const float* wg = side_.router.data() + size_t(layer) * size_t(E) * size_t(d);
  const float th = side_.threshold[size_t(layer)];
  for (int e = 0; e < E; ++e) {
    float z = 0.0f;
    for (int j = 0; j < d; ++j) z += wg[size_t(e) * size_t(d) + size_t(j)] * xb[j];
    scores_[size_t(e)] = 1.0f / (1.0f + std::exp(-z));
    active[e] = scores_[size_t(e)] > th;
  }
  count(active);
}

NormGate::NormGate(const LlamaWeights& w, std::vector<int> bounds, double off_fraction)
    : CountingGate(std::move(bounds)), w_(w), fraction_(off_fraction) {
  if (!(off_fraction >= 0.0 && off_fraction <= 1.0)) throw std::invalid_argument("NormGate: fraction off outside 0..1");
  h1_.resize(size_t(w.config.hidden_dim));
  h3_.resize(size_t(w.config.hidden_dim));
}

void NormGate::route(int layer, const float* xb, uint8_t* active) {
  const LlamaConfig& c = w_.config;
  const int E = int(bounds_.size()) - 1;
  for (LinearKind kind : {LinearKind::w1, LinearKind::w3}) {
    LinearView lv;
    lv.kind = kind;
    lv.layer = layer;
    lv.out = c.hidden_dim;
    lv.in = c.dim;
    lv.w = w_.linear[int(kind)].data() + size_t(layer) * size_t(c.hidden_dim) * size_t(c.dim);
    if (!w_.perm[int(kind)].empty()) lv.perm = w_.perm[int(kind)].data() + size_t(layer) * size_t(c.dim);
    matvec(lv, xb, (kind == LinearKind::w1 ? h1_ : h3_).data());
  }
  std::vector<std::pair<double, int>> rms;
  for (int e = 0; e < E; ++e) {
    double s = 0.0;
    for (int i = bounds_[size_t(e)]; i < bounds_[size_t(e) + 1]; ++i) {
      const double v = double(h1_[size_t(i)]) / (1.0 + std::exp(-double(h1_[size_t(i)]))) * double(h3_[size_t(i)]);
      s += v * v;
    }
    rms.push_back({std::sqrt(s / double(bounds_[size_t(e) + 1] - bounds_[size_t(e)])), e});
  }
  std::sort(rms.begin(), rms.end());
  const double per_layer = fraction_ * double(E);
  const long off = std::lround(per_layer * double(layer + 1)) - std::lround(per_layer * double(layer));
  for (int e = 0; e < E; ++e) active[e] = 1;
  for (long r = 0; r < off && r < long(E); ++r) active[rms[size_t(r)].second] = 0;
  count(active);
}

namespace {

// Passes the decisions on and records them as bits.
class RecordingGate final : public FfnGate {
 public:
  RecordingGate(FfnGate& inner, std::vector<uint8_t>& out) : inner_(inner), out_(out) {}
  const std::vector<int>& bounds() const override { return inner_.bounds(); }
  void route(int layer, const float* xb, uint8_t* active) override {
    inner_.route(layer, xb, active);
    const size_t experts = bounds().size() - 1, at = out_.size();
    out_.resize(at + (experts + 7) / 8, 0);
    for (size_t e = 0; e < experts; ++e)
      if (active[e]) out_[at + e / 8] = uint8_t(out_[at + e / 8] | 1u << (e % 8));
  }

 private:
  FfnGate& inner_;
  std::vector<uint8_t>& out_;
};

}  // namespace

std::vector<uint8_t> gate_decisions(const LlamaWeights& w, FfnGate& gate, const std::vector<std::vector<int>>& seqs) {
  std::vector<uint8_t> out;
  RecordingGate rec(gate, out);
  for (const std::vector<int>& seq : seqs) {
    Llama m(w, int(seq.size()));
    m.set_ffn_gate(&rec);
    for (size_t pos = 0; pos < seq.size(); ++pos) m.forward(seq[pos], int(pos));
  }
  return out;
}

}  // namespace ws

namespace ws {

LinearHook expert_block_hook(const CountingGate& gate, LinearHook product, W2BlockProduct w2_blocks) {
  if (!product) throw std::invalid_argument("expert_block_hook: no product");
  if (!w2_blocks)
    w2_blocks = [product](const W2Blocks& b) {
      std::vector<std::vector<float>> y(b.views.size());
      for (size_t i = 0; i < b.views.size(); ++i) {
        y[i].resize(size_t(b.views[i].out));
        product(b.views[i], b.h[i].data(), y[i].data());
      }
      return y;
    };
  // The blocks' weights, gathered per call (a block of the gathered w2 view is not contiguous).
  auto block_w = std::make_shared<std::vector<std::vector<float>>>();
  return [&gate, product, w2_blocks, block_w](const LinearView& lv, const float* x, float* y) {
    if (lv.kind != LinearKind::w2) return product(lv, x, y);
    const std::vector<int>& b = gate.bounds();
    const std::vector<uint8_t>& active = gate.last_active();
    W2Blocks blocks;
    blocks.layer = lv.layer;
    int col = 0;  // the expert's first column in the gathered view
    for (size_t e = 0; e < active.size(); ++e) {
      if (!active[e]) continue;
      const int n = b[e + 1] - b[e];
      blocks.experts.push_back(int(e));
      blocks.h.emplace_back(x + col, x + col + n);
      col += n;
    }
    if (col != lv.in)
      throw std::logic_error("expert_block_hook: the w2 view has " + std::to_string(lv.in) +
                             " columns, the gate's last decisions " + std::to_string(col));
    block_w->resize(blocks.experts.size());
    col = 0;
    for (size_t i = 0; i < blocks.experts.size(); ++i) {
      const int n = int(blocks.h[i].size());
      std::vector<float>& w = (*block_w)[i];
      w.resize(size_t(lv.out) * size_t(n));
      for (int r = 0; r < lv.out; ++r)
        std::copy_n(lv.w + size_t(r) * size_t(lv.in) + size_t(col), n, w.begin() + ptrdiff_t(r) * n);
      LinearView v = lv;
      v.in = n;
      v.w = w.data();
      v.perm = nullptr;
      blocks.views.push_back(v);
      col += n;
    }
    const std::vector<std::vector<float>> part = w2_blocks(blocks);
    if (part.size() != blocks.experts.size()) throw std::logic_error("expert_block_hook: one partial output per block");
    for (int i = 0; i < lv.out; ++i) y[i] = 0.0f;
    for (const std::vector<float>& p : part)  // expert order
      for (int i = 0; i < lv.out; ++i) y[i] += p[size_t(i)];
  };
}

}  // namespace ws
