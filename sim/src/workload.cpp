#include "workload.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <regex>
#include <stdexcept>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "core/bf16.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/model_file.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "ops/compress.hpp"
#include "prune/magnitude.hpp"

namespace wsim {
namespace {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error(path + ": cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<uint16_t> as_u16(const std::vector<uint8_t>& bytes) {
  std::vector<uint16_t> v(bytes.size() / 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = ws::load_le16(&bytes[2 * i]);
  return v;
}

bool is_linear(const std::string& name) {
  for (int k = 0; k < ws::kLayerLinears; ++k)
    if (name == ws::linear_name(ws::LinearKind(k))) return true;
  return false;
}

// The 2:4-pruned bf16 values of a linear tensor [layers][out][in]: from the pruned model if given
// (weightstream prune: permuted, masked, fp32), else the dense values pruned by magnitude.
std::vector<uint16_t> pruned_values(const StreamTensor& t, const std::vector<uint16_t>& dense,
                                    const ws::LlamaWeights* pruned) {
  const int cols = int(t.dims.back());
  const int rows = int(t.values / uint64_t(cols));
  std::vector<uint16_t> out(t.values);
  if (pruned) {
    for (int k = 0; k < ws::kLayerLinears; ++k) {
      if (t.name != ws::linear_name(ws::LinearKind(k))) continue;
      const std::vector<float>& w = pruned->linear[size_t(k)];
      if (w.size() != t.values) throw std::runtime_error("pruned model: " + t.name + " has another shape");
      for (size_t i = 0; i < w.size(); ++i) out[i] = ws::fp32_to_bf16(w[i]);
    }
    return out;
  }
  std::vector<float> w(t.values);
  for (size_t i = 0; i < w.size(); ++i) w[i] = ws::bf16_to_fp32(dense[i]);
  const std::vector<float> p = ws::prune24_magnitude(w, rows, cols);
  for (size_t i = 0; i < p.size(); ++i) out[i] = ws::fp32_to_bf16(p[i]);  // exact: already bf16
  return out;
}

}  // namespace

std::vector<uint8_t> bf16_container(const std::string& path, uint64_t chunk_values) {
  std::vector<uint8_t> file = read_file(path);
  if (file.size() >= 4 && std::memcmp(file.data(), "WSZ1", 4) == 0) return file;

  // Convert to bf16 safetensors in memory (as `weightstream convert --to bf16`), then compress.
  std::map<std::string, std::string> metadata;
  std::vector<ws::SafetensorsEntry> entries;
  std::vector<uint8_t> data;
  auto add = [&](const std::string& name, const std::vector<uint64_t>& shape, uint64_t offset, uint64_t count,
                 size_t width) {
    entries.push_back({name, "BF16", shape});
    const size_t at = data.size();
    data.resize(at + count * 2);
    if (width == 4)
      ws::fp32_to_bf16_le(file.data() + offset, count, data.data() + at);
    else if (width == 2)
      ws::fp16_to_bf16_le(file.data() + offset, count, data.data() + at);
  };
  const ws::ModelFile model = ws::require_model_file(ws::MemorySource(file.data(), file.size()));
  if (model.kind == ws::SourceKind::Safetensors) {
    const ws::SafetensorsFile& st = model.safetensors;
    metadata = st.metadata;
    for (const auto& t : st.tensors) {
      if (t.dtype == "BF16") {
        entries.push_back({t.name, "BF16", t.shape});
        data.insert(data.end(), file.begin() + long(t.offset), file.begin() + long(t.offset + t.size));
      } else if (t.dtype == "F32" || t.dtype == "F16") {
        add(t.name, t.shape, t.offset, t.value_count, t.dtype == "F32" ? 4 : 2);
      }  // other dtypes (perm tables, integers) are not weights
    }
  } else if (model.kind == ws::SourceKind::Llama2c) {
    const ws::Llama2cFile& f = model.llama2c;
    metadata = ws::llama2c_metadata(f.config);
    for (const auto& a : f.arrays) add(a.name, a.shape, a.offset, a.value_count, 4);
  } else {
    throw std::runtime_error(path + ": a GGUF model; convert it first (weightstream convert --to bf16)");
  }
  std::vector<uint8_t> st = ws::make_safetensors_header(metadata, entries);
  st.insert(st.end(), data.begin(), data.end());
  ws::MemorySource src(st.data(), st.size());
  ws::VectorSink sink;
  ws::CompressOptions opt;
  opt.threads = 1;
  opt.sparse24 = false;  // the token factory streams dense chunks; 2:4 chunks are its own pruned path
  if (chunk_values) opt.chunk_values = chunk_values;
  ws::compress(src, sink, opt);
  return std::move(sink.bytes);
}

Workload load_workload(const Config& cfg) {
  Workload w;
  w.mode = cfg.mode;
  std::vector<uint8_t> wsz = bf16_container(cfg.model, cfg.chunk_values);
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  w.source = cfg.model;

  const std::regex skip(cfg.skip.empty() ? std::string("$^") : cfg.skip);
  std::vector<const ws::Segment*> segs;
  for (const ws::Segment& s : reader.index().segments) {
    if (!s.is_tensor() || std::regex_search(s.name, skip)) continue;
    if (s.dtype != ws::DType::BF16)
      throw std::runtime_error("tensor '" + s.name + "' is " + ws::dtype_name(s.dtype) + ", not bf16");
    StreamTensor t{s.name, s.dims, s.value_count, false};
    t.pruned = cfg.mode == Mode::Sparse && is_linear(s.name) && s.dims.size() >= 2 && s.dims.back() % 4 == 0;
    w.tensors.push_back(t);
    segs.push_back(&s);
    if (s.name == "wk" && s.dims.size() == 3) {
      w.kv_layers = int(s.dims[0]);
      w.kv_dim = int(s.dims[1]);
    }
  }
  if (segs.empty()) throw std::runtime_error(cfg.model + ": no tensor to stream");

  ws::LlamaWeights pruned_model;
  if (cfg.mode == Mode::Sparse && !cfg.pruned.empty()) pruned_model = ws::load_llama(cfg.pruned);

  for (size_t ti = 0; ti < segs.size(); ++ti) {
    const ws::Segment& s = *segs[ti];
    const StreamTensor& t = w.tensors[ti];
    std::vector<uint16_t> kept;  // Mode::Sparse, pruned tensor: the whole pruned tensor
    if (t.pruned) {
      const std::vector<uint16_t> dense = as_u16(reader.decode_tensor(s.name));
      kept = pruned_values(t, dense, cfg.pruned.empty() ? nullptr : &pruned_model);
    }
    uint64_t first_value = 0;
    for (size_t ci = 0; ci < s.chunks.size(); ++ci) {
      const ws::ChunkEntry& e = s.chunks[ci];
      StreamChunk c;
      c.tensor = int(ti);
      c.dense_values = e.value_count;
      c.values = e.value_count;
      if (cfg.mode == Mode::Compressed || (cfg.mode == Mode::Sparse && !t.pruned)) {
        // The container's own chunk; in compressed mode at its own address.
        const std::vector<uint8_t> bytes = reader.chunk_bytes(s, ci);
        const ws::ChunkView v = ws::parse_chunk(bytes.data(), bytes.size());
        c.crc = v.crc;
        c.lanes = v.lanes;
        c.table_entries = v.value_count ? v.counts.table_size() : 0;
        c.coded = true;
        c.bytes = e.size;
        if (cfg.mode == Mode::Compressed) {
          c.addr = e.offset;
        } else {
          c.addr = w.image.size();
          w.image.insert(w.image.end(), bytes.begin(), bytes.end());
        }
      } else if (cfg.mode == Mode::Raw) {
        const std::vector<uint8_t> values = reader.decode_chunk(s, ci);
        c.addr = w.image.size();
        c.bytes = uint32_t(values.size());
        c.crc = ws::crc32_of(values.data(), values.size());
        w.image.insert(w.image.end(), values.begin(), values.end());
      } else {  // a 2:4 chunk over the same rows as the dense chunk
        const int cols = int(t.dims.back());
        if (e.value_count % uint32_t(cols) != 0)
          throw std::runtime_error("tensor '" + t.name + "': a chunk that is not whole rows");
        const std::vector<uint16_t> slice(kept.begin() + long(first_value),
                                          kept.begin() + long(first_value + e.value_count));
        const ws::Sparse24 sp = ws::pack_sparse24(slice, int(e.value_count) / cols, cols, ws::MacMode::Bf16);
        std::vector<uint8_t> kept_bytes, meta((sp.meta.size() + 1) / 2), idx;
        for (uint16_t v : sp.values) ws::append_le(kept_bytes, v, 2);
        for (size_t g = 0; g < sp.meta.size(); ++g) {
          meta[g / 2] |= uint8_t(sp.meta[g] << (4 * (g & 1)));
          idx.push_back(uint8_t(ws::sparse24_idx0(sp.meta[g])));
          idx.push_back(uint8_t(ws::sparse24_idx1(sp.meta[g])));
        }
        meta.resize((meta.size() + 3) / 4 * 4, 0);
        const std::vector<uint8_t> orig = reader.chunk_bytes(s, ci);
        const ws::ChunkView v = ws::parse_chunk(orig.data(), orig.size());
        ws::ChunkOptions opt;
        opt.lanes = v.lanes;
        if (v.counts.table_log) opt.table_log = v.counts.table_log;
        const std::vector<uint8_t> coded = ws::encode_chunk(kept_bytes.data(), sp.values.size(), ws::DType::BF16, opt);
        c.addr = w.image.size();
        c.meta_bytes = uint32_t(meta.size());
        c.bytes = uint32_t(meta.size() + coded.size());
        c.values = uint32_t(sp.values.size());
        c.crc = ws::crc32_of(kept_bytes.data(), kept_bytes.size());
        c.meta_crc = ws::crc32_of(idx.data(), idx.size());
        c.coded = c.sparse = true;
        const ws::ChunkView cv = ws::parse_chunk(coded.data(), coded.size());
        c.lanes = cv.lanes;
        c.table_entries = cv.value_count ? cv.counts.table_size() : 0;
        w.image.insert(w.image.end(), meta.begin(), meta.end());
        w.image.insert(w.image.end(), coded.begin(), coded.end());
      }
      first_value += e.value_count;
      w.chunks.push_back(c);
      w.dense_values += c.dense_values;
      w.stream_values += c.values;
      w.stream_bytes += c.bytes;
      w.max_chunk_bytes = std::max<uint64_t>(w.max_chunk_bytes, c.bytes);
      w.max_chunk_values = std::max<uint64_t>(w.max_chunk_values, c.values);
    }
  }
  if (cfg.mode == Mode::Compressed) w.image = std::move(wsz);  // the reader is not used after this
  return w;
}

void unpack_chunk(const StreamChunk& c, const uint8_t* bytes, std::vector<uint16_t>& values,
                  std::vector<uint8_t>& idx) {
  values.assign(c.values, 0);
  idx.assign(c.sparse ? c.values : 0, 0);
  std::vector<uint8_t> out(size_t(c.values) * 2);
  if (c.coded) {
    ws::decode_chunk(bytes + c.meta_bytes, c.bytes - c.meta_bytes, ws::DType::BF16, out.data(), out.size());
  } else {
    std::memcpy(out.data(), bytes, out.size());
    if (ws::crc32_of(out.data(), out.size()) != c.crc) throw ws::FormatError("raw chunk: checksum mismatch");
  }
  for (size_t i = 0; i < values.size(); ++i) values[i] = ws::load_le16(&out[2 * i]);
  for (size_t i = 0; i < idx.size(); ++i) {
    const size_t g = i / 2;
    const uint8_t nib = uint8_t((bytes[g / 2] >> (4 * (g & 1))) & 15);
    idx[i] = uint8_t(i & 1 ? ws::sparse24_idx1(nib) : ws::sparse24_idx0(nib));
  }
}

}  // namespace wsim
