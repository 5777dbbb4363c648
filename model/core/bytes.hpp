// Little-endian fields and CRC-32: how every byte format of the project (the .wsz container and its
// chunks, safetensors and llama2.c headers, the hardware's word streams) stores numbers and checks
// bytes. Written once here; everything else calls these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ws {

// The `bytes` bytes at p (at most 8) as an unsigned number, least significant first.
inline uint64_t load_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
inline uint16_t load_le16(const uint8_t* p) { return uint16_t(load_le(p, 2)); }
inline uint32_t load_le32(const uint8_t* p) { return uint32_t(load_le(p, 4)); }
inline uint64_t load_le64(const uint8_t* p) { return load_le(p, 8); }

// The low `bytes` bytes of v (at most 8) at p, least significant first.
inline void store_le(uint8_t* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = uint8_t(v >> (8 * i));
}
// The same, appended to out.
inline void append_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// CRC-32 (zlib's, as docs/format.md specifies). A running CRC starts at 0:
// crc32_update(crc32_update(0, a, n), b, m) == crc32_of(a followed by b).
uint32_t crc32_update(uint32_t crc, const void* data, size_t n);
inline uint32_t crc32_of(const void* data, size_t n) { return crc32_update(0, data, n); }

}  // namespace ws
