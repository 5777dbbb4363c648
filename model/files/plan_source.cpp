#include "files/plan_source.hpp"

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
