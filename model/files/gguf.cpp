#include "files/gguf.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};

// Bytes a scalar of type t takes; 0 for String and Array.
size_t scalar_bytes(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;
  }
}

bool is_signed(GgufValueType t) {
  return t == GgufValueType::I8 || t == GgufValueType::I16 || t == GgufValueType::I32 || t == GgufValueType::I64;
}
bool is_integer(GgufValueType t) {
  return is_signed(t) || t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 ||
         t == GgufValueType::U64;
}

// The smallest encoding of a value of type t: what bounds an array's element count by the bytes left.
uint64_t min_bytes(GgufValueType t) {
  if (t == GgufValueType::String) return 8;              // its length
  if (t == GgufValueType::Array) return 4 + 8;           // element type and count
  return scalar_bytes(t);
}

// Reads a ByteSource front to back through a window, every read checked against the end of the file.
class Cursor {
 public:
  explicit Cursor(const ByteSource& src) : src_(src), size_(src.size()) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  void read(uint8_t* dst, uint64_t n, const std::string& where) {
    if (n > left()) throw FormatError(where + ": file truncated");
    while (n > 0) {
      if (pos_ < win_begin_ || pos_ >= win_begin_ + win_.size()) fill();
      const uint64_t at = pos_ - win_begin_;
      const size_t k = size_t(std::min<uint64_t>(n, win_.size() - at));
      std::memcpy(dst, win_.data() + at, k);
      dst += k;
      pos_ += k;
      n -= k;
    }
  }
  uint64_t get(int bytes, const std::string& where) {
    uint8_t b[8];
    read(b, uint64_t(bytes), where);
    return load_le(b, bytes);
  }
  std::string string(const std::string& where) {
    const uint64_t n = get(8, where);
    if (n > left()) throw FormatError(where + ": file truncated (in a string of " + std::to_string(n) + " bytes)");
    std::string s(size_t(n), '\0');
    read(reinterpret_cast<uint8_t*>(s.data()), n, where);
    return s;
  }

 private:
  void fill() {
    win_begin_ = pos_;
    win_.resize(size_t(std::min<uint64_t>(kWindow, size_ - pos_)));
    src_.read(pos_, win_.data(), win_.size());
  }
  static constexpr uint64_t kWindow = uint64_t(1) << 16;
  const ByteSource& src_;
  uint64_t size_;
  uint64_t pos_ = 0;
  uint64_t win_begin_ = 0;
  std::vector<uint8_t> win_;
};

GgufValueType value_type(uint64_t t, const std::string& where) {
  if (t > uint64_t(GgufValueType::F64)) throw FormatError(where + ": unknown value type " + std::to_string(t));
  return GgufValueType(t);
}

GgufValue read_value(Cursor& c, GgufValueType type, const std::string& where, uint32_t depth) {
  GgufValue v;
  v.type = type;
  if (type == GgufValueType::String) {
    v.string = c.string(where);
  } else if (type == GgufValueType::Array) {
    if (depth >= kGgufMaxArrayDepth)
      throw FormatError(where + ": arrays nested more than " + std::to_string(kGgufMaxArrayDepth) + " deep");
    v.element = value_type(c.get(4, where), where);
    const uint64_t n = c.get(8, where);
    // Every element takes at least min_bytes, so the file bounds what this allocates.
    if (min_bytes(v.element) && n > c.left() / min_bytes(v.element))
      throw FormatError(where + ": array of " + std::to_string(n) + " " + gguf_value_type_name(v.element) +
                        " elements does not fit in the " + std::to_string(c.left()) + " bytes left");
    if (v.element == GgufValueType::String) {
      v.strings.reserve(size_t(n));
      for (uint64_t i = 0; i < n; ++i) v.strings.push_back(c.string(where));
    } else if (v.element == GgufValueType::Array) {
      v.arrays.reserve(size_t(n));
      for (uint64_t i = 0; i < n; ++i) v.arrays.push_back(read_value(c, v.element, where, depth + 1));
    } else {
      v.scalars.resize(size_t(n * scalar_bytes(v.element)));
      c.read(v.scalars.data(), v.scalars.size(), where);
    }
  } else {
    v.bits = c.get(int(scalar_bytes(type)), where);
  }
  return v;
}

