// Held-out evaluation: perplexity and KL divergence from a reference model, token by token.
#include "llm/llama_eval.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>


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

std::vector<EvalResult> evaluate(const LlamaWeights& reference, const std::vector<const LlamaWeights*>& models,
                                 const std::vector<std::vector<int>>& seqs) {
  Llama ref(reference);
  std::vector<std::unique_ptr<Llama>> runs;
  for (const LlamaWeights* m : models) {
    if (!same_config(m->config, reference.config)) throw std::invalid_argument("model config differs from the reference");
    runs.push_back(std::make_unique<Llama>(*m));
  }
  std::vector<EvalResult> res(models.size());
  std::vector<double> lp_ref, lp;
  for (const std::vector<int>& seq : seqs) {
    if (seq.size() > size_t(reference.config.seq_len) + 1) throw std::invalid_argument("sequence longer than seq_len");
    for (size_t pos = 0; pos + 1 < seq.size(); ++pos) {
      if (seq[pos + 1] < 0 || seq[pos + 1] >= reference.config.vocab_size) throw std::invalid_argument("token out of range");
      log_softmax(ref.forward(seq[pos], int(pos)), lp_ref);
      for (size_t m = 0; m < runs.size(); ++m) {
        log_softmax(runs[m]->forward(seq[pos], int(pos)), lp);
        res[m].kl_sum += kl_from_log_probs(lp_ref, lp);
        res[m].nll_sum -= lp[size_t(seq[pos + 1])];
        ++res[m].tokens;
      }
    }
  }
  return res;
}

}  // namespace ws
