#include "files/plan_source.hpp"

#include <algorithm>

#include "core/bytes.hpp"
#include "core/error.hpp"
#include "files/llama2c.hpp"
#include "files/safetensors.hpp"

namespace ws {
namespace {

// Appends a piece of the source to the plan, merging neighbouring literals.
void add_literal(SourcePlan& plan, uint64_t offset, uint64_t length) {
  if (length == 0) return;
  if (!plan.segments.empty() && !plan.segments.back().tensor) {
    plan.segments.back().length += length;
    return;
  }
  PlannedSegment s;
  s.source_offset = offset;
  s.length = length;
  plan.segments.push_back(s);
}

void add_tensor(SourcePlan& plan, uint64_t offset, uint64_t length, const std::string& name, const ValueFormat& format,
                const std::vector<uint64_t>& dims) {
  PlannedSegment s;
  s.tensor = true;
  s.source_offset = offset;
  s.length = length;
  s.name = name;
  s.format = format;
  s.dims = dims;
  plan.segments.push_back(s);
}

}  // namespace

SourcePlan plan_source(const ByteSource& src) {
  SourcePlan plan;
  plan.size = src.size();
  uint8_t first[kLlama2cHeaderBytes] = {};
  const size_t n = size_t(std::min<uint64_t>(plan.size, sizeof first));
  src.read(0, first, n);

  if (looks_like_safetensors(first, n, plan.size)) {
    const uint64_t json_size = load_le(first, 8);
    if (json_size > kSafetensorsMaxHeader)
      throw FormatError("safetensors header of " + std::to_string(json_size) + " bytes is above the 100 MB limit");
    const std::vector<uint8_t> json = src.read(8, size_t(json_size));
    const SafetensorsFile st = parse_safetensors_header(json.data(), json.size(), plan.size);
    plan.kind = SourceKind::Safetensors;
    uint64_t at = 0;
    for (const SafetensorsTensor& t : st.tensors) {
      add_literal(plan, at, t.offset - at);  // header and any gap before the tensor
      const auto key = st.metadata.find(safetensors_format_key(t.name));
      const ValueFormat f = safetensors_value_format(t.dtype, key == st.metadata.end() ? "" : key->second, t.name);
      if (f.empty())
        add_literal(plan, t.offset, t.size);
      else
        add_tensor(plan, t.offset, t.size, t.name, f, t.shape);
      at = t.offset + t.size;
    }
    add_literal(plan, at, plan.size - at);
    return plan;
  }

  if (n == kLlama2cHeaderBytes) {
    try {
      const Llama2cFile f = parse_llama2c(first, plan.size);
      plan.kind = SourceKind::Llama2c;
      add_literal(plan, 0, kLlama2cHeaderBytes);
      for (const Llama2cArray& a : f.arrays) add_tensor(plan, a.offset, a.byte_size(), a.name, ValueFormat::of_dtype(DType::F32), a.shape);
      return plan;
    } catch (const FormatError&) {
      // Not a llama2.c model after all: nothing in an opaque file certifies the format.
    }
  }

  plan.kind = SourceKind::Opaque;
  add_literal(plan, 0, plan.size);
  return plan;
}

}  // namespace ws
