#include "llm/dijiang.hpp"

#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"

namespace ws {
namespace {

constexpr const char* kFormat = "weightstream-dijiang";
constexpr const char* kVersion = "1";
constexpr const char* kWhat = "DiJiang side file";
constexpr float kNormEps = 1e-5f;  // the public code's GroupNorm default
constexpr double kPi = 3.14159265358979323846;

void expect(bool ok, const std::string& why) {
  if (!ok) throw FormatError(std::string(kWhat) + ": " + why);
}

void expect_finite(const std::vector<float>& v, const char* name) {
  for (float x : v) expect(std::isfinite(x), std::string(name) + " has a value that is not finite");
}

// Standard normal draws from run.c's generator (Box-Muller on two uniforms in (0, 1]).
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  float next() {
    const double u1 = 1.0 - double(rng_.random_f32()), u2 = double(rng_.random_f32());
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2));
  }

 private:
  Sampler rng_;
};

}  // namespace

const char* feature_map_name(FeatureMap f) { return f == FeatureMap::Dct ? "dct" : "random"; }

std::vector<float> dct_matrix(int d) {
  if (d < 1) throw std::invalid_argument("dct_matrix: d must be >= 1");
  std::vector<float> c(size_t(d) * size_t(d));
  for (int i = 0; i < d; ++i) {
    const double s = std::sqrt((i == 0 ? 1.0 : 2.0) / d);
    for (int j = 0; j < d; ++j) c[size_t(i) * size_t(d) + size_t(j)] = float(s * std::cos(kPi * (2 * j + 1) * i / (2.0 * d)));
  }
  return c;
}

std::vector<float> dijiang_decays(int n_heads) {
  if (n_heads < 1) throw std::invalid_argument("dijiang_decays: need at least one head");
  std::vector<float> g(static_cast<size_t>(n_heads));
  const double a = std::log(1.0 / 32), b = std::log(1.0 / 512);
  for (int h = 0; h < n_heads; ++h)
    g[size_t(h)] = float(1.0 - std::exp(n_heads == 1 ? a : a + h * (b - a) / (n_heads - 1)));
  return g;
}

std::vector<float> DiJiangSide::layer_projection(int layer) const {
  const size_t d = size_t(head_size);
  if (feature_map == FeatureMap::Random)
    return std::vector<float>(projection.begin() + long(layer * d * d), projection.begin() + long((layer + 1) * d * d));
  std::vector<float> p = dct_matrix(head_size);
  const float* w = weight.data() + size_t(layer) * d;
  for (size_t i = 0; i < d; ++i)
    for (size_t j = 0; j < d; ++j) p[i * d + j] *= w[j];
  return p;
}

void DiJiangSide::validate() const {
  expect(n_layers >= 1 && n_heads >= 1 && head_size >= 1 && dim == n_heads * head_size,
         "dim must be n_heads x head_size, all positive");
  const size_t L = size_t(n_layers), d = size_t(head_size), D = size_t(dim);
  if (feature_map == FeatureMap::Dct)
    expect(weight.size() == L * d && projection.empty(), "dct needs dijiang.weight [L][head_size] only");
  else
    expect(projection.size() == L * d * d && weight.empty(), "random needs dijiang.projection [L][d][d] only");
  expect(gate.size() == L * D * D, "dijiang.gate must be [L][dim][dim]");
  expect(norm_weight.size() == L * D && norm_bias.size() == L * D, "the norm's weight and bias must be [L][dim]");
  expect_finite(weight, "dijiang.weight");
  expect_finite(projection, "dijiang.projection");
  expect_finite(gate, "dijiang.gate");
  expect_finite(norm_weight, "dijiang.norm_weight");
  expect_finite(norm_bias, "dijiang.norm_bias");
}

void DiJiangSide::check_model(const LlamaConfig& c) const {
  expect(c.n_layers == n_layers && c.dim == dim && c.n_heads == n_heads && c.head_size() == head_size,
         "made for a model of " + std::to_string(n_layers) + " layers, dim " + std::to_string(dim) + ", " +
             std::to_string(n_heads) + " heads, not this one");
}

