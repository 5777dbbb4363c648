// What kind of file a container's source was: found by files/ (plan_source), stored in the container's
// index by codec/, reported by ops/.
#pragma once

#include <cstdint>

namespace ws {

enum class SourceKind : uint8_t { Opaque = 0, Safetensors = 1, Llama2c = 2, Gguf = 3 };

inline const char* source_kind_name(SourceKind k) {  // "opaque", "safetensors", "llama2c", "gguf"
  switch (k) {
    case SourceKind::Opaque: return "opaque";
    case SourceKind::Safetensors: return "safetensors";
    case SourceKind::Llama2c: return "llama2c";
    case SourceKind::Gguf: return "gguf";
  }
  return "unknown";
}

}  // namespace ws