std::string type_mismatch(const GgufValue& v, const char* wanted) {
  std::string is = gguf_value_type_name(v.type);
  if (v.type == GgufValueType::Array) is += " of " + std::string(gguf_value_type_name(v.element));
  return "is " + is + ", not " + wanted;
}

// A signed scalar's value (bits sign-extended from its width).
int64_t signed_value(const GgufValue& v) {
  const int shift = 64 - 8 * int(scalar_bytes(v.type));
  return int64_t(v.bits << shift) >> shift;
}

uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  if (a != 0 && b > UINT64_MAX / a) throw FormatError(what);
  return a * b;
}

GgufTensor read_tensor_info(Cursor& c, uint64_t index) {
  const std::string at = "GGUF tensor info " + std::to_string(index);
  GgufTensor t;
  t.name = c.string(at + " name");
  if (t.name.size() > 0xffff) throw FormatError(at + ": name longer than 65535 bytes");
  const std::string where = "GGUF tensor " + quote_name(t.name);
  const uint64_t n_dims = c.get(4, where);
  if (n_dims > kGgufMaxDims)
    throw FormatError(where + ": " + std::to_string(n_dims) + " dimensions, GGUF allows at most " +
                      std::to_string(kGgufMaxDims));
  t.value_count = 1;
  for (uint64_t d = 0; d < n_dims; ++d) {
    const uint64_t ne = c.get(8, where);
    if (ne > uint64_t(INT64_MAX)) throw FormatError(where + ": dimension " + std::to_string(ne) + " out of range");
    t.ne.push_back(ne);
  }
  for (uint64_t ne : t.ne) t.value_count = checked_mul(t.value_count, ne, where + ": absurd shape");
  if (t.value_count > uint64_t(INT64_MAX)) throw FormatError(where + ": absurd shape");
  const uint64_t type = c.get(4, where);
  const GgmlTypeInfo* info = ggml_type_info(uint32_t(type));
  if (!info) throw FormatError(where + ": unknown tensor type " + std::to_string(type));
  t.type = GgmlType(type);
  const uint64_t row = t.ne.empty() ? 1 : t.ne[0];
  if (row % info->block_values != 0)
    throw FormatError(where + ": rows of " + std::to_string(row) + " values are not whole " + info->name +
                      " blocks of " + std::to_string(info->block_values));
  t.size = checked_mul(t.value_count / info->block_values, info->block_bytes, where + ": absurd shape");
  t.offset = c.get(8, where);  // relative to the data section until parse_gguf makes it absolute
  return t;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  static const char* const names[] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                      "bool", "string", "array", "u64", "i64", "f64"};
  return uint32_t(t) < sizeof names / sizeof *names ? names[uint32_t(t)] : "unknown";
}

uint64_t GgufValue::as_uint() const {
  if (!is_integer(type)) throw FormatError(type_mismatch(*this, "an integer"));
  if (is_signed(type) && signed_value(*this) < 0)
    throw FormatError("is " + std::to_string(signed_value(*this)) + ", not a non-negative integer");
  return is_signed(type) ? uint64_t(signed_value(*this)) : bits;
}

int64_t GgufValue::as_int() const {
  if (!is_integer(type)) throw FormatError(type_mismatch(*this, "an integer"));
  if (is_signed(type)) return signed_value(*this);
  if (bits > uint64_t(INT64_MAX)) throw FormatError("is " + std::to_string(bits) + ", beyond int64");
  return int64_t(bits);
}

