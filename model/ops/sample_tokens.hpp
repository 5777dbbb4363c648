// `sample`: token sequences sampled from a llama model (run.c's sampler, llm/llama.hpp
// sample_sequences) into a safetensors file, the training data of train/ (docs/lte.md).
#pragma once

#include <cstdint>
#include <string>

namespace ws {

struct SampleTokensOptions {
  std::string model, out;
  int seqs = 512, len = 128;
  uint64_t seed = 1;
  float temperature = 1.0f;
};

// Writes tensor "tokens", I32 [seqs][len + 1] (each row starts with the file's BOS), metadata model,
// seed, temperature. Returns a one-line report. Throws ws::FileError naming the file at fault.
std::string sample_tokens(const SampleTokensOptions& o);

}  // namespace ws
