// `prune` (2:4 pruning of a llama2.c model: magnitude, Wanda or E-Sparse, with optional channel
// shuffle, into safetensors) and `eval` (perplexity and KL on held-out sequences), docs/esparse.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "prune/esparse.hpp"

namespace ws {

// Both commands read several models, so a model that does not load, or does not match, throws a
// ws::FileError naming it (core/error.hpp); a bad option throws one with an empty path.

struct PruneModelOptions {
  std::string in, out;
  PruneOptions prune;
  int calib = 16, calib_len = 256;  // calibration sequences and tokens each (not for magnitude)
  uint64_t seed = 1;                // calibration sampling seed
};

// Loads `in`, calibrates on sequences sampled from it, prunes, saves `out` with the method and its
// parameters in __metadata__, and returns the report: what ran and the importance the masks keep.
std::string prune_model(const PruneModelOptions& o);

struct EvalModelsOptions {
  std::string dense;                // samples the held-out sequences; the reference of the KL
  std::vector<std::string> pruned;  // models to compare with it
  int seqs = 16, len = 256;
  uint64_t seed = 2;  // not prune's default calibration seed: held-out means unseen
};

// Perplexity and KL from the dense model of every model on the held-out sequences, as a table.
std::string evaluate_models(const EvalModelsOptions& o);

}  // namespace ws
