// The value types the codec has fast paths for, and how each splits into a symbol (the exponent) and
// raw bits (sign and mantissa), docs/format.md section 3. Every other number format goes through a
// numfmt table (numfmt/value_format.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ws {

enum class DType : uint8_t { Raw = 0, BF16 = 1, F16 = 2, F32 = 3 };

const char* dtype_name(DType t);
size_t dtype_size(DType t);  // bytes per value; 1 for Raw

// How a dtype splits into symbol and raw field (docs/format.md section 3).
struct Split {
  int exponent_shift;  // symbol = (value >> exponent_shift) & exponent_mask
  uint32_t exponent_mask;
  int mantissa_bits;   // raw = sign << mantissa_bits | mantissa
  int raw_bits() const { return mantissa_bits + 1; }
};
Split split_of(DType t);  // throws std::invalid_argument for Raw
int raw_bits_of(DType t);  // split_of(t).raw_bits(), and 0 for Raw (symbols-only chunks)

}  // namespace ws
