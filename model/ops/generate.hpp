// `generate`: text in, text out. Loads a model (GGUF, safetensors, llama2.c .bin) and its tokenizer,
// encodes the prompt (optionally under the chat template), runs the forward pass over it and samples
// the answer token by token with run.c's sampler, handing each token's text on as soon as it exists.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace ws {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  int max_tokens = 128;      // generated tokens at most; fewer when the model ends its answer
  float temperature = 0.0f;  // 0: greedy (argmax), else run.c's multinomial sampling
  uint64_t seed = 1;         // the sampler's seed
  bool chat = false;         // wrap the prompt in the model's chat template (ChatML)
  unsigned threads = 0;      // rows of each product split over T threads (0: one per core); same numbers
};

struct GenerateResult {
  int prompt_tokens = 0;
  int generated = 0;         // sampled tokens, the one that ended the answer included
  double prompt_seconds = 0.0;
  double generate_seconds = 0.0;
  bool stopped = false;      // ended by end-of-sequence (or <|im_end|>) before max_tokens
};

// Runs it; `emit` receives the answer's bytes piece by piece (control tokens give nothing).
// Throws ws::FormatError: the model or tokenizer does not load, the prompt is empty or too long.
GenerateResult generate(const GenerateOptions& o, const std::function<void(const std::string&)>& emit);

// "N prompt tokens in X s, M tokens in Y s: Z tokens/s" for stderr.
std::string generate_summary(const GenerateResult& r);

}  // namespace ws
