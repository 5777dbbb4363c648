// bfloat16 <-> float32 conversion (round to nearest, ties to even), and float16 -> float32.
// Values travel as their bit patterns so NaN payloads and signed zeros are never touched by the FPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws {

// Round-to-nearest-even of the fp32 bit pattern to bf16. Overflow goes to infinity; a NaN stays a NaN
// (sign and top payload bits kept, quiet bit set so no NaN turns into infinity).
uint16_t fp32_bits_to_bf16(uint32_t bits);
uint16_t fp32_to_bf16(float f);

// Exact: bf16 is the top half of an fp32.
inline uint32_t bf16_to_fp32_bits(uint16_t h) { return uint32_t(h) << 16; }
float bf16_to_fp32(uint16_t h);

// Exact widening of an IEEE binary16 bit pattern (subnormals, infinities and NaNs included).
uint32_t fp16_to_fp32_bits(uint16_t h);

// Converts n little-endian fp32 values at in to n little-endian bf16 values at out.
void fp32_to_bf16_le(const uint8_t* in, size_t n, uint8_t* out);
// Converts n little-endian fp16 values at in to n little-endian bf16 values at out (via exact fp32).
void fp16_to_bf16_le(const uint8_t* in, size_t n, uint8_t* out);

}  // namespace ws
