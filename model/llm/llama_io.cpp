#include "llm/llama_io.hpp"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/model_file.hpp"
#include "llm/model_meta.hpp"

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

// ---- llama-architecture files with named tensors: GGUF, convert's safetensors of one, HF checkpoints.

// A named tensor of the file, dequantized to fp32; throws when it is missing or not of this shape.
using ReadTensor = std::function<std::vector<float>(const std::string& name, const std::vector<uint64_t>& shape)>;

// The tensor names of one file family (llama.cpp's LLM_TENSOR_NAMES, or transformers' LlamaForCausalLM).
struct TensorNames {
  const char* embedding;
  const char* final_norm;
  const char* classifier;    // absent in the file: tied to the embedding
  const char* layer_prefix;  // + layer + "."
  const char* att_norm;
  const char* ffn_norm;
  const char* linear[kLayerLinears];  // wq, wk, wv, wo, w1 (gate), w2 (down), w3 (up)
};
const TensorNames kGgufNames{"token_embd.weight", "output_norm.weight", "output.weight", "blk.",
                             "attn_norm.weight", "ffn_norm.weight",
                             {"attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
                              "ffn_gate.weight", "ffn_down.weight", "ffn_up.weight"}};
const TensorNames kHfNames{"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.",
                           "input_layernorm.weight", "post_attention_layernorm.weight",
                           {"self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                            "self_attn.o_proj.weight", "mlp.gate_proj.weight", "mlp.down_proj.weight",
                            "mlp.up_proj.weight"}};

// HF checkpoints rotate (i, i + head_size/2) of each head ("rotate_half"); GGUF files adjacent pairs,
// because llama.cpp's converter permutes the q/k rows. This is that permutation (convert_hf_to_gguf.py's
// permute): row 2i of a head takes HF row i, row 2i+1 takes HF row i + head_size/2.
std::vector<float> rotate_half_to_pairs(const std::vector<float>& w, int heads, int head_size, int in) {
  std::vector<float> out(w.size());
  const int half = head_size / 2;
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j) {
        const float* from = w.data() + (size_t(h) * head_size + size_t(j) * half + i) * size_t(in);
        std::copy(from, from + in, out.data() + (size_t(h) * head_size + 2 * size_t(i) + j) * size_t(in));
      }
  return out;
}

// The weights of config c from tensors named as in `names`; rope_half: q/k rows in HF's order.
LlamaWeights from_named(const LlamaConfig& c, const TensorNames& names, bool has_classifier, bool rope_half,
                        const ReadTensor& read) {
  validate_config(c);
  LlamaWeights w;
  w.config = c;
  w.config.shared_classifier = !has_classifier;
  const uint64_t V = uint64_t(c.vocab_size), D = uint64_t(c.dim);
  w.token_embedding_table = read(names.embedding, {V, D});
  w.rms_final_weight = read(names.final_norm, {D});
  if (has_classifier) w.wcls = read(names.classifier, {V, D});
  // Grown tensor by tensor, never sized from the config: every value read exists in the file.
  auto append = [](std::vector<float>& to, const std::vector<float>& v) { to.insert(to.end(), v.begin(), v.end()); };
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string prefix = names.layer_prefix + std::to_string(l) + ".";
    append(w.rms_att_weight, read(prefix + names.att_norm, {D}));
    append(w.rms_ffn_weight, read(prefix + names.ffn_norm, {D}));
    for (int k = 0; k < kLayerLinears; ++k) {
      const LinearKind kind = LinearKind(k);
      const int out = linear_out(c, kind), in = linear_in(c, kind);
      std::vector<float> m = read(prefix + names.linear[k], {uint64_t(out), uint64_t(in)});
      if (rope_half && (kind == LinearKind::wq || kind == LinearKind::wk))
        m = rotate_half_to_pairs(m, out / c.head_size(), c.head_size(), in);
      append(w.linear[size_t(k)], m);
    }
  }
  w.validate();
  return w;
}

int checked_int(int64_t v, const std::string& key) {
  if (v <= 0 || v > INT32_MAX) throw FormatError("metadata " + quote_name(key) + " = " + std::to_string(v) + " is out of range");
  return int(v);
}

