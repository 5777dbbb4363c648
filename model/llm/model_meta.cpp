#include "llm/model_meta.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace ws {
namespace {

FormatError bad(const std::string& key, const std::string& what) {
  return FormatError("metadata " + quote_name(key) + " " + what);
}

nlohmann::json parse_array(const std::string& key, const std::string& s) {
  nlohmann::json j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_array()) throw bad(key, "is not an array");
  return j;
}

}  // namespace

const std::string& ModelMeta::text(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end()) throw bad(key, "is missing");
  return it->second;
}

int64_t ModelMeta::integer(const std::string& key) const {
  const std::string& s = text(key);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0) throw bad(key, "= '" + s + "' is not an integer");
  return v;
}

double ModelMeta::number(const std::string& key) const {
  const std::string& s = text(key);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v)) throw bad(key, "= '" + s + "' is not a finite number");
  return v;
}

std::vector<std::string> ModelMeta::strings(const std::string& key) const {
  std::vector<std::string> out;
  for (const nlohmann::json& e : parse_array(key, text(key))) {
    if (!e.is_string()) throw bad(key, "is not an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<int64_t> ModelMeta::integers(const std::string& key) const {
  std::vector<int64_t> out;
  for (const nlohmann::json& e : parse_array(key, text(key))) {
    if (!e.is_number_integer()) throw bad(key, "is not an array of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::optional<ModelMeta> model_meta(const ModelFile& m) {
  if (m.kind == SourceKind::Gguf) return ModelMeta(gguf_metadata_strings(m.gguf));
  if (m.kind == SourceKind::Safetensors) {
    auto it = m.safetensors.metadata.find("format");
    if (it != m.safetensors.metadata.end() && it->second == "gguf") return ModelMeta(m.safetensors.metadata);
  }
  return std::nullopt;
}

}  // namespace ws
