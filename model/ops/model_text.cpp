#include "ops/model_text.hpp"

#include "core/error.hpp"

namespace ws {

std::optional<Tokenizer> tokenizer_of(const std::string& model) {
  try {
    return load_tokenizer_if_any(model);
  } catch (const FormatError& e) {
    throw FileError(model, e.what());
  }
}

TextSet model_text_set(const std::string& model, const std::string& text, int& bos) {
  const std::optional<Tokenizer> tok = tokenizer_of(model);
  if (!tok) throw FileError(model, "has no tokenizer, so --text cannot be tokenized (use the GGUF file)");
  bos = window_bos(*tok);
  try {
    return load_text_set(text, *tok);
  } catch (const FormatError& e) {
    throw FileError(text, e.what());
  }
}

std::vector<std::vector<int>> text_part_windows(const std::vector<int>& tokens, int n, int len, int bos,
                                                const std::string& text, const char* part) {
  try {
    return text_windows(tokens, n, len, bos);
  } catch (const FormatError& e) {
    throw FileError(text, std::string(part) + ": " + e.what());
  }
}

}  // namespace ws
