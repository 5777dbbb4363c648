// N:M (2:4, 4:8) pruning of a llama model: importance scores (magnitude, Wanda, E-Sparse), an optional
// channel shuffle (prune/shuffle.hpp), and the pruned model: every linear weight stored permuted and
// N:M-masked (dense layout with zeros) with its permutation, computing the same function as its masked twin.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "llm/llama.hpp"
#include "prune/calib.hpp"
#include "prune/shuffle.hpp"

namespace ws {

enum class PruneMethod { magnitude, wanda, esparse };
const char* method_name(PruneMethod m);
PruneMethod parse_method(const std::string& s);  // throws std::invalid_argument

struct PruneOptions {
  PruneMethod method = PruneMethod::esparse;
  ShuffleMode shuffle = ShuffleMode::global_local;
  double alpha = 1.0;  // E-Sparse: |W| * (H / alpha + ||X||); docs/esparse.md has the sweep
  int bins = 64;       // entropy histogram bins
  int block = 32;      // local shuffle block, in channels
  NmPattern pattern;   // keep n of every m input channels: 2:4 (default) or 4:8
  unsigned threads = 1;  // layers pruned in parallel (the result does not depend on it)
  // LTE (docs/lte.md): w2's channel shuffle kept inside each expert (expert_channel_permutation), so the
  // pruned model composes with the expert order. expert_order [L][hidden] is the side file's lte.order,
  // expert_bounds its experts; empty: the shuffle ranges over all of w2's input channels.
  std::vector<int32_t> expert_order;
  std::vector<int> expert_bounds;
};

// Importance [out][in] of weight w [out][in]:
//   magnitude |W_ij|;  wanda |W_ij| * l2_j;  esparse |W_ij| * (H_j / alpha + l2_j).
// l2 and entropy (per input channel) are unused by magnitude and may then be empty.
std::vector<double> importance(const float* w, int out, int in, PruneMethod m, const std::vector<double>& l2,
                               const std::vector<double>& entropy, double alpha);

struct PrunedLayer {
  std::vector<int32_t> perm;   // [in]
  std::vector<uint8_t> mask;   // [out][in], of the permuted columns; n per group of m
  std::vector<float> w;        // [out][in]: W'[i][j] = mask ? W[i][perm[j]] : 0
};
PrunedLayer prune_layer(const float* w, int out, int in, const std::vector<double>& imp, ShuffleMode shuffle,
                        int block, NmPattern pattern = {});
// The same with the permutation given.
PrunedLayer prune_layer(const float* w, int out, int in, const std::vector<double>& imp, std::vector<int32_t> perm,
                        NmPattern pattern = {});

// Importance summed per linear kind over the layers: all of it, what the mask keeps, and what it would
// keep without the shuffle (identity permutation), to show what shuffling bought.
struct PruneReport {
  std::array<double, kLayerLinears> total{}, kept{}, kept_unshuffled{};
};

// Prunes every linear layer wq .. w3 of every transformer layer; the rest is copied. `cal` may be
// empty for magnitude. Throws std::invalid_argument on bad options or a calibration of another model.
LlamaWeights prune(const LlamaWeights& dense, const Calibration& cal, const PruneOptions& opt,
                   PruneReport* report = nullptr);

// The unpermuted twin of a pruned model: W[i][perm[j]] = W'[i][j], identity permutation.
LlamaWeights unpermute(const LlamaWeights& w);

}  // namespace ws
