// The number format of a tensor segment (docs/format.md section 4.1): the format id the index stores
// and the numfmt table (docs/numfmt.md) that splits every value into a class symbol and raw bits.
// Ids 1, 2, 3 are bf16, f16, f32 with the split of docs/format.md section 3, so every container
// written before format ids existed reads unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.hpp"
#include "numfmt/numfmt.hpp"

namespace ws {

enum class FormatId : uint8_t {
  BF16 = 1,
  F16 = 2,
  F32 = 3,
  E4M3 = 4,   // OCP fp8 E4M3 (safetensors F8_E4M3)
  E5M2 = 5,   // OCP fp8 E5M2 (F8_E5M2)
  Int8 = 6,   // two's complement (I8)
  Posit = 7,  // followed by u8 n, u8 es
  Int4 = 8,   // two's complement in the low nibble of a byte, high nibble 0
  Table = 255,  // an embedded table (custom formats), see docs/format.md section 4.1
};

// Cheap to copy (shared, immutable). A default-constructed ValueFormat is empty (literal segments).
class ValueFormat {
 public:
  ValueFormat() = default;
  static ValueFormat of_dtype(DType t);  // BF16, F16, F32 -> ids 1..3; throws std::invalid_argument
  // A format as the container stores it: a built-in under its id, any other table as id 255.
  // Throws ws::FormatError for a table whose patterns are wider than 16 bits (or an fp32 Int layout).
  static ValueFormat of(const numfmt::Format& f);
  // numfmt::Format::builtin(name); a name ending in .json is a custom format's file, one starting
  // with '{' its JSON text.
  static ValueFormat named(const std::string& name);
  // What names this format in safetensors __metadata__: the built-in's name, a table's JSON text.
  std::string metadata_name() const;
  // Reads the id and its parameters at p (advancing p). Throws ws::FormatError ("bad format id 9").
  static ValueFormat parse(const uint8_t*& p, const uint8_t* end);
  void serialize(std::vector<uint8_t>& out) const;  // id and parameters
  size_t record_bytes() const;                      // what serialize() appends

  bool empty() const { return !d_; }
  FormatId id() const;
  DType dtype() const;  // BF16/F16/F32 for ids 1..3 (the codec's fast paths), Raw otherwise
  const numfmt::Format& format() const;
  size_t value_bytes() const;  // ceil(pattern bits / 8), little-endian in the source
  std::string name() const;    // "bf16", "f16", "f32" for ids 1..3 (as always), else the format's name
  int min_raw_bits() const;    // over the defined symbols
  bool operator==(const ValueFormat& o) const;

  // The codec's tables (patterns of at most 16 bits; ids 4..255). split_code(p) is
  // raw << 8 | symbol, or kNoCode when p is not a pattern of the format.
  static constexpr uint32_t kNoCode = 0xffffffffu;
  uint32_t split_code(uint32_t pattern) const;
  uint32_t code_base(unsigned symbol) const;       // code index of (symbol, raw 0)
  uint32_t join_code(uint32_t code_index) const;   // code index -> pattern

  struct Data;  // defined in value_format.cpp

 private:
  std::shared_ptr<const Data> d_;
};

// The format a safetensors dtype is coded in: BF16, F16, F32, F8_E4M3, F8_E5M2, I8; and U8/U16
// tensors that the file's __metadata__ names a format for (key "weightstream.format.<tensor>",
// docs/tool.md; the value is a built-in's name or a custom format's JSON). Empty for every other dtype (stored as literal bytes). Throws ws::FormatError for a
// metadata format that does not fit the dtype.
ValueFormat safetensors_value_format(const std::string& dtype, const std::string& metadata_format,
                                     const std::string& tensor);
// The safetensors dtype a format's tensors are stored as ("F8_E4M3", ...; U8 / U16 for formats
// without a safetensors dtype, which then need the metadata key above).
std::string safetensors_dtype_of(const ValueFormat& f);
bool safetensors_needs_metadata(const ValueFormat& f);
std::string safetensors_format_key(const std::string& tensor);  // "weightstream.format.<tensor>"

}  // namespace ws
