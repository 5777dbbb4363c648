// Importance scores and the 2:4 pruning of a whole model.
#include "prune/esparse.hpp"

#include <cmath>
#include <stdexcept>

namespace ws {

const char* method_name(PruneMethod m) {
  switch (m) {
    case PruneMethod::magnitude: return "magnitude";
    case PruneMethod::wanda: return "wanda";
    case PruneMethod::esparse: return "esparse";
  }
  return "?";
}

PruneMethod parse_method(const std::string& s) {
  if (s == "magnitude") return PruneMethod::magnitude;
  if (s == "wanda") return PruneMethod::wanda;
  if (s == "esparse") return PruneMethod::esparse;
  throw std::invalid_argument("unknown method '" + s + "' (magnitude, wanda, esparse)");
}

std::vector<double> importance(const float* w, int out, int in, PruneMethod m, const std::vector<double>& l2,
                               const std::vector<double>& entropy, double alpha) {
  if (m != PruneMethod::magnitude && l2.size() != size_t(in))
    throw std::invalid_argument("importance: channel norms missing");
  if (m == PruneMethod::esparse && (entropy.size() != size_t(in) || !(alpha > 0)))
    throw std::invalid_argument("importance: E-Sparse needs channel entropies and alpha > 0");
  std::vector<double> s(size_t(out) * size_t(in));
  for (size_t i = 0; i < size_t(out); ++i) {
    for (size_t j = 0; j < size_t(in); ++j) {
      double a = std::fabs(double(w[i * size_t(in) + j]));
      if (m == PruneMethod::wanda) a *= l2[j];
      if (m == PruneMethod::esparse) a *= entropy[j] / alpha + l2[j];
      s[i * size_t(in) + j] = a;
    }
  }
  return s;
}

PrunedLayer prune_layer(const float* w, int out, int in, const std::vector<double>& imp, ShuffleMode shuffle,
                        int block) {
  PrunedLayer p;
  p.perm = channel_permutation(imp, out, in, shuffle, block);
  p.mask = mask_24(imp, out, in, p.perm);
  p.w.assign(size_t(out) * size_t(in), 0.0f);
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t j = 0; j < size_t(in); ++j)
      if (p.mask[i * size_t(in) + j]) p.w[i * size_t(in) + j] = w[i * size_t(in) + size_t(p.perm[j])];
  return p;
}

LlamaWeights prune(const LlamaWeights& dense, const Calibration& cal, const PruneOptions& opt, PruneReport* report) {
  if (opt.bins < 1) throw std::invalid_argument("bins must be >= 1");
  // A model that is already permuted (a pruned file) is pruned in its original channel order, the
  // order its calibration activations come in.
  const LlamaWeights base = unpermute(dense);
  const LlamaConfig& c = base.config;
  LlamaWeights out = base;
  for (int k = 0; k < kLayerLinears; ++k) {
    const LinearKind kind = LinearKind(k);
    const int rows = linear_out(c, kind), in = linear_in(c, kind);
    if (in % 4 != 0)
      throw std::invalid_argument(std::string(linear_name(kind)) + ": in_features " + std::to_string(in) +
                                  " is not a multiple of 4");
    out.perm[size_t(k)].assign(size_t(c.n_layers) * size_t(in), 0);
    for (int l = 0; l < c.n_layers; ++l) {
      std::vector<double> l2, h;
      if (opt.method != PruneMethod::magnitude) {
        const std::vector<ActivationLog>& logs = cal.inputs[size_t(k)];
        if (logs.size() != size_t(c.n_layers) || logs[size_t(l)].in != in || logs[size_t(l)].tokens() == 0)
          throw std::invalid_argument("calibration does not match the model");
        l2 = channel_l2(logs[size_t(l)]);
        if (opt.method == PruneMethod::esparse) h = channel_entropy(logs[size_t(l)], opt.bins);
      }
      const size_t off = size_t(l) * size_t(rows) * size_t(in);
      const float* w = base.linear[size_t(k)].data() + off;
      const std::vector<double> imp = importance(w, rows, in, opt.method, l2, h, opt.alpha);
      PrunedLayer p = prune_layer(w, rows, in, imp, opt.shuffle, opt.block);
      if (report) {
        for (double v : imp) report->total[size_t(k)] += v;
        report->kept[size_t(k)] += kept_importance(imp, rows, in, p.perm);
        report->kept_unshuffled[size_t(k)] += kept_importance(imp, rows, in, identity_perm(in));
      }
      std::copy(p.w.begin(), p.w.end(), out.linear[size_t(k)].begin() + std::ptrdiff_t(off));
      std::copy(p.perm.begin(), p.perm.end(), out.perm[size_t(k)].begin() + std::ptrdiff_t(size_t(l) * size_t(in)));
    }
  }
  return out;
}

LlamaWeights unpermute(const LlamaWeights& w) {
  w.validate();
  LlamaWeights u = w;
  for (int k = 0; k < kLayerLinears; ++k) {
    if (w.perm[size_t(k)].empty()) continue;
    const size_t rows = size_t(linear_out(w.config, LinearKind(k))), in = size_t(linear_in(w.config, LinearKind(k)));
    for (size_t l = 0; l < size_t(w.config.n_layers); ++l) {
      const int32_t* p = &w.perm[size_t(k)][l * in];
      const float* src = &w.linear[size_t(k)][l * rows * in];
      float* dst = &u.linear[size_t(k)][l * rows * in];
      for (size_t i = 0; i < rows; ++i)
        for (size_t j = 0; j < in; ++j) dst[i * in + size_t(p[j])] = src[i * in + j];
    }
    u.perm[size_t(k)].clear();
  }
  return u;
}

}  // namespace ws
