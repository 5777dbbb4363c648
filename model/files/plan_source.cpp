#include "files/plan_source.hpp"

#include <algorithm>

#include "files/model_file.hpp"

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

PlannedSegment& add_tensor(SourcePlan& plan, uint64_t offset, uint64_t length, const std::string& name,
                           const ValueFormat& format, const std::vector<uint64_t>& dims) {
  PlannedSegment s;
  s.tensor = true;
  s.source_offset = offset;
  s.length = length;
  s.name = name;
  s.format = format;
  s.dims = dims;
  plan.segments.push_back(s);
  return plan.segments.back();
}

// The format a GGUF tensor of type t is coded in: F32, F16, BF16 as numbers; empty for the rest.
ValueFormat gguf_value_format(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return ValueFormat::of_dtype(DType::F32);
    case GgmlType::F16: return ValueFormat::of_dtype(DType::F16);
    case GgmlType::BF16: return ValueFormat::of_dtype(DType::BF16);
    default: return ValueFormat();
  }
}

}  // namespace

SourcePlan plan_source(const ByteSource& src) {
  SourcePlan plan;
  plan.size = src.size();
  const ModelFile m = detect_model_file(src);
  plan.kind = m.kind;

  if (m.kind == SourceKind::Safetensors) {
    const SafetensorsFile& st = m.safetensors;
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

  if (m.kind == SourceKind::Gguf) {
    // Header, metadata, infos and padding are literal; F32/F16/BF16 tensors are coded as numbers,
    // Q4_0/Q4_1/Q8_0 blocks as block-quantized tensors, every other type is literal.
    std::vector<const GgufTensor*> by_offset;
    for (const GgufTensor& t : m.gguf.tensors) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(),
              [](const GgufTensor* a, const GgufTensor* b) {  // as parse_gguf checked them: no overlap
                return a->offset != b->offset ? a->offset < b->offset : a->size < b->size;
              });
    uint64_t at = 0;
    for (const GgufTensor* t : by_offset) {
      add_literal(plan, at, t->offset - at);
      const ValueFormat f = gguf_value_format(t->type);
      if (!f.empty()) {
        add_tensor(plan, t->offset, t->size, t->name, f, t->shape());
      } else if (quant_layout(t->type)) {
        PlannedSegment& s = add_tensor(plan, t->offset, t->size, t->name, ValueFormat(), t->shape());
        s.quantized = true;
        s.quant = t->type;
      } else {
        add_literal(plan, t->offset, t->size);
      }
      at = t->offset + t->size;
    }
    add_literal(plan, at, plan.size - at);
    return plan;
  }

  if (m.kind == SourceKind::Llama2c) {
    add_literal(plan, 0, kLlama2cHeaderBytes);
    for (const Llama2cArray& a : m.llama2c.arrays)
      add_tensor(plan, a.offset, a.byte_size(), a.name, ValueFormat::of_dtype(DType::F32), a.shape);
    return plan;
  }

  add_literal(plan, 0, plan.size);
  return plan;
}

}  // namespace ws
