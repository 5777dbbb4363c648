// Calibration for pruning: the input activations of every linear layer over calibration tokens, and
// the per-input-channel statistics the importance scores use (L2 norm and information entropy).
#pragma once

#include <array>
#include <vector>

#include "llm/llama.hpp"

namespace ws {

// The input vectors one linear layer saw, one row per calibration token: x[t * in + j].
struct ActivationLog {
  int in = 0;
  std::vector<float> x;
  size_t tokens() const { return in ? x.size() / size_t(in) : 0; }
};

struct Calibration {
  // inputs[kind][layer] for the kinds wq .. w3 (the classifier is not pruned, so not recorded).
  std::array<std::vector<ActivationLog>, kLayerLinears> inputs;
  size_t tokens = 0;
};

// Runs the model over each sequence (positions 0 .. size-2, every token but the last as input, as
// when the sequence was sampled) and records the input of every linear layer. `threads` split each
// product's rows (the same numbers for any count).
Calibration calibrate(const LlamaWeights& w, const std::vector<std::vector<int>>& seqs, unsigned threads = 1);

// ||X_j||_2 over the tokens, for each input channel j.
std::vector<double> channel_l2(const ActivationLog& log);

// Entropy H_j in bits of channel j's activations: a histogram of `bins` equal-width bins spanning the
// channel's own [min, max] over the tokens, H_j = -sum p log2 p. A constant channel has H_j = 0.
std::vector<double> channel_entropy(const ActivationLog& log, int bins);

}  // namespace ws
