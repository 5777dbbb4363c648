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

// One result per model, each model run over every sequence with the same config as `reference`.
// Throws std::invalid_argument if a model's config differs or a sequence does not fit.
std::vector<EvalResult> evaluate(const LlamaWeights& reference, const std::vector<const LlamaWeights*>& models,
                                 const std::vector<std::vector<int>>& seqs);

}  // namespace ws