double GgufValue::as_float() const {
  if (type == GgufValueType::F32) return double(fp32_from_bits(uint32_t(bits)));
  if (type == GgufValueType::F64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  throw FormatError(type_mismatch(*this, "a float"));
}

bool GgufValue::as_bool() const {
  if (type != GgufValueType::Bool) throw FormatError(type_mismatch(*this, "a bool"));
  return bits != 0;
}

const std::string& GgufValue::as_string() const {
  if (type != GgufValueType::String) throw FormatError(type_mismatch(*this, "a string"));
  return string;
}

uint64_t GgufValue::size() const {
  if (type != GgufValueType::Array) return 0;
  if (element == GgufValueType::String) return strings.size();
  if (element == GgufValueType::Array) return arrays.size();
  return scalars.size() / scalar_bytes(element);
}

GgufValue GgufValue::item(size_t i) const {
  if (i >= size()) throw std::out_of_range("GgufValue::item: no element " + std::to_string(i));
  if (element == GgufValueType::Array) return arrays[i];
  GgufValue v;
  v.type = element;
  if (element == GgufValueType::String) {
    v.string = strings[i];
  } else {
    const size_t w = scalar_bytes(element);
    v.bits = load_le(&scalars[i * w], int(w));
  }
  return v;
}

const std::vector<std::string>& GgufValue::as_strings() const {
  if (type != GgufValueType::Array || element != GgufValueType::String)
    throw FormatError(type_mismatch(*this, "an array of string"));
  return strings;
}

std::vector<int64_t> GgufValue::as_ints() const {
  if (type != GgufValueType::Array || !is_integer(element)) throw FormatError(type_mismatch(*this, "an array of integers"));
  std::vector<int64_t> out;
  out.reserve(size_t(size()));
  for (size_t i = 0; i < size(); ++i) out.push_back(item(i).as_int());
  return out;
}

std::vector<double> GgufValue::as_floats() const {
  if (type != GgufValueType::Array || (element != GgufValueType::F32 && element != GgufValueType::F64))
    throw FormatError(type_mismatch(*this, "an array of floats"));
  std::vector<double> out;
  out.reserve(size_t(size()));
  for (size_t i = 0; i < size(); ++i) out.push_back(item(i).as_float());
  return out;
}

std::vector<uint64_t> GgufTensor::shape() const { return std::vector<uint64_t>(ne.rbegin(), ne.rend()); }

const GgufValue* GgufFile::find(const std::string& key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return &v;
  return nullptr;
}

const GgufValue& GgufFile::at(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) throw FormatError("GGUF metadata " + quote_name(key) + " is missing");
  return *v;
}

namespace {
// Calls f on the value of key, its errors prefixed with the key.
template <class F>
auto typed(const GgufFile& g, const std::string& key, F f) -> decltype(f(g.at(key))) {
  const GgufValue& v = g.at(key);
  try {
    return f(v);
  } catch (const FormatError& e) {
    throw FormatError("GGUF metadata " + quote_name(key) + " " + e.what());
  }
}
}  // namespace

