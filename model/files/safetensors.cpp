#include "files/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

using nlohmann::json;

// a * b, or throws when it does not fit in 64 bits.
uint64_t checked_mul(uint64_t a, uint64_t b, const std::string& what) {
  if (a != 0 && b > UINT64_MAX / a) throw FormatError(what);
  return a * b;
}

void check_header_length(uint64_t len, uint64_t file_size) {
  if (len > kSafetensorsMaxHeader)
    throw FormatError("safetensors header of " + std::to_string(len) + " bytes is above the 100 MB limit");
  if (file_size < 8 || len > file_size - 8)
    throw FormatError("safetensors header length " + std::to_string(len) + " runs past the end of the file");
}

uint64_t as_u64(const json& j, const std::string& what) {
  if (!j.is_number_unsigned()) throw FormatError(what + " is not a non-negative integer");
  return j.get<uint64_t>();
}

SafetensorsTensor parse_entry(const std::string& name, const json& e, uint64_t data_size) {
  const std::string where = "tensor " + quote_name(name);
  if (name.size() > 0xffff) throw FormatError("tensor name longer than 65535 bytes");
  if (!e.is_object()) throw FormatError(where + ": entry is not an object");
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!e.contains(key)) throw FormatError(where + ": missing \"" + key + "\"");

  SafetensorsTensor t;
  t.name = name;
  const json& dtype = e.at("dtype");
  if (!dtype.is_string()) throw FormatError(where + ": dtype is not a string");
  t.dtype = dtype.get<std::string>();
  const size_t width = safetensors_dtype_size(t.dtype);
  t.opaque = width == 0;
  t.coded = safetensors_coded_dtype(t.dtype);

  const json& shape = e.at("shape");
  if (!shape.is_array()) throw FormatError(where + ": shape is not an array");
  if (shape.size() > 255) throw FormatError(where + ": more than 255 dimensions");
  // A zero dimension makes the tensor empty whatever the others are; otherwise the product must fit.
  bool empty = false;
  for (const json& d : shape) {
    t.shape.push_back(as_u64(d, where + ": a dimension"));
    empty = empty || t.shape.back() == 0;
  }
  t.value_count = 1;
  if (empty) {
    t.value_count = 0;
  } else {
    for (uint64_t d : t.shape) t.value_count = checked_mul(t.value_count, d, where + ": absurd shape");
  }
  const uint64_t bytes = t.opaque ? 0 : checked_mul(t.value_count, width, where + ": absurd shape");

  const json& offs = e.at("data_offsets");
  if (!offs.is_array() || offs.size() != 2) throw FormatError(where + ": data_offsets is not [begin, end]");
  const uint64_t begin = as_u64(offs[0], where + ": data_offsets begin");
  const uint64_t end = as_u64(offs[1], where + ": data_offsets end");
  if (begin > end) throw FormatError(where + ": data_offsets end before begin");
  if (end > data_size)
    throw FormatError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                      ") out of range (data is " + std::to_string(data_size) + " bytes)");
  if (t.opaque) {
    t.offset = begin;
    t.size = end - begin;
    return t;
  }
  if (end - begin != bytes)
    throw FormatError(where + ": " + std::to_string(t.value_count) + " values of " + t.dtype + " need " +
                      std::to_string(bytes) + " bytes but data_offsets span " + std::to_string(end - begin));
  t.offset = begin;  // made absolute by the caller
  t.size = bytes;
  return t;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& d) {
  static const std::map<std::string, size_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2},
      {"U16", 2},  {"F16", 2}, {"BF16", 2}, {"I32", 4},     {"U32", 4},     {"F32", 4},
      {"I64", 8},  {"U64", 8}, {"F64", 8}};
  auto it = sizes.find(d);
  return it == sizes.end() ? 0 : it->second;
}

