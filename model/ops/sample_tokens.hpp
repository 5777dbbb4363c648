// `sample`: token sequences sampled from a llama model (run.c's sampler, llm/llama.hpp
// sample_sequences), or windows of real text's calibration part (--text), into a safetensors file:
// the training data of train/ (docs/lte.md, docs/dijiang.md).
#pragma once

#include <cstdint>
#include <string>

namespace ws {

struct SampleTokensOptions {
  std::string model, out;
  std::string text;  // not empty: windows of this text's calibration part instead of sampled sequences
  int seqs = 512, len = 128;  // with text, seqs 0 = every window that fits
  uint64_t seed = 1;
  float temperature = 1.0f;
};

// Writes tensor "tokens", I32 [seqs][len + 1] (sampled rows start with the file's BOS; text windows as
// `eval --text` cuts them, llm/text_set.hpp), metadata model and seed, temperature or text. Returns a one-line report. Throws ws::FileError naming the file at fault.
std::string sample_tokens(const SampleTokensOptions& o);

}  // namespace ws
