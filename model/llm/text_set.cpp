// Real text for evaluation: the split, the tokens, the windows.
#include "llm/text_set.hpp"

#include "core/error.hpp"
#include "core/io.hpp"

namespace ws {

TextSet load_text_set(const std::string& path, const Tokenizer& tok) {
  const FileSource src(path);
  const std::vector<uint8_t> bytes = src.read(0, size_t(src.size()));
  const std::string text(bytes.begin(), bytes.end());
  const size_t mid = text.size() / 2;
  size_t end_first = std::string::npos, start_second = std::string::npos;
  const size_t sep = text.find("\n%\n", mid == 0 ? 0 : mid - 1);
  if (sep != std::string::npos) {
    end_first = sep + 1;  // the first part keeps its last entry's line break
    start_second = sep + 3;
  } else {  // no entry starts after the middle: at a line start
    const size_t nl = text.find('\n', mid == 0 ? 0 : mid - 1);
    if (nl != std::string::npos) end_first = start_second = nl + 1;
  }
  TextSet s;
  if (end_first != std::string::npos) {
    s.calibration_text = text.substr(0, end_first);
    s.held_out_text = text.substr(start_second);
    s.calibration = tok.encode(s.calibration_text);
    s.held_out = tok.encode(s.held_out_text);
  }
  if (s.calibration.empty() || s.held_out.empty())
    throw FormatError("the text is too short to split into a calibration part and a held-out part (" +
                      std::to_string(text.size()) + " bytes)");
  return s;
}

std::vector<std::vector<int>> text_windows(const std::vector<int>& tokens, int n, int len, int bos) {
  if (len < 1 || n < 0) throw FormatError("text windows need len >= 1 and n >= 0");
  const size_t take = bos >= 0 ? size_t(len) : size_t(len) + 1;  // text tokens per window
  const size_t fit = tokens.size() / take;
  if (size_t(n) > fit || fit == 0)
    throw FormatError("the text part has " + std::to_string(tokens.size()) + " tokens: " + std::to_string(fit) +
                      " windows of " + std::to_string(len) + " predicted tokens, not " + std::to_string(n));
  std::vector<std::vector<int>> out;
  for (size_t w = 0; w < (n ? size_t(n) : fit); ++w) {
    std::vector<int> seq;
    if (bos >= 0) seq.push_back(bos);
    seq.insert(seq.end(), tokens.begin() + std::ptrdiff_t(w * take), tokens.begin() + std::ptrdiff_t((w + 1) * take));
    out.push_back(std::move(seq));
  }
  return out;
}

int window_bos(const Tokenizer& tok) { return tok.add_bos() && tok.bos() >= 0 ? tok.bos() : -1; }

}  // namespace ws
