// Converting a model's float tensors (docs/tool.md, `convert --to` and `compress --format`): a
// safetensors file or llama2.c .bin in, a safetensors file out.
#pragma once

#include <cstdint>
#include <string>

#include "core/io.hpp"
#include "numfmt/value_format.hpp"

namespace ws {

struct ConvertResult {
  uint64_t tensors = 0;    // in the output
  uint64_t converted = 0;  // of which converted (float tensors in another format)
  uint64_t values = 0;     // all tensors' values
  uint64_t rounded = 0;    // values that changed (only with round)
  uint64_t bytes = 0;      // written
};

// Writes `in` (safetensors or llama2.c) as safetensors with every F32, F16 and BF16 tensor in format
// f; other dtypes are copied. A value f cannot hold exactly throws ws::FormatError naming the tensor
// and the value's index, unless `round` (nearest, ties to even, numfmt::Format::encode). Tensors of a
// format without a safetensors dtype are stored as U8/U16 with __metadata__
// "weightstream.format.<tensor>" = the format's name. Names, shapes, order and __metadata__ are kept.
ConvertResult convert_to_format(const ByteSource& in, ByteSink& out, const ValueFormat& f, bool round,
                                const Progress& progress = {});

// `convert --to bf16`: every F32 and F16 tensor rounded to bf16 (nearest, ties to even; no error for
// inexact values), BF16 and other dtypes copied. A llama2.c model's config goes into __metadata__.
ConvertResult convert_to_bf16(const ByteSource& in, ByteSink& out, const Progress& progress = {});

// The lines the tool prints: `convert --to <f>`, `convert --to bf16`, and `compress --format <f>`'s
// conversion in memory (a line of its own before the compress line).
std::string convert_summary(const std::string& in, const std::string& out, const ConvertResult& r, const ValueFormat& f);
std::string convert_bf16_summary(const std::string& in, const std::string& out, const ConvertResult& r);
std::string format_conversion_summary(const std::string& in, const ConvertResult& r, const ValueFormat& f);

}  // namespace ws
