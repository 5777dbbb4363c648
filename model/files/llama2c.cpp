#include "files/llama2c.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "core/bytes.hpp"
#include "core/error.hpp"

namespace ws {
namespace {

int32_t load_i32le(const uint8_t* p) { return int32_t(load_le32(p)); }

uint64_t checked_mul(uint64_t a, uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) throw FormatError("llama2.c config: array sizes overflow");
  return a * b;
}

std::ifstream open_file(const std::string& path, uint64_t& size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FormatError(std::string("cannot open: ") + std::strerror(errno));
  if (std::filesystem::is_directory(path)) throw FormatError("is a directory");
  in.seekg(0, std::ios::end);
  size = uint64_t(in.tellg());
  in.seekg(0);
  return in;
}

}  // namespace

const Llama2cArray* Llama2cFile::find(const std::string& name) const {
  for (const auto& a : arrays)
    if (a.name == name) return &a;
  return nullptr;
}

const Llama2cArray& Llama2cFile::at(const std::string& name) const {
  const Llama2cArray* a = find(name);
  if (!a) throw std::out_of_range("llama2.c model has no array '" + name + "'");
  return *a;
}

Llama2cConfig parse_llama2c_config(const uint8_t* h) {
  Llama2cConfig c;
  c.dim = load_i32le(h);
  c.hidden_dim = load_i32le(h + 4);
  c.n_layers = load_i32le(h + 8);
  c.n_heads = load_i32le(h + 12);
  c.n_kv_heads = load_i32le(h + 16);
  const int32_t vocab = load_i32le(h + 20);
  c.seq_len = load_i32le(h + 24);

  const std::pair<const char*, int32_t> positive[] = {{"dim", c.dim},         {"hidden_dim", c.hidden_dim},
                                                      {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
                                                      {"n_kv_heads", c.n_kv_heads}, {"seq_len", c.seq_len}};
  for (const auto& [name, v] : positive)
    if (v <= 0) throw FormatError(std::string("llama2.c header: ") + name + " = " + std::to_string(v) + " is not positive");
  if (vocab == 0 || vocab == INT32_MIN)
    throw FormatError("llama2.c header: vocab_size = " + std::to_string(vocab) + " is invalid");
  c.shared_classifier = vocab > 0;
  c.vocab_size = vocab > 0 ? vocab : -vocab;
  if (c.dim % c.n_heads != 0)
    throw FormatError("llama2.c header: n_heads = " + std::to_string(c.n_heads) + " does not divide dim = " +
                      std::to_string(c.dim));
  if (c.n_kv_heads > c.n_heads || c.n_heads % c.n_kv_heads != 0)
    throw FormatError("llama2.c header: n_kv_heads = " + std::to_string(c.n_kv_heads) +
                      " does not divide n_heads = " + std::to_string(c.n_heads));
  if (c.head_size() % 2 != 0)
    throw FormatError("llama2.c header: head size " + std::to_string(c.head_size()) + " is odd");
  return c;
}

Llama2cFile llama2c_layout(const Llama2cConfig& c) {
  Llama2cFile f;
  f.config = c;
  const uint64_t dim = uint64_t(c.dim), hidden = uint64_t(c.hidden_dim), layers = uint64_t(c.n_layers);
  const uint64_t vocab = uint64_t(c.vocab_size), kv = uint64_t(c.kv_dim()), seq = uint64_t(c.seq_len);
  const uint64_t half_head = uint64_t(c.head_size()) / 2;
  const std::pair<const char*, std::vector<uint64_t>> arrays[] = {
      {"token_embedding_table", {vocab, dim}},
      {"rms_att_weight", {layers, dim}},
      {"wq", {layers, dim, dim}},
      {"wk", {layers, kv, dim}},
      {"wv", {layers, kv, dim}},
      {"wo", {layers, dim, dim}},
      {"rms_ffn_weight", {layers, dim}},
      {"w1", {layers, hidden, dim}},
      {"w2", {layers, dim, hidden}},
      {"w3", {layers, hidden, dim}},
      {"rms_final_weight", {dim}},
      {"freq_cis_real", {seq, half_head}},
      {"freq_cis_imag", {seq, half_head}},
  };
  uint64_t offset = kLlama2cHeaderBytes;
  auto add = [&](const char* name, const std::vector<uint64_t>& shape) {
    Llama2cArray a;
    a.name = name;
    a.shape = shape;
    a.offset = offset;
    a.value_count = 1;
    for (uint64_t d : shape) a.value_count = checked_mul(a.value_count, d);
    const uint64_t bytes = checked_mul(a.value_count, 4);
    if (offset > UINT64_MAX - bytes) throw FormatError("llama2.c config: array sizes overflow");
    offset += bytes;
    f.arrays.push_back(a);
  };
  for (const auto& [name, shape] : arrays) add(name, shape);
  if (!c.shared_classifier) add("wcls", {vocab, dim});
  f.file_size = offset;
  return f;
}

Llama2cFile parse_llama2c(const uint8_t* header, uint64_t file_size) {
  if (file_size < kLlama2cHeaderBytes)
    throw FormatError("not a llama2.c model: shorter than its 28-byte header");
  Llama2cFile f = llama2c_layout(parse_llama2c_config(header));
  if (f.file_size != file_size)
    throw FormatError("not a llama2.c model: " + std::to_string(file_size) + " bytes, but its header implies " +
                      std::to_string(f.file_size));
  return f;
}

Llama2cFile read_llama2c(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = open_file(path, size);
  uint8_t header[kLlama2cHeaderBytes] = {};
  if (size >= kLlama2cHeaderBytes) in.read(reinterpret_cast<char*>(header), kLlama2cHeaderBytes);
  return parse_llama2c(header, size);
}

std::map<std::string, std::string> llama2c_metadata(const Llama2cConfig& c) {
  return {{"format", "llama2.c"},
          {"dim", std::to_string(c.dim)},
          {"hidden_dim", std::to_string(c.hidden_dim)},
          {"n_layers", std::to_string(c.n_layers)},
          {"n_heads", std::to_string(c.n_heads)},
          {"n_kv_heads", std::to_string(c.n_kv_heads)},
          {"vocab_size", std::to_string(c.vocab_size)},
          {"seq_len", std::to_string(c.seq_len)},
          {"shared_classifier", c.shared_classifier ? "true" : "false"}};
}

const float* Llama2cModel::data(const std::string& name) const {
  return values.data() + (file.at(name).offset - kLlama2cHeaderBytes) / 4;
}

Llama2cModel load_llama2c(const std::string& path) {
  uint64_t size = 0;
  std::ifstream in = open_file(path, size);
  uint8_t header[kLlama2cHeaderBytes] = {};
  if (size >= kLlama2cHeaderBytes) in.read(reinterpret_cast<char*>(header), kLlama2cHeaderBytes);
  Llama2cModel m;
  m.file = parse_llama2c(header, size);
  const uint64_t n = (size - kLlama2cHeaderBytes) / 4;
  m.values.resize(size_t(n));
  // The file is little-endian fp32, as is every host this project builds for.
  in.read(reinterpret_cast<char*>(m.values.data()), std::streamsize(n * 4));
  if (!in) throw FormatError("read failed");
  return m;
}

}  // namespace ws
