#include "core/bytes.hpp"

#include <zlib.h>

namespace ws {

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) {
  if (n == 0) return crc;  // data may be null (an empty vector's data())
  return uint32_t(crc32_z(crc, static_cast<const Bytef*>(data), n));
}

}  // namespace ws
