// Held-out evaluation: perplexity and KL divergence from a reference model, token by token.
#include "llm/llama_eval.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "core/threads.hpp"

namespace ws {
namespace {

// log softmax in double, so the KL of near-identical models is not rounding noise.
void log_softmax(const std::vector<float>& logits, std::vector<double>& out) {
  out.resize(logits.size());
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, double(v));
  double sum = 0.0;
  for (float v : logits) sum += std::exp(double(v) - mx);
  const double lse = mx + std::log(sum);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - lse;
}

double kl_from_log_probs(const std::vector<double>& lp_ref, const std::vector<double>& lp) {
  double kl = 0.0;
  for (size_t v = 0; v < lp.size(); ++v) kl += std::exp(lp_ref[v]) * (lp_ref[v] - lp[v]);
  return kl;
}

}  // namespace

double kl_divergence(const std::vector<float>& reference_logits, const std::vector<float>& logits) {
  if (reference_logits.size() != logits.size() || logits.empty())
    throw std::invalid_argument("kl_divergence: logits of different or zero size");
  std::vector<double> lp_ref, lp;
  log_softmax(reference_logits, lp_ref);
  log_softmax(logits, lp);
  return kl_from_log_probs(lp_ref, lp);
}

double EvalResult::perplexity() const { return tokens ? std::exp(nll_sum / double(tokens)) : 0.0; }

template <class Visit>
void Evaluator::run(const LlamaWeights& w, FfnGate* gate, AttentionMixer* mixer, Visit&& visit) const {
  size_t longest = 0;
  for (const std::vector<int>& seq : seqs_) longest = std::max(longest, seq.size());
  Llama model(w, int(longest));  // the cache for the positions the sequences reach
  ThreadPool pool(threads_ - 1);
  if (threads_ > 1) model.set_hook(parallel_matvec(pool, threads_));
  model.set_ffn_gate(gate);
  model.set_attention(mixer);
  size_t at = 0;
  for (const std::vector<int>& seq : seqs_)
    for (size_t pos = 0; pos + 1 < seq.size(); ++pos) visit(at++, model.forward(seq[pos], int(pos)), seq[pos + 1]);
}

Evaluator::Evaluator(const LlamaWeights& reference, std::vector<std::vector<int>> seqs, unsigned threads)
    : config_(reference.config), seqs_(std::move(seqs)), threads_(std::max(1u, threads)) {
  size_t predicted = 0;
  for (const std::vector<int>& seq : seqs_) {
    if (seq.size() > size_t(config_.seq_len) + 1) throw std::invalid_argument("sequence longer than seq_len");
    for (int t : seq)
      if (t < 0 || t >= config_.vocab_size) throw std::invalid_argument("token out of range");
    if (!seq.empty()) predicted += seq.size() - 1;
  }
  const size_t vocab = size_t(config_.vocab_size);
  logits_.resize(predicted * vocab);
  std::vector<double> lp;
  run(reference, nullptr, nullptr, [&](size_t at, const std::vector<float>& logits, int next) {
    std::copy(logits.begin(), logits.end(), logits_.begin() + std::ptrdiff_t(at * vocab));
    log_softmax(logits, lp);
    reference_.nll_sum -= lp[size_t(next)];
    ++reference_.tokens;
  });
}

EvalResult Evaluator::score(const LlamaWeights& model, FfnGate* gate, AttentionMixer* mixer) const {
  if (!same_config(model.config, config_)) throw std::invalid_argument("model config differs from the reference");
  const size_t vocab = size_t(config_.vocab_size);
  EvalResult r;
  std::vector<float> ref(vocab);
  std::vector<double> lp_ref, lp;
  run(model, gate, mixer, [&](size_t at, const std::vector<float>& logits, int next) {
    std::copy(logits_.begin() + std::ptrdiff_t(at * vocab), logits_.begin() + std::ptrdiff_t((at + 1) * vocab), ref.begin());
    log_softmax(ref, lp_ref);
    log_softmax(logits, lp);
    r.kl_sum += kl_from_log_probs(lp_ref, lp);
    r.nll_sum -= lp[size_t(next)];
    ++r.tokens;
  });
  return r;
}

std::vector<EvalResult> evaluate(const LlamaWeights& reference, const std::vector<const LlamaWeights*>& models,
                                 const std::vector<std::vector<int>>& seqs, unsigned threads) {
  for (const LlamaWeights* m : models)
    if (!same_config(m->config, reference.config)) throw std::invalid_argument("model config differs from the reference");
  const Evaluator ev(reference, seqs, threads);
  std::vector<EvalResult> res;
  for (const LlamaWeights* m : models) res.push_back(ev.score(*m));
  return res;
}

}  // namespace ws
