// Importance scores and the 2:4 pruning of a whole model.
#include "prune/esparse.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <future>
#include <stdexcept>

#include "core/threads.hpp"

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
                        int block, NmPattern pattern) {
  return prune_layer(w, out, in, imp, channel_permutation(imp, out, in, shuffle, block, pattern), pattern);
}

PrunedLayer prune_layer(const float* w, int out, int in, const std::vector<double>& imp, std::vector<int32_t> perm,
                        NmPattern pattern) {
  PrunedLayer p;
  p.perm = std::move(perm);
  p.mask = nm_mask(imp, out, in, p.perm, pattern);
  p.w.assign(size_t(out) * size_t(in), 0.0f);
  for (size_t i = 0; i < size_t(out); ++i)
    for (size_t j = 0; j < size_t(in); ++j)
      if (p.mask[i * size_t(in) + j]) p.w[i * size_t(in) + j] = w[i * size_t(in) + size_t(p.perm[j])];
  return p;
}

LlamaWeights prune(const LlamaWeights& dense, const Calibration& cal, const PruneOptions& opt, PruneReport* report) {
  if (opt.bins < 1) throw std::invalid_argument("bins must be >= 1");
  const NmPattern np = opt.pattern;
  // A model that is already permuted (a pruned file) is pruned in its original channel order, the
  // order its calibration activations come in.
  const LlamaWeights base = unpermute(dense);
  const LlamaConfig& c = base.config;
  LlamaWeights out = base;
  for (int k = 0; k < kLayerLinears; ++k) {
    const LinearKind kind = LinearKind(k);
    const int in = linear_in(c, kind);
    if (in % np.m != 0)
      throw std::invalid_argument(std::string(linear_name(kind)) + ": in_features " + std::to_string(in) +
                                  " is not a multiple of " + std::to_string(np.m));
    if (opt.method != PruneMethod::magnitude) {
      const std::vector<ActivationLog>& logs = cal.inputs[size_t(k)];
      if (logs.size() != size_t(c.n_layers)) throw std::invalid_argument("calibration does not match the model");
      for (const ActivationLog& log : logs)
        if (log.in != in || log.tokens() == 0) throw std::invalid_argument("calibration does not match the model");
    }
    out.perm[size_t(k)].assign(size_t(c.n_layers) * size_t(in), 0);
  }
  const bool experts = !opt.expert_order.empty();
  if (experts && (opt.expert_order.size() != size_t(c.n_layers) * size_t(c.hidden_dim) ||
                  opt.expert_bounds.size() < 2 || opt.expert_bounds.back() != c.hidden_dim))
    throw std::invalid_argument("the expert order does not fit the model's hidden dimension");

  // One job per (kind, layer); each writes its own slice of `out`, and the report is summed in order
  // afterwards, so the result is the same for any number of threads.
  struct Job {
    int k, l;
    double total = 0.0, kept = 0.0, kept_unshuffled = 0.0;
  };
  std::vector<Job> jobs;
  for (int k = 0; k < kLayerLinears; ++k)
    for (int l = 0; l < c.n_layers; ++l) jobs.push_back({k, l});
  auto run = [&](Job& job) {
    const size_t k = size_t(job.k);
    const LinearKind kind = LinearKind(job.k);
    const int rows = linear_out(c, kind), in = linear_in(c, kind);
    std::vector<double> l2, h;
    if (opt.method != PruneMethod::magnitude) {
      const ActivationLog& log = cal.inputs[k][size_t(job.l)];
      l2 = channel_l2(log);
      if (opt.method == PruneMethod::esparse) h = channel_entropy(log, opt.bins);
    }
    const size_t off = size_t(job.l) * size_t(rows) * size_t(in);
    const float* w = base.linear[k].data() + off;
    const std::vector<double> imp = importance(w, rows, in, opt.method, l2, h, opt.alpha);
    PrunedLayer p = experts && kind == LinearKind::w2
                        ? prune_layer(w, rows, in, imp,
                                      expert_channel_permutation(imp, rows, in, opt.shuffle, opt.block,
                                                                 opt.expert_order.data() + size_t(job.l) * size_t(in),
                                                                 opt.expert_bounds, np),
                                      np)
                        : prune_layer(w, rows, in, imp, opt.shuffle, opt.block, np);
    if (report) {
      for (double v : imp) job.total += v;
      job.kept = kept_importance(imp, rows, in, p.perm, np);
      job.kept_unshuffled = kept_importance(imp, rows, in, identity_perm(in), np);
    }
    std::copy(p.w.begin(), p.w.end(), out.linear[k].begin() + std::ptrdiff_t(off));
    std::copy(p.perm.begin(), p.perm.end(), out.perm[k].begin() + std::ptrdiff_t(size_t(job.l) * size_t(in)));
  };
  const unsigned threads = std::max(1u, opt.threads);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t j; (j = next++) < jobs.size();) run(jobs[j]);
  };
  {
    ThreadPool pool(threads - 1);  // the calling thread works too
    std::vector<std::future<void>> done;
    for (unsigned t = 1; t < threads; ++t) done.push_back(pool.submit<void>(worker));
    worker();
    for (auto& f : done) f.get();  // rethrows a worker's exception
  }
  if (report)
    for (const Job& job : jobs) {
      report->total[size_t(job.k)] += job.total;
      report->kept[size_t(job.k)] += job.kept;
      report->kept_unshuffled[size_t(job.k)] += job.kept_unshuffled;
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
