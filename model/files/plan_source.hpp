// What a source file holds, as segments that tile it (format detection: safetensors, GGUF, llama2.c,
// or opaque). Coded tensors become tensor segments; everything else (headers, gaps, other dtypes)
// becomes literal segments, adjacent ones merged. The compressor stores each as planned.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ggml_type.hpp"
#include "core/io.hpp"
#include "core/source_kind.hpp"
#include "numfmt/value_format.hpp"

namespace ws {

struct PlannedSegment {
  bool tensor = false;
  uint64_t source_offset = 0;
  uint64_t length = 0;
  std::string name;
  ValueFormat format;              // a tensor of values in a number format, or
  bool quantized = false;          // a GGUF tensor of Q4_0/Q4_1/Q8_0 blocks of type `quant`
  GgmlType quant = GgmlType::F32;
  std::vector<uint64_t> dims;      // row-major (a GGUF tensor's ne reversed)
};

struct SourcePlan {
  SourceKind kind = SourceKind::Opaque;
  uint64_t size = 0;
  std::vector<PlannedSegment> segments;
};

// Throws ws::FormatError for a file that claims to be safetensors or GGUF but has a bad header.
SourcePlan plan_source(const ByteSource& source);

}  // namespace ws
