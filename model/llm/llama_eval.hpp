// Evaluation of a model against a reference on held-out sequences: perplexity and KL divergence.
#pragma once

#include <cstddef>
#include <vector>

#include "llm/llama.hpp"

namespace ws {

// How well a model predicts held-out sequences, and how far its next-token distribution is from a
// reference model's: perplexity exp(mean NLL) and mean KL(reference || model) per token, in nats.
struct EvalResult {
  double nll_sum = 0.0;
  double kl_sum = 0.0;
  size_t tokens = 0;  // predicted tokens: every token of each sequence after the first
  double perplexity() const;
  double kl() const { return tokens ? kl_sum / double(tokens) : 0.0; }
};
// KL(reference || model) of the next-token distributions softmax(logits), in nats (computed in double).
double kl_divergence(const std::vector<float>& reference_logits, const std::vector<float>& logits);

// The reference's logits at every predicted position of the held-out sequences, kept so that models
// can be scored one after another (one model in memory at a time): tokens x vocab floats (SmolLM2,
// 1,024 tokens: 200 MB). `threads` split each product's rows; the numbers do not depend on it.
// Throws std::invalid_argument if a sequence does not fit the model or holds a token out of range.
class Evaluator {
 public:
  Evaluator(const LlamaWeights& reference, std::vector<std::vector<int>> seqs, unsigned threads = 1);
  const EvalResult& reference_result() const { return reference_; }  // KL 0
  const LlamaConfig& config() const { return config_; }
  // Throws std::invalid_argument if the model's config differs from the reference's. With a gate, the
  // model's FFN runs only the experts the gate leaves on (LTE, llm/lte.hpp); with a mixer, its attention
  // is the mixer's (DiJiang, llm/dijiang.hpp), which each sequence starts afresh at position 0.
  EvalResult score(const LlamaWeights& model, FfnGate* gate = nullptr, AttentionMixer* mixer = nullptr) const;

 private:
  // Runs w over every sequence, calling visit(index of the predicted token, its logits, the token).
  template <class Visit>
  void run(const LlamaWeights& w, FfnGate* gate, AttentionMixer* mixer, Visit&& visit) const;

  LlamaConfig config_;
  std::vector<std::vector<int>> seqs_;
  unsigned threads_;
  std::vector<float> logits_;  // [predicted token][vocab]
  EvalResult reference_;
};

// One result per model, each model run over every sequence with the same config as `reference`.
// Throws std::invalid_argument if a model's config differs or a sequence does not fit.
std::vector<EvalResult> evaluate(const LlamaWeights& reference, const std::vector<const LlamaWeights*>& models,
                                 const std::vector<std::vector<int>>& seqs, unsigned threads = 1);

}  // namespace ws