uint64_t GgufFile::get_uint(const std::string& k) const { return typed(*this, k, [](const GgufValue& v) { return v.as_uint(); }); }
int64_t GgufFile::get_int(const std::string& k) const { return typed(*this, k, [](const GgufValue& v) { return v.as_int(); }); }
double GgufFile::get_float(const std::string& k) const { return typed(*this, k, [](const GgufValue& v) { return v.as_float(); }); }
bool GgufFile::get_bool(const std::string& k) const { return typed(*this, k, [](const GgufValue& v) { return v.as_bool(); }); }
const std::string& GgufFile::get_string(const std::string& k) const {
  return typed(*this, k, [](const GgufValue& v) -> const std::string& { return v.as_string(); });
}
const std::vector<std::string>& GgufFile::get_strings(const std::string& k) const {
  return typed(*this, k, [](const GgufValue& v) -> const std::vector<std::string>& { return v.as_strings(); });
}
std::vector<int64_t> GgufFile::get_ints(const std::string& k) const {
  return typed(*this, k, [](const GgufValue& v) { return v.as_ints(); });
}
std::vector<double> GgufFile::get_floats(const std::string& k) const {
  return typed(*this, k, [](const GgufValue& v) { return v.as_floats(); });
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  for (const GgufTensor& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool looks_like_gguf(const uint8_t* first, size_t n) { return n >= 4 && std::memcmp(first, kMagic, 4) == 0; }

GgufFile parse_gguf(const ByteSource& src) {
  GgufFile f;
  f.file_size = src.size();
  Cursor c(src);
  uint8_t magic[4];
  c.read(magic, 4, "GGUF magic");
  if (!looks_like_gguf(magic, 4)) throw FormatError("bad magic (not a GGUF file)");
  const uint64_t version = c.get(4, "GGUF version");
  if (version == 1) throw FormatError("GGUF version 1 is not supported (versions 2 and 3 are)");
  if (version == 0x02000000 || version == 0x03000000) throw FormatError("big-endian GGUF is not supported");
  if (version != 2 && version != 3) throw FormatError("unsupported GGUF version " + std::to_string(version));
  f.version = uint32_t(version);
  const uint64_t n_tensors = c.get(8, "GGUF tensor count");
  const uint64_t n_kv = c.get(8, "GGUF metadata count");
  // The smallest metadata entry takes 13 bytes (empty key, type, a u8), a tensor info 24 (empty name,
  // 0 dims, type, offset): counts beyond what the file can hold are refused before any allocation.
  if (n_kv > c.left() / 13)
    throw FormatError("GGUF claims " + std::to_string(n_kv) + " metadata entries, more than its " +
                      std::to_string(f.file_size) + " bytes can hold");
  if (n_tensors > c.left() / 24)
    throw FormatError("GGUF claims " + std::to_string(n_tensors) + " tensors, more than its " +
                      std::to_string(f.file_size) + " bytes can hold");

  std::set<std::string> keys;
  f.metadata.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.string("GGUF metadata key " + std::to_string(i));
    const std::string where = "GGUF metadata " + quote_name(key);
    if (!keys.insert(key).second) throw FormatError(where + " is given twice");
    const GgufValueType type = value_type(c.get(4, where), where);
    f.metadata.emplace_back(std::move(key), read_value(c, type, where, 0));
  }
  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufValueType::U32 || a->bits == 0 || (a->bits & (a->bits - 1)) != 0)
      throw FormatError("GGUF metadata 'general.alignment' must be a u32 power of two, not " +
                        std::string(gguf_value_type_name(a->type)) +
                        (a->type == GgufValueType::U32 ? " " + std::to_string(a->bits) : ""));
    f.alignment = a->bits;
  }

  std::set<std::string> names;
  f.tensors.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    f.tensors.push_back(read_tensor_info(c, i));
    if (!is_utf8(f.tensors.back().name))
      throw FormatError("the name of GGUF tensor " + quote_name(f.tensors.back().name) + " is not UTF-8");
    if (!names.insert(f.tensors.back().name).second)
      throw FormatError("GGUF tensor " + quote_name(f.tensors.back().name) + " is given twice");
  }
  const uint64_t pad = (f.alignment - c.pos() % f.alignment) % f.alignment;
  f.data_offset = c.pos() + std::min(pad, c.left());  // a file without tensors may end unpadded

  std::vector<const GgufTensor*> by_offset;
  for (GgufTensor& t : f.tensors) {
    const std::string where = "GGUF tensor " + quote_name(t.name);
    if (t.offset % f.alignment != 0)
      throw FormatError(where + ": offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
                        std::to_string(f.alignment));
    const uint64_t data = f.file_size - f.data_offset;
    if (t.offset > data || t.size > data - t.offset)
      throw FormatError(where + ": its " + std::to_string(t.size) + " bytes at data offset " + std::to_string(t.offset) +
                        " run past the end of the file (" + std::to_string(data) + " bytes of tensor data)");
    t.offset += f.data_offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(), [](const GgufTensor* a, const GgufTensor* b) {
    return a->offset != b->offset ? a->offset < b->offset : a->size < b->size;
  });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor& a = *by_offset[i - 1];
    const GgufTensor& b = *by_offset[i];
    if (b.offset < a.offset + a.size)
      throw FormatError("GGUF tensors " + quote_name(a.name) + " and " + quote_name(b.name) + " overlap");
  }
  return f;
}

GgufFile read_gguf(const std::string& path) { return parse_gguf(FileSource(path)); }

bool gguf_can_dequantize(GgmlType t) {
  return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16 || quant_layout(t) != nullptr;
}

