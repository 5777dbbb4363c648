#include "files/model_file.hpp"

#include <algorithm>
#include <vector>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {

ModelFile detect_model_file(const ByteSource& src) {
  ModelFile m;
  const uint64_t size = src.size();
  uint8_t first[kLlama2cHeaderBytes] = {};
  const size_t n = size_t(std::min<uint64_t>(size, sizeof first));
  src.read(0, first, n);

  if (looks_like_safetensors(first, n, size)) {
    const uint64_t json_size = load_le64(first);
    // Checked before the read, so a hostile length allocates nothing.
    if (json_size > kSafetensorsMaxHeader)
      throw FormatError("safetensors header of " + std::to_string(json_size) + " bytes is above the 100 MB limit");
    const std::vector<uint8_t> json = src.read(8, size_t(json_size));
    m.safetensors = parse_safetensors_header(json.data(), json.size(), size);
    m.kind = SourceKind::Safetensors;
    return m;
  }
  if (looks_like_gguf(first, n)) {
    m.gguf = parse_gguf(src);
    m.kind = SourceKind::Gguf;
    return m;
  }
  try {
    m.llama2c = parse_llama2c(first, size);
    m.kind = SourceKind::Llama2c;
  } catch (const FormatError& e) {
    m.not_llama2c = e.what();
  }
  return m;
}

ModelFile require_model_file(const ByteSource& src) {
  ModelFile m = detect_model_file(src);
  if (m.kind == SourceKind::Opaque)
    throw FormatError("neither safetensors, GGUF nor a llama2.c model (" +
                      (src.size() < kLlama2cHeaderBytes ? std::string("too short") : m.not_llama2c) + ")");
  return m;
}

}  // namespace ws