DiJiangSide dijiang_init(const LlamaConfig& c, FeatureMap f, uint64_t seed) {
  DiJiangSide s;
  s.feature_map = f;
  s.n_layers = c.n_layers;
  s.dim = c.dim;
  s.n_heads = c.n_heads;
  s.head_size = c.head_size();
  const size_t L = size_t(c.n_layers), d = size_t(s.head_size), D = size_t(c.dim);
  std::vector<float>& sampled = f == FeatureMap::Dct ? s.weight : s.projection;
  sampled.resize(f == FeatureMap::Dct ? L * d : L * d * d);
  Normal normal(seed);
  for (float& x : sampled) x = normal.next();
  Sampler rng(seed ^ 0x9a7e);
  const float bound = float(std::pow(2.0, -2.5) * std::sqrt(6.0 / double(2 * D)));
  s.gate.resize(L * D * D);
  for (float& x : s.gate) x = (2.0f * rng.random_f32() - 1.0f) * bound;
  s.norm_weight.assign(L * D, 1.0f);
  s.norm_bias.assign(L * D, 0.0f);
  s.metadata["seed"] = std::to_string(seed);
  s.metadata["made_by"] = "dijiang_init (untrained)";
  return s;
}

DiJiangSide load_dijiang(const std::string& path) {
  const SafetensorsFile f = read_safetensors(path);
  check_side_format(f.metadata, kFormat, kVersion, kWhat);
  auto fm = f.metadata.find("feature_map");
  expect(fm != f.metadata.end() && (fm->second == "dct" || fm->second == "random"),
         "metadata feature_map must be dct or random");
  DiJiangSide s;
  s.feature_map = fm->second == "dct" ? FeatureMap::Dct : FeatureMap::Random;
  s.n_layers = side_metadata_int(f.metadata, "n_layers", kWhat);
  s.dim = side_metadata_int(f.metadata, "dim", kWhat);
  s.n_heads = side_metadata_int(f.metadata, "n_heads", kWhat);
  s.head_size = side_metadata_int(f.metadata, "head_size", kWhat);
  s.metadata = side_extra_metadata(f.metadata, {"feature_map", "n_layers", "dim", "n_heads", "head_size"});
  const FileSource src(path);
  const uint64_t L = uint64_t(s.n_layers), d = uint64_t(s.head_size), D = uint64_t(s.dim);
  if (s.feature_map == FeatureMap::Dct)
    s.weight = read_side_tensor<float>(src, f, "dijiang.weight", "F32", {L, d}, kWhat);
  else
    s.projection = read_side_tensor<float>(src, f, "dijiang.projection", "F32", {L, d, d}, kWhat);
  s.gate = read_side_tensor<float>(src, f, "dijiang.gate", "F32", {L, D, D}, kWhat);
  s.norm_weight = read_side_tensor<float>(src, f, "dijiang.norm_weight", "F32", {L, D}, kWhat);
  s.norm_bias = read_side_tensor<float>(src, f, "dijiang.norm_bias", "F32", {L, D}, kWhat);
  s.validate();
  return s;
}

void save_dijiang(const DiJiangSide& s, const std::string& path) {
  s.validate();
  std::map<std::string, std::string> md = s.metadata;
  md["feature_map"] = feature_map_name(s.feature_map);
  md["n_layers"] = std::to_string(s.n_layers);
  md["dim"] = std::to_string(s.dim);
  md["n_heads"] = std::to_string(s.n_heads);
  md["head_size"] = std::to_string(s.head_size);
  const uint64_t L = uint64_t(s.n_layers), d = uint64_t(s.head_size), D = uint64_t(s.dim);
  const std::vector<float>& sampled = s.feature_map == FeatureMap::Dct ? s.weight : s.projection;
  const SafetensorsEntry first = s.feature_map == FeatureMap::Dct ? SafetensorsEntry{"dijiang.weight", "F32", {L, d}}
                                                                  : SafetensorsEntry{"dijiang.projection", "F32", {L, d, d}};
  write_side_file(path, md, kFormat, kVersion,
                  {{first, sampled.data(), sampled.size() * 4},
                   {{"dijiang.gate", "F32", {L, D, D}}, s.gate.data(), s.gate.size() * 4},
                   {{"dijiang.norm_weight", "F32", {L, D}}, s.norm_weight.data(), s.norm_weight.size() * 4},
                   {{"dijiang.norm_bias", "F32", {L, D}}, s.norm_bias.data(), s.norm_bias.size() * 4}});
}