DType safetensors_coded_dtype(const std::string& d) {
  if (d == "BF16") return DType::BF16;
  if (d == "F16") return DType::F16;
  if (d == "F32") return DType::F32;
  return DType::Raw;
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

bool looks_like_safetensors(const uint8_t* first, size_t n, uint64_t file_size) {
  if (n < 9 || file_size < 10) return false;
  const uint64_t len = load_le64(first);
  return len >= 2 && len <= file_size - 8 && first[8] == '{';
}

SafetensorsFile parse_safetensors_header(const uint8_t* text, size_t json_size, uint64_t file_size) {
  SafetensorsFile f;
  f.file_size = file_size;
  f.header_size = json_size;
  check_header_length(json_size, file_size);
  f.data_offset = 8 + json_size;
  const uint64_t data_size = file_size - f.data_offset;

  // Nesting deeper than a tensor entry's arrays is never legitimate; refusing it bounds the parse.
  // A repeated name would silently replace the first entry, so it is refused too.
  std::set<std::string> names;
  const json::parser_callback_t strict = [&names](int depth, json::parse_event_t event, json& parsed) {
    if (depth > 8) throw FormatError("safetensors header nests too deeply");
    if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second)
      throw FormatError("safetensors header names " + quote_name(parsed.get<std::string>()) + " twice");
    return true;
  };
  json root;
  try {
    root = json::parse(text, text + json_size, strict);
  } catch (const json::exception& e) {
    throw FormatError(std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!root.is_object()) throw FormatError("safetensors header is not a JSON object");

  for (const auto& [name, entry] : root.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw FormatError("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw FormatError("__metadata__ value of " + quote_name(k) + " is not a string");
        f.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    f.tensors.push_back(parse_entry(name, entry, data_size));
    f.tensors.back().offset += f.data_offset;
  }

  std::sort(f.tensors.begin(), f.tensors.end(), [](const SafetensorsTensor& a, const SafetensorsTensor& b) {
    if (a.offset != b.offset) return a.offset < b.offset;
    if (a.size != b.size) return a.size < b.size;
    return a.name < b.name;
  });
  for (size_t i = 1; i < f.tensors.size(); ++i) {
    const auto& a = f.tensors[i - 1];
    const auto& b = f.tensors[i];
    if (b.offset < a.offset + a.size)
      throw FormatError("tensors " + quote_name(a.name) + " and " + quote_name(b.name) + " overlap");
  }
  return f;
}

SafetensorsFile read_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(std::string("cannot open: ") + std::strerror(errno));
  if (std::filesystem::is_directory(path)) throw FormatError("is a directory");
  in.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(in.tellg());
  in.seekg(0);
  uint8_t prefix[9] = {};
  in.read(reinterpret_cast<char*>(prefix), std::streamsize(std::min<uint64_t>(9, size)));
  if (size < 8) throw FormatError("not a safetensors file: shorter than its 8-byte header length");
  const uint64_t len = load_le64(prefix);
  check_header_length(len, size);
  std::vector<uint8_t> text(len);
  in.seekg(8);
  in.read(reinterpret_cast<char*>(text.data()), std::streamsize(len));
  if (!in) throw FormatError("read failed in the safetensors header");
  return parse_safetensors_header(text.data(), text.size(), size);
}

std::vector<uint8_t> make_safetensors_header(const std::map<std::string, std::string>& metadata,
                                             const std::vector<SafetensorsEntry>& tensors) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  if (!metadata.empty()) root["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    const size_t width = safetensors_dtype_size(t.dtype);
    if (t.name == "__metadata__" || root.contains(t.name))
      throw std::invalid_argument("make_safetensors_header: duplicate tensor name " + t.name);
    uint64_t bytes = width;
    for (uint64_t d : t.shape) bytes *= d;
    if (width == 0) bytes = t.opaque_bytes;
    root[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = root.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned, as the reference writer does
  std::vector<uint8_t> out(8 + text.size());
  store_le(out.data(), text.size(), 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  return out;
}

int side_metadata_int(const std::map<std::string, std::string>& md, const std::string& key, const std::string& what) {
  auto it = md.find(key);
  if (it == md.end()) throw FormatError(what + ": metadata has no " + key);
  try {
    size_t used = 0;
    const long v = std::stol(it->second, &used);
    if (used != it->second.size() || v < 1 || v > (1 << 20)) throw std::out_of_range(key);
    return int(v);
  } catch (const std::logic_error&) {
    throw FormatError(what + ": metadata " + key + " is not a positive integer: " + it->second);
  }
}

void check_side_format(const std::map<std::string, std::string>& md, const std::string& format,
                       const std::string& version, const std::string& what) {
  auto f = md.find("format");
  if (f == md.end() || f->second != format)
    throw FormatError(what + ": metadata format is not \"" + format + "\" (not a file of this kind)");
  auto v = md.find("version");
  if (v == md.end() || v->second != version) throw FormatError(what + ": metadata version is not " + version);
}

std::map<std::string, std::string> side_extra_metadata(const std::map<std::string, std::string>& md,
                                                       const std::vector<std::string>& fields) {
  std::map<std::string, std::string> extra;
  for (const auto& [k, v] : md)
    if (k != "format" && k != "version" && std::find(fields.begin(), fields.end(), k) == fields.end()) extra[k] = v;
  return extra;
}

void write_side_file(const std::string& path, std::map<std::string, std::string> md, const std::string& format,
                     const std::string& version, const std::vector<SideTensor>& tensors) {
  md["format"] = format;
  md["version"] = version;
  std::vector<SafetensorsEntry> entries;
  for (const SideTensor& t : tensors) entries.push_back(t.entry);
  const std::vector<uint8_t> header = make_safetensors_header(md, entries);
  AtomicFileSink out(path);
  out.write(header.data(), header.size());
  for (const SideTensor& t : tensors) out.write(static_cast<const uint8_t*>(t.data), t.bytes);
  out.commit();
}

void read_side_tensor(const ByteSource& src, const SafetensorsFile& f, const std::string& name,
                      const std::string& dtype, const std::vector<uint64_t>& shape, const std::string& what,
                      void* out, size_t bytes) {
  const SafetensorsTensor* t = f.find(name);
  if (!t) throw FormatError(what + " has no tensor " + name);
  if (t->dtype != dtype) throw FormatError(what + ": " + name + " has dtype " + t->dtype + ", expected " + dtype);
  if (t->shape != shape || t->size != bytes) throw FormatError(what + ": " + name + " has the wrong shape for its metadata");
  src.read(t->offset, static_cast<uint8_t*>(out), bytes);
}

}  // namespace ws