// The config of a llama model from GGUF's metadata keys; the vocabulary is the embedding's rows.
LlamaConfig config_from_meta(const ModelMeta& md, uint64_t embedding_rows) {
  const std::string arch = md.text("general.architecture");
  if (arch != "llama") throw FormatError("architecture '" + arch + "' is not supported (llama only)");
  LlamaConfig c;
  c.dim = checked_int(md.integer("llama.embedding_length"), "llama.embedding_length");
  c.hidden_dim = checked_int(md.integer("llama.feed_forward_length"), "llama.feed_forward_length");
  c.n_layers = checked_int(md.integer("llama.block_count"), "llama.block_count");
  c.n_heads = checked_int(md.integer("llama.attention.head_count"), "llama.attention.head_count");
  c.n_kv_heads = checked_int(md.integer("llama.attention.head_count_kv", c.n_heads), "llama.attention.head_count_kv");
  c.seq_len = checked_int(md.integer("llama.context_length"), "llama.context_length");
  c.vocab_size = checked_int(int64_t(std::min<uint64_t>(embedding_rows, uint64_t(INT32_MAX) + 1)), "token_embd rows");
  if (md.has("llama.vocab_size") && md.integer("llama.vocab_size") != c.vocab_size)
    throw FormatError("metadata 'llama.vocab_size' differs from the embedding's " + std::to_string(c.vocab_size) + " rows");
  c.rope_theta = float(md.number("llama.rope.freq_base", 10000.0));
  c.rms_eps = float(md.number("llama.attention.layer_norm_rms_epsilon"));
  validate_config(c);  // whole heads, sane sizes: before head_size() means anything
  for (const char* key : {"llama.rope.dimension_count", "llama.attention.key_length", "llama.attention.value_length"})
    if (md.has(key) && md.integer(key) != c.head_size())
      throw FormatError("metadata " + quote_name(key) + " = " + md.text(key) + ": only heads of embedding_length / head_count = " +
                        std::to_string(c.head_size()) + " are supported, fully rotated");
  if (md.has("llama.rope.scaling.type") && md.text("llama.rope.scaling.type") != "none")
    throw FormatError("metadata 'llama.rope.scaling.type' = " + md.text("llama.rope.scaling.type") + " is not supported");
  return c;
}

void expect_shape(const std::string& name, const std::vector<uint64_t>& got, const std::vector<uint64_t>& want) {
  if (got == want) return;
  auto text = [](const std::vector<uint64_t>& s) {
    std::string r;
    for (uint64_t d : s) r += (r.empty() ? "" : "x") + std::to_string(d);
    return r;
  };
  throw FormatError("tensor " + quote_name(name) + " has shape " + text(got) + ", the config implies " + text(want));
}

LlamaWeights from_gguf(const ByteSource& src, const GgufFile& f, const ModelMeta& md) {
  const GgufTensor* embd = f.find_tensor(kGgufNames.embedding);
  if (!embd || embd->ne.size() != 2) throw FormatError("GGUF file has no 2-D tensor 'token_embd.weight'");
  const LlamaConfig c = config_from_meta(md, embd->shape()[0]);
  return from_named(c, kGgufNames, f.find_tensor(kGgufNames.classifier) != nullptr, false,
                    [&](const std::string& name, const std::vector<uint64_t>& shape) {
                      const GgufTensor* t = f.find_tensor(name);
                      if (!t) throw FormatError("GGUF file has no tensor " + quote_name(name));
                      expect_shape(name, t->shape(), shape);
                      return gguf_read_fp32(src, *t);
                    });
}

ReadTensor safetensors_reader(const ByteSource& src, const SafetensorsFile& f) {
  return [&src, &f](const std::string& name, const std::vector<uint64_t>& shape) {
    const SafetensorsTensor* t = f.find(name);
    if (!t) throw FormatError("safetensors file has no tensor " + quote_name(name));
    expect_shape(name, t->shape, shape);
    if (t->coded == DType::Raw)
      throw FormatError("tensor " + quote_name(name) + " has dtype " + quote_name(t->dtype) + ", expected F32, BF16 or F16");
    return read_floats(src, t->offset, t->value_count, t->coded);
  };
}

uint64_t embedding_rows(const SafetensorsFile& f, const char* name) {
  const SafetensorsTensor* t = f.find(name);
  if (!t || t->shape.size() != 2) throw FormatError(std::string("safetensors file has no 2-D tensor '") + name + "'");
  return t->shape[0];
}

