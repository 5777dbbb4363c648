// llama.cpp's GGUF model files (versions 2 and 3): a header, typed metadata (key -> value), tensor
// infos, then the tensor data at aligned offsets. The parser is strict, because files can be hostile:
// every count, length, offset and shape is checked against the file before anything is read or
// allocated from it, and any problem is a ws::FormatError naming the metadata key or tensor.
//
// For the forward pass: parse_gguf / read_gguf give the metadata (GgufFile::get_uint("llama.block_count"),
// get_strings("tokenizer.ggml.tokens"), ...) and the tensor infos; gguf_read_fp32 dequantizes a tensor
// to fp32, bit-exactly as llama.cpp does; gguf_tensor_bytes gives its raw blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/ggml_type.hpp"
#include "core/io.hpp"

namespace ws {

constexpr uint64_t kGgufDefaultAlignment = 32;
constexpr uint32_t kGgufMaxDims = 4;          // GGML_MAX_DIMS
constexpr uint32_t kGgufMaxArrayDepth = 16;   // arrays of arrays: deeper nesting is refused

enum class GgufValueType : uint32_t { U8, I8, U16, I16, U32, I32, F32, Bool, String, Array, U64, I64, F64 };
const char* gguf_value_type_name(GgufValueType t);  // "u8", ..., "string", "array"

// One metadata value. Scalars keep the bytes as read (an f32 as its bit pattern), so nothing is lost.
// An array keeps its elements by kind, so that a hostile file cannot make the reader allocate much
// more than its own size: scalars as their bytes in the file, strings, or (nested) arrays.
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  uint64_t bits = 0;                          // integer, bool and float scalars, zero-extended
  std::string string;                         // String
  GgufValueType element = GgufValueType::U8;  // Array: its elements' type
  std::vector<uint8_t> scalars;               // Array of scalars: their little-endian bytes
  std::vector<std::string> strings;           // Array of String
  std::vector<GgufValue> arrays;              // Array of Array

  uint64_t size() const;           // an array's element count (0 for a scalar)
  GgufValue item(size_t i) const;  // element i of an array, as a value of its own

  // Checked views; a wrong type throws ws::FormatError ("is a string, not an integer").
  uint64_t as_uint() const;   // an unsigned integer, or a signed one that is not negative
  int64_t as_int() const;     // any integer that fits in int64
  double as_float() const;    // f32 or f64
  bool as_bool() const;
  const std::string& as_string() const;
  const std::vector<std::string>& as_strings() const;  // an array of strings
  std::vector<int64_t> as_ints() const;                // an array of integers
  std::vector<double> as_floats() const;               // an array of f32 or f64
};

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::F32;  // a defined ggml type (ggml_type_info), possibly one nobody here decodes
  std::vector<uint64_t> ne;       // llama.cpp's dims: ne[0] is the innermost, contiguous one
  uint64_t value_count = 0;       // product of ne
  uint64_t offset = 0;            // absolute file offset of the first byte
  uint64_t size = 0;              // bytes

  // Row-major shape, outermost first (ne reversed), as safetensors and numpy write it: token_embd's
  // ne [576, 49152] is shape [49152][576], 49152 rows of 576 values.
  std::vector<uint64_t> shape() const;
};

struct GgufFile {
  uint32_t version = 0;
  uint64_t file_size = 0;
  uint64_t alignment = kGgufDefaultAlignment;  // general.alignment
  uint64_t data_offset = 0;                    // where the tensor data starts (aligned end of the infos)
  std::vector<std::pair<std::string, GgufValue>> metadata;  // in file order
  std::vector<GgufTensor> tensors;                          // in file order

  const GgufValue* find(const std::string& key) const;  // nullptr if absent
  // The value of key; absent or of the wrong type throws ws::FormatError ("metadata 'x': ...").
  const GgufValue& at(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  const std::string& get_string(const std::string& key) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;
  std::vector<int64_t> get_ints(const std::string& key) const;
  std::vector<double> get_floats(const std::string& key) const;

  const GgufTensor* find_tensor(const std::string& name) const;  // nullptr if absent
};

// True when a file's first bytes are the GGUF magic ("GGUF"); `first` holds n of them.
bool looks_like_gguf(const uint8_t* first, size_t n);

// Parses and validates the header, metadata and tensor infos of the GGUF file in src (reading only
// those). Throws ws::FormatError: bad magic, an unsupported version, truncation, a bad value type,
// absurd counts, an unknown tensor type, a shape that is not whole blocks, offsets misaligned or
// outside the file, overlapping tensors, a name or key given twice.
GgufFile parse_gguf(const ByteSource& src);
GgufFile read_gguf(const std::string& path);  // + IoError

// Whether gguf_dequantize handles type t: F32, F16, BF16, Q8_0, Q4_0, Q4_1.
bool gguf_can_dequantize(GgmlType t);
// Dequantizes `count` values (whole blocks) of type t at data into fp32 at out, bit-exactly as
// llama.cpp's dequantize_row_* (and gguf-py's dequantize): F16 and BF16 widened exactly, Q8_0 code * d,
// Q4_0 (code - 8) * d, Q4_1 code * d + m, in fp32 (d and m widened exactly from fp16).
// Throws ws::FormatError for another type.
void gguf_dequantize(GgmlType t, const uint8_t* data, uint64_t count, float* out);

// A tensor's bytes as stored, and its values dequantized to fp32, row-major. Errors name the tensor.
std::vector<uint8_t> gguf_tensor_bytes(const ByteSource& src, const GgufTensor& t);
std::vector<float> gguf_read_fp32(const ByteSource& src, const GgufTensor& t);

// The metadata as strings, for a safetensors __metadata__ (convert keeps it there): numbers in
// decimal (floats in their shortest round-trip form), bools true/false, strings as they are, arrays as
// JSON; plus "format": "gguf". Throws ws::FormatError for a string that is not valid UTF-8.
std::map<std::string, std::string> gguf_metadata_strings(const GgufFile& f);

}  // namespace ws
