#include "core/bf16.hpp"

#include <stdexcept>

#include "core/bytes.hpp"

namespace ws {

uint16_t fp32_bits_to_bf16(uint32_t bits) {
  if ((bits & 0x7fffffffu) > 0x7f800000u) return uint16_t((bits >> 16) | 0x0040u);  // quiet NaN
  // Adding 0x7fff rounds halfway cases up; adding one more when the kept lsb is 1 makes ties even.
  // A carry out of the mantissa correctly bumps the exponent, up to infinity.
  const uint32_t bias = 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t((bits + bias) >> 16);
}

std::vector<uint16_t> fp32_to_bf16(const float* x, size_t n) {
  std::vector<uint16_t> b(n);
  for (size_t i = 0; i < n; ++i) b[i] = fp32_to_bf16(x[i]);
  return b;
}

uint32_t fp16_to_fp32_bits(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);  // inf / NaN (payload kept)
  if (exp == 0) {
    if (mant == 0) return sign;  // signed zero
    // Subnormal: normalise; the value is mant * 2^-24.
    int e = -1;
    do {
      mant <<= 1;
      ++e;
    } while ((mant & 0x400u) == 0);
    return sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ffu) << 13;
  }
  return sign | (exp + 127 - 15) << 23 | mant << 13;
}

uint32_t fp32_bits_at(const uint8_t* values, size_t i, DType t) {
  switch (t) {
    case DType::F32: return load_le32(values + 4 * i);
    case DType::BF16: return bf16_to_fp32_bits(load_le16(values + 2 * i));
    case DType::F16: return fp16_to_fp32_bits(load_le16(values + 2 * i));
    default: break;
  }
  throw std::invalid_argument(std::string("fp32_bits_at: dtype ") + dtype_name(t) + " is not a float");
}

void to_bf16_le(const uint8_t* in, size_t n, DType from, uint8_t* out) {
  // One loop per dtype rather than fp32_bits_at's switch per value: this runs over whole models.
  switch (from) {
    case DType::BF16:
      if (n) std::memcpy(out, in, 2 * n);
      return;
    case DType::F32:
      for (size_t i = 0; i < n; ++i) store_le(out + 2 * i, fp32_bits_to_bf16(load_le32(in + 4 * i)), 2);
      return;
    case DType::F16:
      for (size_t i = 0; i < n; ++i) store_le(out + 2 * i, fp32_bits_to_bf16(fp16_to_fp32_bits(load_le16(in + 2 * i))), 2);
      return;
    default: break;
  }
  throw std::invalid_argument(std::string("to_bf16_le: dtype ") + dtype_name(from) + " is not a float");
}

}  // namespace ws
