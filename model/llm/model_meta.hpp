// A model's metadata under GGUF's keys ("llama.block_count", "tokenizer.ggml.tokens", ...) as strings,
// with typed, checked access. One form for both files that carry it: a GGUF file (its metadata through
// gguf_metadata_strings) and the safetensors file `convert` writes from one (the same strings in
// __metadata__), so the model config and the tokenizer are read from either by one piece of code.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "files/model_file.hpp"

namespace ws {

class ModelMeta {
 public:
  explicit ModelMeta(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  // Missing keys and values of the wrong kind throw ws::FormatError naming the key.
  const std::string& text(const std::string& key) const;
  int64_t integer(const std::string& key) const;
  int64_t integer(const std::string& key, int64_t fallback) const { return has(key) ? integer(key) : fallback; }
  double number(const std::string& key) const;
  double number(const std::string& key, double fallback) const { return has(key) ? number(key) : fallback; }
  std::vector<std::string> strings(const std::string& key) const;  // a JSON array of strings
  std::vector<int64_t> integers(const std::string& key) const;     // a JSON array of integers

 private:
  std::map<std::string, std::string> values_;
};

// The metadata of a model file: a GGUF file's, or a safetensors file's __metadata__ when its "format"
// is "gguf" (what `convert` writes from GGUF); nullopt for any other file.
std::optional<ModelMeta> model_meta(const ModelFile& m);

}  // namespace ws
