// safetensors files: an 8-byte little-endian header length, a JSON header, then the tensor data.
// The parser is strict, because headers can be hostile: every offset, size and shape is checked
// before anything is read or allocated from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "core/io.hpp"

namespace ws {

// The safetensors reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t kSafetensorsMaxHeader = 100'000'000;

// Bytes per value of a safetensors dtype name ("F32", "I64", ...); 0 for an unknown name.
size_t safetensors_dtype_size(const std::string& dtype);
// The coded dtype (BF16, F16, F32); DType::Raw for every other dtype (stored as literal bytes).
DType safetensors_coded_dtype(const std::string& dtype);

struct SafetensorsTensor {
  std::string name;
  std::string dtype;            // as in the header, e.g. "BF16"
  DType coded = DType::Raw;     // safetensors_coded_dtype(dtype)
  // A dtype this tool does not know (F8_E8M0, F4, C64, ...): its bytes are what data_offsets span,
  // whatever the shape says, and every tool keeps them as they are.
  bool opaque = false;
  std::vector<uint64_t> shape;
  uint64_t value_count = 0;     // product of shape
  uint64_t offset = 0;          // absolute file offset of the first byte
  uint64_t size = 0;            // bytes
};

struct SafetensorsFile {
  uint64_t file_size = 0;
  uint64_t header_size = 0;     // JSON bytes, the value of the 8-byte prefix
  uint64_t data_offset = 0;     // 8 + header_size; data_offsets are relative to it
  std::map<std::string, std::string> metadata;  // "__metadata__"
  std::vector<SafetensorsTensor> tensors;       // sorted by offset (then name)

  const SafetensorsTensor* find(const std::string& name) const;
};

// True when the first bytes of a file of file_size bytes look like safetensors: a header length that
// fits in the file and a JSON object after it. `first` must hold min(9, file_size) bytes.
bool looks_like_safetensors(const uint8_t* first, size_t n, uint64_t file_size);

// Parses and validates the JSON header (json_size bytes, the ones after the 8-byte prefix) of a file
// of file_size bytes. Throws ws::FormatError naming what is wrong: not JSON, a bad entry, a shape that
// does not match the byte size of a known dtype, offsets out of range, overlapping tensors. A dtype it
// does not know makes the tensor opaque, not an error.
SafetensorsFile parse_safetensors_header(const uint8_t* json, size_t json_size, uint64_t file_size);

// Opens path, reads the header only and parses it. Throws ws::FormatError.
SafetensorsFile read_safetensors(const std::string& path);

// Writer: the header (8-byte length + JSON padded with spaces to a multiple of 8 bytes) of a file
// whose tensors follow back to back in the given order. The caller then writes the data.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<uint64_t> shape;
  uint64_t opaque_bytes = 0;  // the data's size when safetensors_dtype_size(dtype) is 0 (opaque)
};
std::vector<uint8_t> make_safetensors_header(const std::map<std::string, std::string>& metadata,
                                             const std::vector<SafetensorsEntry>& tensors);

// Side files (the LTE and DiJiang files beside a model, docs/lte.md and docs/dijiang.md) are read and
// written through these; `what` names the file in errors ("LTE side file").
// Throws FormatError unless the metadata's "format" and "version" are these.
void check_side_format(const std::map<std::string, std::string>& md, const std::string& format,
                       const std::string& version, const std::string& what);
// The metadata records that are neither "format", "version" nor one of `fields`: the free-form ones.
std::map<std::string, std::string> side_extra_metadata(const std::map<std::string, std::string>& md,
                                                       const std::vector<std::string>& fields);
// One tensor of a side file being written: its header entry and its bytes (host order, little-endian).
struct SideTensor {
  SafetensorsEntry entry;
  const void* data;
  size_t bytes;
};
// Writes metadata (plus format and version) and the tensors, in order, atomically to path.
void write_side_file(const std::string& path, std::map<std::string, std::string> md, const std::string& format,
                     const std::string& version, const std::vector<SideTensor>& tensors);
// The metadata value `key` as an integer in [1, 2^20]; throws FormatError when missing or not one.
int side_metadata_int(const std::map<std::string, std::string>& md, const std::string& key, const std::string& what);
// The bytes of tensor `name`, which must have this dtype and shape, into out (bytes = its size).
void read_side_tensor(const ByteSource& src, const SafetensorsFile& f, const std::string& name,
                      const std::string& dtype, const std::vector<uint64_t>& shape, const std::string& what,
                      void* out, size_t bytes);
template <class T>  // T's size must be the dtype's; little-endian, as the host
std::vector<T> read_side_tensor(const ByteSource& src, const SafetensorsFile& f, const std::string& name,
                                const std::string& dtype, const std::vector<uint64_t>& shape,
                                const std::string& what) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  std::vector<T> v(static_cast<size_t>(n));
  read_side_tensor(src, f, name, dtype, shape, what, v.data(), v.size() * sizeof(T));
  return v;
}

}  // namespace ws
