// Writes GGUF files for the tests, independently of the reader (files/gguf.hpp): the layout of
// llama.cpp's gguf.cpp written out field by field, with knobs to break it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wstest {

class GgufBuilder {
 public:
  using Bytes = std::vector<uint8_t>;
  uint32_t version = 3;
  uint64_t alignment = 32;  // used for the layout; add a "general.alignment" key to change the file's
  bool pad_end = false;     // pad the file after the last tensor to the alignment

  // Metadata: the key, its value type (0 u8 .. 12 f64, GGUF's numbering) and the value's bytes.
  void kv(const std::string& key, uint32_t type, const Bytes& value) {
    put_string(kv_, key);
    put(kv_, type, 4);
    kv_.insert(kv_.end(), value.begin(), value.end());
    ++n_kv_;
  }
  static Bytes scalar(uint64_t v, int bytes) {
    Bytes b;
    put(b, v, bytes);
    return b;
  }
  static Bytes string(const std::string& s) {
    Bytes b;
    put_string(b, s);
    return b;
  }
  // An array of `count` elements of type `type`, their bytes back to back.
  static Bytes array(uint32_t type, uint64_t count, const Bytes& elements) {
    Bytes b;
    put(b, type, 4);
    put(b, count, 8);
    b.insert(b.end(), elements.begin(), elements.end());
    return b;
  }

  // A tensor (ne as llama.cpp orders it, innermost first) with its bytes; placed after the previous
  // one at the next aligned offset unless `offset` (relative to the data section) is given.
  void tensor(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, const Bytes& data,
              int64_t offset = -1) {
    tensors_.push_back({name, ne, type, data, offset});
  }

  Bytes bytes() const {
    Bytes out = {'G', 'G', 'U', 'F'};
    put(out, version, 4);
    put(out, tensors_.size(), 8);
    put(out, n_kv_, 8);
    out.insert(out.end(), kv_.begin(), kv_.end());
    std::vector<uint64_t> offsets;
    uint64_t next = 0;
    for (const T& t : tensors_) {
      const uint64_t at = t.offset >= 0 ? uint64_t(t.offset) : next;
      offsets.push_back(at);
      next = align(at + t.data.size());
      put_string(out, t.name);
      put(out, t.ne.size(), 4);
      for (uint64_t d : t.ne) put(out, d, 8);
      put(out, t.type, 4);
      put(out, at, 8);
    }
    out.resize(align(out.size()), 0);
    const size_t data = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
      const Bytes& d = tensors_[i].data;
      if (out.size() < data + offsets[i] + d.size()) out.resize(data + offsets[i] + d.size(), 0);
      std::copy(d.begin(), d.end(), out.begin() + long(data + offsets[i]));
    }
    if (pad_end) out.resize(data + align(out.size() - data), 0);
    return out;
  }

  static void put(Bytes& b, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) b.push_back(uint8_t(v >> (8 * i)));
  }
  static void put_string(Bytes& b, const std::string& s) {
    put(b, s.size(), 8);
    b.insert(b.end(), s.begin(), s.end());
  }

 private:
  struct T {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    Bytes data;
    int64_t offset;
  };
  uint64_t align(uint64_t x) const { return (x + alignment - 1) / alignment * alignment; }
  Bytes kv_;
  uint64_t n_kv_ = 0;
  std::vector<T> tensors_;
};

// GGUF value types and ggml tensor types by their numbers, for readable test code.
enum GgufT : uint32_t { kU8, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };
enum GgmlT : uint32_t { kTF32 = 0, kTF16 = 1, kTQ4_0 = 2, kTQ4_1 = 3, kTQ5_0 = 6, kTQ8_0 = 8, kTBF16 = 30 };

}  // namespace wstest
