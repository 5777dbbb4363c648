// Real text read under a model's own tokenizer, for `prune --text`, `eval --text` and `sample --text`
// (docs/llm.md, "Evaluation on real text"): every error names the file at fault.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llm/text_set.hpp"
#include "llm/tokenizer.hpp"

namespace ws {

// The model file's tokenizer, nullopt for a file that carries none (a llama2.c .bin).
std::optional<Tokenizer> tokenizer_of(const std::string& model);

// The text set of `text` under the model's tokenizer and the windows' start token (window_bos); a model
// without a tokenizer cannot read text.
TextSet model_text_set(const std::string& model, const std::string& text, int& bos);

// text_windows of one part of that set (`part` names it in the error).
std::vector<std::vector<int>> text_part_windows(const std::vector<int>& tokens, int n, int len, int bos,
                                                const std::string& text, const char* part);

}  // namespace ws
