#include "core/dtype.hpp"

#include <stdexcept>
#include <string>

namespace ws {

const char* dtype_name(DType t) {
  switch (t) {
    case DType::Raw: return "raw";
    case DType::BF16: return "bf16";
    case DType::F16: return "f16";
    case DType::F32: return "f32";
  }
  return "unknown";
}

size_t dtype_size(DType t) {
  switch (t) {
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::F32: return 4;
    default: return 1;
  }
}

Split split_of(DType t) {
  switch (t) {
    case DType::BF16: return Split{7, 0xff, 7};
    case DType::F16: return Split{10, 0x1f, 10};
    case DType::F32: return Split{23, 0xff, 23};
    default: break;
  }
  throw std::invalid_argument(std::string("dtype ") + dtype_name(t) + " is not split");
}

int raw_bits_of(DType t) { return t == DType::Raw ? 0 : split_of(t).raw_bits(); }

}  // namespace ws
