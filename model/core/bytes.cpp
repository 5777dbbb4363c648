#include "core/bytes.hpp"

#include <xxhash.h>
#include <zlib.h>

#include <new>

namespace ws {

uint32_t crc32_update(uint32_t crc, const void* data, size_t n) {
  if (n == 0) return crc;  // data may be null (an empty vector's data())
  return uint32_t(crc32_z(crc, static_cast<const Bytef*>(data), n));
}

uint64_t xxh3_64(const void* data, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(data, n, seed); }

Xxh3Stream::Xxh3Stream(uint64_t seed) : state_(XXH3_createState()) {
  if (!state_) throw std::bad_alloc();
  reset(seed);
}

Xxh3Stream::~Xxh3Stream() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void Xxh3Stream::reset(uint64_t seed) { XXH3_64bits_reset_withSeed(static_cast<XXH3_state_t*>(state_), seed); }

void Xxh3Stream::update(const void* data, size_t n) {
  if (n) XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, n);
}

uint64_t Xxh3Stream::digest() const { return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state_)); }

}  // namespace ws
