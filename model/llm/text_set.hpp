// Real text as an evaluation and calibration set: a text file (for example Debian's fortunes data,
// entries separated by lines holding "%") split once, at an entry boundary near its middle, into a
// calibration part and a disjoint held-out part, each tokenized with the model's own tokenizer and cut
// into windows the forward pass runs over (docs/llm.md, "Evaluation on real text").
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "llm/tokenizer.hpp"

namespace ws {

struct TextSet {
  std::string calibration_text, held_out_text;  // the two parts of the file, verbatim
  std::vector<int> calibration, held_out;       // their tokens
};

// Reads `path` and splits it at the first entry start at or after the middle byte: the line after a
// "%" line (the "%" line itself belongs to neither part), else the first line start. Throws ws::IoError for a file that cannot be read, ws::FormatError for one too short to give
// both parts a token.
TextSet load_text_set(const std::string& path, const Tokenizer& tok);

// Windows cut one after another from `tokens`, each giving `len` predicted tokens: [bos] + len tokens
// when bos >= 0 (a model whose file sets tokenizer.ggml.add_bos_token), else len + 1 tokens (the first
// is context only). n = 0: as many as fit. Throws ws::FormatError when fewer than n (or none) fit.
std::vector<std::vector<int>> text_windows(const std::vector<int>& tokens, int n, int len, int bos);

// The start token text windows get from a tokenizer: its BOS when the file asks for one, else none (-1).
int window_bos(const Tokenizer& tok);

}  // namespace ws
