// Calibration: record linear-layer inputs through the forward pass's hook, then reduce per channel.
#include "prune/calib.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/threads.hpp"

namespace ws {

Calibration calibrate(const LlamaWeights& w, const std::vector<std::vector<int>>& seqs, unsigned threads) {
  size_t longest = 0;
  for (const std::vector<int>& seq : seqs) longest = std::max(longest, seq.size());
  Llama model(w, int(std::min<size_t>(longest, size_t(w.config.seq_len))));  // no cache for unused positions
  threads = std::max(1u, threads);
  ThreadPool pool(threads - 1);
  const LinearHook product = threads > 1 ? parallel_matvec(pool, threads) : LinearHook(matvec);
  Calibration cal;
  for (int k = 0; k < kLayerLinears; ++k) {
    cal.inputs[size_t(k)].resize(size_t(w.config.n_layers));
    for (ActivationLog& log : cal.inputs[size_t(k)]) log.in = linear_in(w.config, LinearKind(k));
  }
  model.set_hook([&cal, &product](const LinearView& lv, const float* x, float* y) {
    if (lv.kind != LinearKind::cls) {
      std::vector<float>& rec = cal.inputs[size_t(lv.kind)][size_t(lv.layer)].x;
      rec.insert(rec.end(), x, x + lv.in);
    }
    product(lv, x, y);
  });
  for (const std::vector<int>& seq : seqs) {
    for (size_t pos = 0; pos + 1 < seq.size(); ++pos) {
      model.forward(seq[pos], int(pos));
      ++cal.tokens;
    }
  }
  return cal;
}

std::vector<double> channel_l2(const ActivationLog& log) {
  std::vector<double> ss(size_t(log.in), 0.0);
  const size_t T = log.tokens(), in = size_t(log.in);
  for (size_t t = 0; t < T; ++t)
    for (size_t j = 0; j < in; ++j) ss[j] += double(log.x[t * in + j]) * double(log.x[t * in + j]);
  for (double& v : ss) v = std::sqrt(v);
  return ss;
}

std::vector<double> channel_entropy(const ActivationLog& log, int bins) {
  if (bins < 1) throw std::invalid_argument("channel_entropy: bins must be >= 1");
  const size_t T = log.tokens(), in = size_t(log.in);
  std::vector<double> h(in, 0.0);
  std::vector<size_t> count(static_cast<size_t>(bins));
  for (size_t j = 0; j < in; ++j) {
    if (T == 0) continue;
    double lo = log.x[j], hi = log.x[j];
    for (size_t t = 1; t < T; ++t) {
      double v = log.x[t * in + j];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    if (!(hi > lo) || !std::isfinite(hi - lo)) continue;  // one value only (or not finite): no information
    std::fill(count.begin(), count.end(), 0);
    for (size_t t = 0; t < T; ++t) {
      double u = (double(log.x[t * in + j]) - lo) / (hi - lo) * bins;
      // The maximum falls in the last bin; NaN (u fails both tests) in the first.
      size_t b = u >= bins ? size_t(bins - 1) : u > 0 ? size_t(u) : 0;
      ++count[b];
    }
    double e = 0.0;
    for (size_t c : count)
      if (c) {
        double p = double(c) / double(T);
        e -= p * std::log2(p);
      }
    h[j] = e;
  }
  return h;
}

}  // namespace ws