// An HF checkpoint's config: config.json beside the weights (transformers' LlamaConfig keys).
LlamaConfig hf_config(const std::string& weights_path, uint64_t embedding_rows) {
  const std::filesystem::path json_path = std::filesystem::path(weights_path).parent_path() / "config.json";
  std::ifstream in(json_path);
  if (!in) throw FormatError("an HF llama checkpoint needs its config.json beside it (" + json_path.string() + " not found)");
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) throw FormatError(json_path.string() + " is not a JSON object");
  // The same keys GGUF's converter reads, mapped onto GGUF's names so that one function checks them.
  std::map<std::string, std::string> md{{"general.architecture", "llama"}};
  const std::pair<const char*, const char*> keys[] = {
      {"hidden_size", "llama.embedding_length"},       {"intermediate_size", "llama.feed_forward_length"},
      {"num_hidden_layers", "llama.block_count"},      {"num_attention_heads", "llama.attention.head_count"},
      {"num_key_value_heads", "llama.attention.head_count_kv"}, {"max_position_embeddings", "llama.context_length"},
      {"rope_theta", "llama.rope.freq_base"},          {"rms_norm_eps", "llama.attention.layer_norm_rms_epsilon"},
      {"vocab_size", "llama.vocab_size"},              {"head_dim", "llama.attention.key_length"}};
  for (const auto& [hf, gguf] : keys) {
    if (!j.contains(hf) || j[hf].is_null()) continue;
    if (!j[hf].is_number()) throw FormatError(json_path.string() + ": " + hf + " is not a number");
    md[gguf] = j[hf].is_number_integer() ? std::to_string(j[hf].get<int64_t>()) : j[hf].dump();
  }
  if (j.contains("model_type") && j["model_type"] != "llama")
    throw FormatError(json_path.string() + ": model_type " + j["model_type"].dump() + " is not supported (llama only)");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    throw FormatError(json_path.string() + ": rope_scaling is not supported");
  return config_from_meta(ModelMeta(md), embedding_rows);
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
  // Written by save_llama only where they differ from run.c's constants (a GGUF model's pruned copy).
  const ModelMeta md(f.metadata);
  w.config.rope_theta = float(md.number("rope_theta", w.config.rope_theta));
  w.config.rms_eps = float(md.number("rms_eps", w.config.rms_eps));

  for (const Llama2cArray& a : llama2c_layout(w.config).arrays) {
    const SafetensorsTensor* t = f.find(a.name);
    if (!t) {
      if (is_freq_cis(a.name)) continue;  // unused by the forward pass
      throw FormatError("safetensors file has no tensor " + a.name);
    }
    if (t->shape != a.shape) throw FormatError("tensor " + a.name + " has the wrong shape for the config");
    if (t->coded == DType::Raw)
      throw FormatError("tensor " + t->name + " has dtype " + quote_name(t->dtype) + ", expected F32, BF16 or F16");
    *slot(w, a.name) = read_floats(src, t->offset, t->value_count, t->coded);
  }
  for (int k = 0; k < kLayerLinears; ++k) {
    const std::string name = std::string(kLinearNames[k]) + ".perm";
    const SafetensorsTensor* t = f.find(name);
    if (!t) continue;
    const uint64_t in_features = uint64_t(linear_in(w.config, LinearKind(k)));
    if (t->dtype != "I32") throw FormatError("tensor " + name + " has dtype " + quote_name(t->dtype) + ", expected I32");
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
  if (m.kind == SourceKind::Llama2c) return from_llama2c(*src, m.llama2c);
  if (m.kind == SourceKind::Gguf) return from_gguf(*src, m.gguf, *model_meta(m));
  if (m.kind != SourceKind::Safetensors) throw FormatError(m.not_llama2c);
  const SafetensorsFile& st = m.safetensors;
  if (const std::optional<ModelMeta> md = model_meta(m)) {  // convert's output from a GGUF file
    const LlamaConfig c = config_from_meta(*md, embedding_rows(st, kGgufNames.embedding));
    return from_named(c, kGgufNames, st.find(kGgufNames.classifier) != nullptr, false, safetensors_reader(*src, st));
  }
  if (st.find(kHfNames.embedding)) {  // an HF checkpoint
    const LlamaConfig c = hf_config(path, embedding_rows(st, kHfNames.embedding));
    return from_named(c, kHfNames, st.find(kHfNames.classifier) != nullptr, true, safetensors_reader(*src, st));
  }
  return from_safetensors(*src, st);
}

namespace {

// save_llama's file: its header, then the blobs (pointers into w) in order.
struct LlamaParts {
  std::vector<uint8_t> header;
  std::vector<std::pair<const void*, size_t>> blobs;
};

LlamaParts llama_parts(const LlamaWeights& w, const std::map<std::string, std::string>& extra) {
  w.validate();
  std::map<std::string, std::string> metadata = llama2c_metadata(w.config);
  const LlamaConfig run_c;  // llama2.c files keep exactly the metadata they always had
  auto text = [](float v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.9g", double(v));
    return std::string(b);
  };
  if (w.config.rope_theta != run_c.rope_theta) metadata["rope_theta"] = text(w.config.rope_theta);
  if (w.config.rms_eps != run_c.rms_eps) metadata["rms_eps"] = text(w.config.rms_eps);
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
  return {make_safetensors_header(metadata, entries), std::move(blobs)};
}

}  // namespace

std::vector<uint8_t> llama_safetensors(const LlamaWeights& w, const std::map<std::string, std::string>& extra) {
  const LlamaParts parts = llama_parts(w, extra);
  std::vector<uint8_t> out = parts.header;
  for (const auto& [data, bytes] : parts.blobs)
    out.insert(out.end(), static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + bytes);
  return out;
}

void save_llama(const LlamaWeights& w, const std::string& path, const std::map<std::string, std::string>& extra) {
  const LlamaParts parts = llama_parts(w, extra);
  AtomicFileSink out(path);  // a failed save leaves no half-written file
  out.write(parts.header.data(), parts.header.size());
  for (const auto& [data, bytes] : parts.blobs) out.write(static_cast<const uint8_t*>(data), bytes);
  out.commit();
}

}  // namespace ws
