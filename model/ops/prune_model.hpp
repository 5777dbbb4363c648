// `prune` (N:M pruning of a llama model: magnitude, Wanda or E-Sparse, with optional channel shuffle,
// into safetensors) and `eval` (perplexity and KL on held-out sequences), docs/esparse.md.
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
  uint64_t seed = 1;                // calibration sampling seed (without `text`)
  std::string text;                 // calibrate on this text's calibration part (llm/text_set.hpp)
  unsigned threads = 0;             // calibration and pruning threads (0: one per core); same result
  std::string lte;                  // LTE side file: w2's channel shuffle kept inside its experts (docs/lte.md)
};

// Loads `in`, calibrates on sequences sampled from it (or on windows of the calibration part of
// `text`, tokenized with the file's tokenizer), prunes, saves `out` with the pattern, the method and its
// parameters in __metadata__, and returns the report: what ran, the importance the masks keep, the
// calibration and pruning time and the peak memory (getrusage's ru_maxrss).
std::string prune_model(const PruneModelOptions& o);

struct EvalModelsOptions {
  std::string dense;                // samples (or tokenizes) the held-out sequences; the reference of the KL
  std::vector<std::string> pruned;  // models to compare with it
  int seqs = 16, len = 256;         // with `text`, seqs = 0: every window the held-out part holds
  uint64_t seed = 2;  // not prune's default calibration seed: held-out means unseen
  std::string text;   // held-out windows of this text (llm/text_set.hpp) instead of sampled sequences
  unsigned threads = 0;
  // LTE (docs/lte.md): one side file for every model (DENSE when no model is given), or one per model.
  // Each model runs in the side file's expert order with all experts on, then with its routers (a side
  // file with routers) or with the activation-norm baseline at each fraction of `lte_norm` (without).
  std::vector<std::string> lte;
  std::vector<double> lte_norm;
  // With one model and one gate (its routers, or one --lte-norm fraction): the gate's decisions per token
  // and layer on the held-out sequences, into this safetensors file (docs/token_factory.md section 7).
  std::string lte_dump;
  // DiJiang (docs/dijiang.md): one side file for every model (DENSE when no model is given), or one per
  // model; each model runs with its side file's DiJiang attention in place of softmax attention.
  std::vector<std::string> dijiang;
};

// Perplexity and KL from the dense model of every model on the held-out sequences, as a table. The
// models are loaded one after another, so memory holds the dense logits and one model at a time.
std::string evaluate_models(const EvalModelsOptions& o);

}  // namespace ws
