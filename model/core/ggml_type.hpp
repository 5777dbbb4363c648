// The tensor types of llama.cpp's ggml, as GGUF files store them (files/gguf.hpp), and the block layout
// of the three block-quantized types the container codes losslessly (codec/quant_chunk.hpp,
// docs/format.md section 6). Written once here: the GGUF reader, its dequantizer and the codec all ask.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws {

// ggml's type ids (ggml.h). Only the ones the project handles by name are listed; ggml_type_info
// knows every id ggml defines.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 8, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30
};

// A type stores its values in blocks of block_values values taking block_bytes bytes (1 and the
// element size for the plain types).
struct GgmlTypeInfo {
  uint32_t id;
  const char* name;  // as llama.cpp spells it: "F32", "Q4_1", "Q5_K", ...
  uint32_t block_values;
  uint32_t block_bytes;
};

// nullptr for an id ggml does not define (or no longer defines: 4, 5, 31..33, 36..38).
const GgmlTypeInfo* ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);  // t is always defined
const char* ggml_type_name(GgmlType t);

// Q4_0, Q4_1 and Q8_0: blocks of 32 values, each an fp16 scale d, for Q4_1 then an fp16 min m, then
// the codes. Q8_0: 32 signed bytes, value j = code j * d. Q4_0 and Q4_1: 16 bytes, byte j holding value
// j's 4-bit code in its low nibble and value j + 16's in its high nibble; Q4_0 value = (code - 8) * d,
// Q4_1 value = code * d + m.
constexpr uint32_t kQuantBlockValues = 32;

struct QuantLayout {
  GgmlType type;
  int scales;     // fp16 fields at the start of a block: 1 (d) or 2 (d, m)
  int code_bits;  // 4 or 8
  uint32_t block_bytes() const { return uint32_t(2 * scales) + kQuantBlockValues * uint32_t(code_bits) / 8; }
  // The code of value j (0..31) of a block, and storing it (the block's code bytes start zeroed).
  uint8_t code(const uint8_t* block, uint32_t j) const {
    const uint8_t* q = block + 2 * scales;
    if (code_bits == 8) return q[j];
    return j < 16 ? q[j] & 0xf : q[j - 16] >> 4;
  }
  void set_code(uint8_t* block, uint32_t j, uint8_t c) const {
    uint8_t* q = block + 2 * scales;
    if (code_bits == 8) q[j] = c;
    else if (j < 16) q[j] = uint8_t(q[j] | c);
    else q[j - 16] = uint8_t(q[j - 16] | c << 4);
  }
};

// nullptr for a type that is not block-coded.
const QuantLayout* quant_layout(GgmlType t);

}  // namespace ws