void gguf_dequantize(GgmlType t, const uint8_t* data, uint64_t count, float* out) {
  switch (t) {
    case GgmlType::F32:
      for (uint64_t i = 0; i < count; ++i) out[i] = fp32_from_bits(load_le32(data + 4 * i));
      return;
    case GgmlType::F16:
      for (uint64_t i = 0; i < count; ++i) out[i] = fp32_from_bits(fp16_to_fp32_bits(load_le16(data + 2 * i)));
      return;
    case GgmlType::BF16:
      for (uint64_t i = 0; i < count; ++i) out[i] = bf16_to_fp32(load_le16(data + 2 * i));
      return;
    default: break;
  }
  const QuantLayout* q = quant_layout(t);
  if (!q) throw FormatError(std::string("tensor type ") + ggml_type_name(t) +
                            " cannot be dequantized (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 can)");
  const uint32_t bytes = q->block_bytes();
  for (uint64_t b = 0; b < count / kQuantBlockValues; ++b) {
    const uint8_t* block = data + b * bytes;
    float* y = out + b * kQuantBlockValues;
    const float d = fp32_from_bits(fp16_to_fp32_bits(load_le16(block)));
    // A code (at most 8 bits) times an fp16 scale (11 significant bits) is exact in fp32, so only the
    // add rounds and a fused multiply-add would give the same result.
    if (t == GgmlType::Q4_1) {
      const float m = fp32_from_bits(fp16_to_fp32_bits(load_le16(block + 2)));
      for (uint32_t j = 0; j < kQuantBlockValues; ++j) y[j] = float(q->code(block, j)) * d + m;
    } else if (t == GgmlType::Q4_0) {
      for (uint32_t j = 0; j < kQuantBlockValues; ++j) y[j] = float(int(q->code(block, j)) - 8) * d;
    } else {
      for (uint32_t j = 0; j < kQuantBlockValues; ++j) y[j] = float(int8_t(q->code(block, j))) * d;
    }
  }
}

std::vector<uint8_t> gguf_tensor_bytes(const ByteSource& src, const GgufTensor& t) {
  if (t.offset > src.size() || t.size > src.size() - t.offset)
    throw FormatError("GGUF tensor " + quote_name(t.name) + " runs past the end of the file");
  return src.read(t.offset, size_t(t.size));
}

std::vector<float> gguf_read_fp32(const ByteSource& src, const GgufTensor& t) {
  if (!gguf_can_dequantize(t.type))
    throw FormatError("GGUF tensor " + quote_name(t.name) + " is " + ggml_type_name(t.type) +
                      ", which cannot be dequantized (F32, F16, BF16, Q8_0, Q4_0 and Q4_1 can)");
  const std::vector<uint8_t> bytes = gguf_tensor_bytes(src, t);
  std::vector<float> out(size_t(t.value_count));
  gguf_dequantize(t.type, bytes.data(), t.value_count, out.data());
  return out;
}

namespace {

// A float in its shortest decimal form that reads back to the same value.
template <class F>
std::string shortest(F x) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, r.ptr);
}

nlohmann::ordered_json to_json(const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::String: return v.string;
    case GgufValueType::Bool: return v.bits != 0;
    case GgufValueType::F32: return double(fp32_from_bits(uint32_t(v.bits)));
    case GgufValueType::F64: return v.as_float();
    case GgufValueType::Array: {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (size_t i = 0; i < v.size(); ++i) a.push_back(to_json(v.item(i)));
      return a;
    }
    default: break;
  }
  if (is_signed(v.type)) return signed_value(v);
  return v.bits;
}

std::string to_text(const GgufValue& v) {
  switch (v.type) {
    case GgufValueType::String: return v.string;
    case GgufValueType::Bool: return v.bits ? "true" : "false";
    case GgufValueType::F32: return shortest(fp32_from_bits(uint32_t(v.bits)));
    case GgufValueType::F64: return shortest(v.as_float());
    case GgufValueType::Array: return to_json(v).dump();
    default: break;
  }
  return is_signed(v.type) ? std::to_string(signed_value(v)) : std::to_string(v.bits);
}

}  // namespace

std::map<std::string, std::string> gguf_metadata_strings(const GgufFile& f) {
  std::map<std::string, std::string> out{{"format", "gguf"}};
  for (const auto& [key, value] : f.metadata) {
    try {
      std::string text = to_text(value);
      (void)nlohmann::json(text).dump();  // safetensors metadata is JSON: refuse what JSON cannot hold
      (void)nlohmann::json(key).dump();
      out[key] = std::move(text);
    } catch (const nlohmann::json::exception&) {
      throw FormatError("GGUF metadata " + quote_name(key) + " is not valid UTF-8, which safetensors metadata must be");
    }
  }
  return out;
}

}  // namespace ws
