#include "core/ggml_type.hpp"

#include <stdexcept>

namespace ws {
namespace {

// Every type ggml defines, with its block size: ggml.h's ids, the sizes of gguf-py's GGML_QUANT_SIZES
// (gguf 0.19.0). Knowing them all lets the reader check any GGUF file's layout and store the types it
// cannot decode as literal bytes.
constexpr GgmlTypeInfo kTypes[] = {
    {0, "F32", 1, 4},          {1, "F16", 1, 2},          {2, "Q4_0", 32, 18},       {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},       {7, "Q5_1", 32, 24},       {8, "Q8_0", 32, 34},       {9, "Q8_1", 32, 40},
    {10, "Q2_K", 256, 84},     {11, "Q3_K", 256, 110},    {12, "Q4_K", 256, 144},    {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},    {15, "Q8_K", 256, 292},    {16, "IQ2_XXS", 256, 66},  {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98},  {19, "IQ1_S", 256, 50},    {20, "IQ4_NL", 32, 18},    {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},    {23, "IQ4_XS", 256, 136},  {24, "I8", 1, 1},          {25, "I16", 1, 2},
    {26, "I32", 1, 4},         {27, "I64", 1, 8},         {28, "F64", 1, 8},         {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},        {34, "TQ1_0", 256, 54},    {35, "TQ2_0", 256, 66},    {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},     {41, "Q1_0", 128, 18},
};

constexpr QuantLayout kQuant[] = {{GgmlType::Q4_0, 1, 4}, {GgmlType::Q4_1, 2, 4}, {GgmlType::Q8_0, 1, 8}};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t id) {
  for (const GgmlTypeInfo& t : kTypes)
    if (t.id == id) return &t;
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType t) {
  const GgmlTypeInfo* i = ggml_type_info(uint32_t(t));
  if (!i) throw std::logic_error("ggml_type_info: undefined GgmlType");
  return *i;
}

const char* ggml_type_name(GgmlType t) { return ggml_type_info(t).name; }

const QuantLayout* quant_layout(GgmlType t) {
  for (const QuantLayout& q : kQuant)
    if (q.type == t) return &q;
  return nullptr;
}

}  // namespace ws
