// The project's one implementation of float conversions: fp32 bits <-> float, bfloat16 <-> float32
// (round to nearest, ties to even), float16 -> float32, and the values of a float tensor's bytes.
// Values travel as their bit patterns so NaN payloads and signed zeros are never touched by the FPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/dtype.hpp"

namespace ws {

// A float's bit pattern and back, without undefined behaviour.
inline uint32_t fp32_bits(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
inline float fp32_from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round-to-nearest-even of the fp32 bit pattern to bf16. Overflow goes to infinity; a NaN stays a NaN
// (sign and top payload bits kept, quiet bit set so no NaN turns into infinity).
uint16_t fp32_bits_to_bf16(uint32_t bits);
inline uint16_t fp32_to_bf16(float f) { return fp32_bits_to_bf16(fp32_bits(f)); }
// n floats rounded one by one: a vector (activations, weights) as the MAC array takes it.
std::vector<uint16_t> fp32_to_bf16(const float* x, size_t n);
inline std::vector<uint16_t> fp32_to_bf16(const std::vector<float>& x) { return fp32_to_bf16(x.data(), x.size()); }

// Exact: bf16 is the top half of an fp32.
inline uint32_t bf16_to_fp32_bits(uint16_t h) { return uint32_t(h) << 16; }
inline float bf16_to_fp32(uint16_t h) { return fp32_from_bits(bf16_to_fp32_bits(h)); }

// Exact widening of an IEEE binary16 bit pattern (subnormals, infinities and NaNs included).
uint32_t fp16_to_fp32_bits(uint16_t h);

// Value i of little-endian values of dtype t (BF16, F16 or F32) as its exact fp32 bit pattern.
// Throws std::invalid_argument for DType::Raw.
uint32_t fp32_bits_at(const uint8_t* values, size_t i, DType t);

// Converts n little-endian values of dtype `from` (BF16, F16 or F32) at in to n little-endian bf16
// values at out: F32 rounds to nearest even, F16 goes through its exact fp32, BF16 is copied.
void to_bf16_le(const uint8_t* in, size_t n, DType from, uint8_t* out);
inline void fp32_to_bf16_le(const uint8_t* in, size_t n, uint8_t* out) { to_bf16_le(in, n, DType::F32, out); }
inline void fp16_to_bf16_le(const uint8_t* in, size_t n, uint8_t* out) { to_bf16_le(in, n, DType::F16, out); }

}  // namespace ws
