// The one answer to "is this file safetensors, GGUF, llama2.c or none of them?": the compressor's plan,
// convert, the model loader and the token factory all ask here.
#pragma once

#include <string>

#include "core/io.hpp"
#include "core/source_kind.hpp"
#include "files/gguf.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"

namespace ws {

struct ModelFile {
  SourceKind kind = SourceKind::Opaque;
  SafetensorsFile safetensors;  // kind == Safetensors: the parsed header
  GgufFile gguf;                // kind == Gguf: the parsed header, metadata and tensor infos
  Llama2cFile llama2c;          // kind == Llama2c: the layout its header implies
  std::string not_llama2c;      // kind == Opaque: why it is no llama2.c model (parse_llama2c's error)
};

// Safetensors when the first bytes say so (looks_like_safetensors), GGUF when they are its magic; then
// the header must parse: a bad one throws ws::FormatError. Else llama2.c when its header parses and the
// file size matches; else opaque, since nothing in an opaque file certifies a format.
ModelFile detect_model_file(const ByteSource& src);

// detect_model_file for operations that need a model: an opaque file throws ws::FormatError
// "neither safetensors, GGUF nor a llama2.c model (<why>)".
ModelFile require_model_file(const ByteSource& src);

}  // namespace ws
