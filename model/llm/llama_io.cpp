#include "llm/llama_io.hpp"

#include <cstring>
#include <memory>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/model_file.hpp"

namespace ws {
namespace {

const char* const kLinearNames[kLayerLinears] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3"};

// Where each named array of the llama2.c layout lives in LlamaWeights (W: const or not).
template <class W>
auto slot(W& w, const std::string& name) -> decltype(&w.wcls) {
  if (name == "token_embedding_table") return &w.token_embedding_table;
  if (name == "rms_att_weight") return &w.rms_att_weight;
  if (name == "rms_ffn_weight") return &w.rms_ffn_weight;
  if (name == "rms_final_weight") return &w.rms_final_weight;
  if (name == "freq_cis_real") return &w.freq_cis_real;
  if (name == "freq_cis_imag") return &w.freq_cis_imag;
  if (name == "wcls") return &w.wcls;
  for (int k = 0; k < kLayerLinears; ++k)
    if (name == kLinearNames[k]) return &w.linear[size_t(k)];
  throw FormatError("unknown llama2.c array " + name);
}

bool is_freq_cis(const std::string& name) { return name == "freq_cis_real" || name == "freq_cis_imag"; }

int parse_int(const std::map<std::string, std::string>& md, const std::string& key) {
  auto it = md.find(key);
  if (it == md.end()) throw FormatError("safetensors __metadata__ has no llama2.c field '" + key + "'");
  const std::string& s = it->second;
  long long v = 0;
  bool ok = !s.empty() && s.size() <= 10;
  for (char ch : s) {
    if (ch < '0' || ch > '9') ok = false;
    else v = v * 10 + (ch - '0');
  }
  if (!ok || v > INT32_MAX) throw FormatError("safetensors __metadata__: " + key + " = '" + s + "' is not a number");
  return int(v);
}

// `count` values of float dtype t at `offset` of src, as floats.
std::vector<float> read_floats(const ByteSource& src, uint64_t offset, uint64_t count, DType t) {
  const std::vector<uint8_t> b = src.read(offset, size_t(count * dtype_size(t)));
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = fp32_from_bits(fp32_bits_at(b.data(), i, t));
  return v;
}

LlamaWeights from_llama2c(const ByteSource& src, const Llama2cFile& f) {
  LlamaWeights w;
  w.config = f.config;
  for (const Llama2cArray& a : f.arrays) *slot(w, a.name) = read_floats(src, a.offset, a.value_count, DType::F32);
  w.validate();
  return w;
}

LlamaWeights from_safetensors(const ByteSource& src, const SafetensorsFile& f) {
  // The config goes through the .bin header parser, so it gets the same validation.
  uint8_t header[kLlama2cHeaderBytes];
  const char* fields[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i) store_le(header + 4 * i, uint32_t(parse_int(f.metadata, fields[i])), 4);
  auto shared = f.metadata.find("shared_classifier");
  if (shared != f.metadata.end() && shared->second == "false")
    store_le(header + 20, uint32_t(-parse_int(f.metadata, "vocab_size")), 4);
  LlamaWeights w;
  w.config = parse_llama2c_config(header);

  for (const Llama2cArray& a : llama2c_layout(w.config).arrays) {
    const SafetensorsTensor* t = f.find(a.name);
    if (!t) {
      if (is_freq_cis(a.name)) continue;  // unused by the forward pass
      throw FormatError("safetensors file has no tensor " + a.name);
    }
    if (t->shape != a.shape) throw FormatError("tensor " + a.name + " has the wrong shape for the config");
    if (t->coded == DType::Raw)
      throw FormatError("tensor " + t->name + " has dtype " + t->dtype + ", expected F32, BF16 or F16");
    *slot(w, a.name) = read_floats(src, t->offset, t->value_count, t->coded);
  }
  for (int k = 0; k < kLayerLinears; ++k) {
    const std::string name = std::string(kLinearNames[k]) + ".perm";
    const SafetensorsTensor* t = f.find(name);
    if (!t) continue;
    const uint64_t in_features = uint64_t(linear_in(w.config, LinearKind(k)));
    if (t->dtype != "I32") throw FormatError("tensor " + name + " has dtype " + t->dtype + ", expected I32");
    if (t->shape != std::vector<uint64_t>{uint64_t(w.config.n_layers), in_features})
      throw FormatError("tensor " + name + " has the wrong shape for the config");
    const std::vector<uint8_t> b = src.read(t->offset, size_t(t->size));
    w.perm[size_t(k)].resize(size_t(t->value_count));
    std::memcpy(w.perm[size_t(k)].data(), b.data(), b.size());
  }
  w.validate();
  return w;
}

}  // namespace

LlamaWeights load_llama(const std::string& path) {
  std::unique_ptr<FileSource> src;
  try {
    src = std::make_unique<FileSource>(path);
  } catch (const IoError& e) {
    throw FormatError(e.what());  // the loader reports every failure as a FormatError
  }
  const ModelFile m = detect_model_file(*src);
  if (m.kind == SourceKind::Safetensors) return from_safetensors(*src, m.safetensors);
  if (m.kind == SourceKind::Llama2c) return from_llama2c(*src, m.llama2c);
  if (m.kind == SourceKind::Gguf) throw FormatError("a GGUF model, which this loader does not read (safetensors and llama2.c only)");
  throw FormatError(m.not_llama2c);
}

void save_llama(const LlamaWeights& w, const std::string& path, const std::map<std::string, std::string>& extra) {
  w.validate();
  std::map<std::string, std::string> metadata = llama2c_metadata(w.config);
  for (const auto& [k, v] : extra) metadata[k] = v;

  std::vector<SafetensorsEntry> entries;
  std::vector<std::pair<const void*, size_t>> blobs;  // data in entry order
  for (const Llama2cArray& a : llama2c_layout(w.config).arrays) {
    const std::vector<float>* v = slot(w, a.name);
    if (v->empty() && is_freq_cis(a.name)) continue;
    entries.push_back({a.name, "F32", a.shape});
    blobs.push_back({v->data(), v->size() * 4});
    for (int k = 0; k < kLayerLinears; ++k) {
      const std::vector<int32_t>& p = w.perm[size_t(k)];
      if (a.name != kLinearNames[k] || p.empty()) continue;
      entries.push_back({a.name + ".perm", "I32", {a.shape[0], a.shape[2]}});
      blobs.push_back({p.data(), p.size() * 4});
    }
  }
  const std::vector<uint8_t> header = make_safetensors_header(metadata, entries);
  AtomicFileSink out(path);  // a failed save leaves no half-written file
  out.write(header.data(), header.size());
  for (const auto& [data, bytes] : blobs) out.write(static_cast<const uint8_t*>(data), bytes);
  out.commit();
}

}  // namespace ws