DiJiangAttention::DiJiangAttention(const DiJiangSide& side, const LlamaConfig& c) : side_(side) {
  side.validate();
  side.check_model(c);
  kv_heads_ = c.n_kv_heads;
  gamma_ = dijiang_decays(c.n_heads);
  for (int l = 0; l < c.n_layers; ++l) proj_.push_back(side.layer_projection(l));
  const size_t d = size_t(side.head_size);
  state_.assign(size_t(c.n_layers) * size_t(c.n_heads) * d * d, 0.0f);
  phi_q_.resize(d);
  phi_k_.resize(size_t(kv_heads_) * d);
  o_.resize(size_t(c.dim));
  g_.resize(size_t(c.dim));
}

void DiJiangAttention::features(int layer, const float* x, float* phi) const {
  const int d = side_.head_size;
  const float* p = proj_[size_t(layer)].data();
  for (int j = 0; j < d; ++j) {
    float f = 0.0f;
    for (int i = 0; i < d; ++i) f += x[i] * p[size_t(i) * size_t(d) + size_t(j)];
    phi[j] = f;
  }
  softmax(phi, d);
}

void DiJiangAttention::attend(int layer, int pos, const float* x, const float* q, const float* k, const float* v,
                              float* out) {
  const int H = side_.n_heads, d = side_.head_size, D = side_.dim, kv_mul = H / kv_heads_;
  const size_t dd = size_t(d) * size_t(d);
  float* layer_state = state_.data() + size_t(layer) * size_t(H) * dd;
  if (pos == 0) std::fill(layer_state, layer_state + size_t(H) * dd, 0.0f);
  for (int g = 0; g < kv_heads_; ++g) features(layer, k + size_t(g) * size_t(d), phi_k_.data() + size_t(g) * size_t(d));
  for (int h = 0; h < H; ++h) {
    const float* pk = phi_k_.data() + size_t(h / kv_mul) * size_t(d);
    const float* vh = v + size_t(h / kv_mul) * size_t(d);
    float* S = layer_state + size_t(h) * dd;
    const float gamma = gamma_[size_t(h)];
    for (int i = 0; i < d; ++i)
      for (int j = 0; j < d; ++j) {
        float& s = S[size_t(i) * size_t(d) + size_t(j)];
        s = gamma * s + pk[i] * vh[j];
      }
    features(layer, q + size_t(h) * size_t(d), phi_q_.data());
    float* oh = o_.data() + size_t(h) * size_t(d);
    for (int j = 0; j < d; ++j) {
      float acc = 0.0f;
      for (int i = 0; i < d; ++i) acc += phi_q_[size_t(i)] * S[size_t(i) * size_t(d) + size_t(j)];
      oh[j] = acc;
    }
  }
  // Group norm over the dim outputs, then the gate.
  const int G = side_.norm_groups(), per = D / G;
  const float* nw = side_.norm_weight.data() + size_t(layer) * size_t(D);
  const float* nb = side_.norm_bias.data() + size_t(layer) * size_t(D);
  for (int grp = 0; grp < G; ++grp) {
    const float* xs = o_.data() + size_t(grp) * size_t(per);
    float mean = 0.0f;
    for (int c = 0; c < per; ++c) mean += xs[c];
    mean /= float(per);
    float var = 0.0f;
    for (int c = 0; c < per; ++c) var += (xs[c] - mean) * (xs[c] - mean);
    var /= float(per);
    const float inv = 1.0f / std::sqrt(var + kNormEps);
    for (int c = 0; c < per; ++c) {
      const size_t ch = size_t(grp) * size_t(per) + size_t(c);
      out[ch] = (xs[c] - mean) * inv * nw[ch] + nb[ch];
    }
  }
  LinearView gv;
  gv.layer = layer;
  gv.out = D;
  gv.in = D;
  gv.w = side_.gate.data() + size_t(layer) * size_t(D) * size_t(D);
  matvec(gv, x, g_.data());
  for (int c = 0; c < D; ++c) out[c] *= silu(g_[size_t(c)]);
}

}  // namespace ws
