// Little-endian fields and checksums (CRC-32, XXH3): how every byte format of the project (the .wsz container and its
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

// XXH3-64 (xxHash 0.8, Debian's libxxhash) of n bytes with a seed.
uint64_t xxh3_64(const void* data, size_t n, uint64_t seed = 0);

// XXH3-64 of a byte string fed in pieces: Xxh3Stream(seed), update() any number of times, digest()
// equals xxh3_64(all the pieces, seed).
class Xxh3Stream {
 public:
  explicit Xxh3Stream(uint64_t seed = 0);
  ~Xxh3Stream();
  Xxh3Stream(const Xxh3Stream&) = delete;
  Xxh3Stream& operator=(const Xxh3Stream&) = delete;
  void reset(uint64_t seed = 0);
  void update(const void* data, size_t n);
  uint64_t digest() const;

 private:
  void* state_;  // an XXH3_state_t
};

// The 32-bit checksum that guards a chunk or a literal segment (docs/format.md section 4): CRC-32 in a
// version-1 container, XXH3-64's low 32 bits with a seed in later ones. Cheap to copy.
class Checksum {
 public:
  static Checksum crc32() { return Checksum(false, 0); }
  static Checksum xxh3(uint64_t seed) { return Checksum(true, seed); }
  // The 32-bit checksum; the full 64-bit value (XXH3-64, or the CRC-32) also goes to the digest
  // pointer when one is set (with_digest): the container's content checksum is made of these.
  uint32_t of(const void* data, size_t n) const {
    const uint64_t h = xxh3_ ? xxh3_64(data, n, seed_) : crc32_of(data, n);
    if (digest_) *digest_ = h;
    return uint32_t(h);
  }
  Checksum with_digest(uint64_t* digest) const {
    Checksum c = *this;
    c.digest_ = digest;
    return c;
  }
  Checksum without_digest() const { return with_digest(nullptr); }
  bool is_xxh3() const { return xxh3_; }
  uint64_t seed() const { return seed_; }

  // The same over bytes fed in pieces (a literal segment is read a window at a time).
  class Running {
   public:
    explicit Running(const Checksum& c) : xxh3_(c.xxh3_), xxh_(c.seed_) {}
    void update(const void* data, size_t n) {
      if (xxh3_) xxh_.update(data, n); else crc_ = crc32_update(crc_, data, n);
    }
    uint32_t value() const { return uint32_t(digest()); }
    uint64_t digest() const { return xxh3_ ? xxh_.digest() : crc_; }

   private:
    bool xxh3_;
    uint32_t crc_ = 0;
    Xxh3Stream xxh_;
  };

 private:
  Checksum(bool xxh3, uint64_t seed) : xxh3_(xxh3), seed_(seed) {}
  bool xxh3_;
  uint64_t seed_;
  uint64_t* digest_ = nullptr;
};

}  // namespace ws
