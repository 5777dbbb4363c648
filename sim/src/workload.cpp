#include "workload.hpp"

#include <stdlib.h>  // mkstemp
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "lte_fetch.hpp"
#include "codec/chunk.hpp"
#include "codec/container_format.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "codec/sparse24_chunk.hpp"
#include "core/bytes.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"
#include "ops/compress.hpp"
#include "ops/convert.hpp"
#include "ops/prune_model.hpp"

namespace wsim {
namespace {

bool is_container(const std::vector<uint8_t>& file) {
  return file.size() >= sizeof ws::kContainerMagic &&
         std::memcmp(file.data(), ws::kContainerMagic, sizeof ws::kContainerMagic) == 0;
}

// A file for prune_model to write, removed when done (it writes through a temporary of its own).
class TempFile {
 public:
  TempFile() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ws_sim_pruned_XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd < 0) throw std::runtime_error("cannot create a temporary file in " + pattern);
    close(fd);
    path_ = pattern;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The streams of a tANS chunk that a DMA reads on its own: each state's, then the raw stream.
void add_streams(const ws::ChunkView& v, std::vector<ws::tans::StreamView>& out) {
  for (int s = 0; s < v.states(); ++s) out.push_back(v.streams[size_t(s)]);
  out.push_back({v.raw_stream, v.raw_bytes});
}

// The chunk at `addr` (its bytes at `base`) as DMA streams: the non-empty `streams` and the bytes
// between them (headers, tables, sizes), in address order, together every byte once.
std::vector<DmaStream> dma_streams(uint64_t addr, const uint8_t* base, size_t size,
                                   std::vector<ws::tans::StreamView> streams) {
  std::sort(streams.begin(), streams.end(), [](const auto& a, const auto& b) { return a.data < b.data; });
  std::vector<DmaStream> out;
  size_t at = 0;
  auto add = [&](size_t from, size_t to) {
    if (to > from) out.push_back({addr + from, uint32_t(to - from)});
  };
  for (const ws::tans::StreamView& st : streams) {
    if (st.bytes == 0) continue;
    const size_t off = size_t(st.data - base);
    if (off < at || off + st.bytes > size) throw std::logic_error("chunk streams overlap or leave the chunk");
    add(at, off);
    add(off, off + st.bytes);
    at = off + st.bytes;
  }
  add(at, size);
  return out;
}

// A chunk of the container streamed as it lies: its kind decides what the decoder runs.
void describe_coded(StreamChunk& c, const std::vector<uint8_t>& bytes, const ws::Segment& s, size_t j, ws::Checksum sum) {
  c.coded = true;
  c.sum = sum;
  std::vector<ws::tans::StreamView> streams;
  if (!s.is_sparse24()) {
    const ws::ChunkView v = ws::parse_chunk(bytes.data(), bytes.size());
    c.values = v.value_count;
    c.crc = v.crc;
    c.value_chunk_bytes = uint32_t(bytes.size());
    c.lanes = v.lanes;
    c.per_state = v.layout == ws::tans::Layout::PerState;
    c.table_entries = v.value_count ? v.counts.table_size() : 0;
    add_streams(v, streams);
  } else {
    const ws::Sparse24ChunkView v = ws::parse_sparse24_chunk(bytes.data(), bytes.size());
    c.sparse = true;
    c.cols = uint32_t(s.sparse24_cols(j));  // a column block's rows are its expert's columns
    c.values = v.values.value_count;  // 2 per stored group: the hardware streams the padding groups too
    c.crc = v.values.crc;
    c.meta_crc = v.meta.crc;
    c.value_chunk_offset = uint32_t(v.value_chunk - bytes.data());
    c.value_chunk_bytes = v.value_chunk_bytes;
    c.lanes = v.values.lanes;
    c.per_state = v.values.layout == ws::tans::Layout::PerState;
    c.table_entries = v.values.value_count ? v.values.counts.table_size() : 0;
    c.meta_lanes = v.meta.lanes;
    c.meta_table_entries = v.meta.value_count ? v.meta.counts.table_size() : 0;
    add_streams(v.values, streams);
    add_streams(v.meta, streams);
  }
  c.dma = dma_streams(c.addr, bytes.data(), bytes.size(), std::move(streams));
}

// The tensors of a llama2.c layout (`.bin`, and what `weightstream prune` writes) stacked over the
// layers, [layers][...]: a chunk of one holds the layer(s) its values fall in.
bool stacked_layer_tensor(const std::string& name) {
  static const char* const kStacked[] = {"wq", "wk", "wv", "wo", "w1", "w2", "w3", "rms_att_weight", "rms_ffn_weight"};
  return std::any_of(std::begin(kStacked), std::end(kStacked), [&](const char* n) { return name == n; });
}

// GGUF's per-layer tensors, `blk.<l>.<name>`: l, else -1.
int gguf_layer(const std::string& name) {
  static const std::regex blk(R"(^blk\.(\d+)\.)");
  std::smatch m;
  return std::regex_search(name, m, blk) ? std::stoi(m[1].str()) : -1;
}

// The layers and the K width per token and layer, from the key projection of either layout.
void find_kv_shape(const ws::Index& index, Workload& w) {
  for (const ws::Segment& s : index.segments) {
    if (!s.is_tensor()) continue;
    if (s.name == "wk" && s.dims.size() == 3) {
      w.model_layers = int(s.dims[0]);
      w.kv_dim = int(s.dims[1]);
      return;
    }
    const int l = gguf_layer(s.name);
    if (l >= 0 && s.name == "blk." + std::to_string(l) + ".attn_k.weight" && s.dims.size() == 2) {
      w.model_layers = std::max(w.model_layers, l + 1);
      w.kv_dim = int(s.dims[0]);
    }
  }
}

// The query heads from the metadata of the container's source, a safetensors file made by `convert`
// (its __metadata__: the llama2.c config's n_heads, or GGUF's llama.attention.head_count), and the head
// size as the model width (the key projection's input) over them. Leaves them 0 and returns why when
// the source does not give them (only DiJiang needs them).
std::string find_heads(const ws::ContainerReader& reader, Workload& w) {
  const ws::Index& index = reader.index();
  if (index.source_kind != ws::SourceKind::Safetensors) return "the container's source is not safetensors";
  const auto header = std::find_if(index.segments.begin(), index.segments.end(), [](const ws::Segment& s) {
    return !s.is_tensor() && s.source_offset == 0;
  });
  if (header == index.segments.end() || header->length < 8) return "no safetensors header in the container";
  uint8_t prefix[8];
  reader.read_literal(*header, 0, prefix, 8);
  const uint64_t json_bytes = ws::load_le64(prefix);
  if (json_bytes > header->length - 8) return "the safetensors header is not one literal segment";
  std::vector<uint8_t> json(size_t(json_bytes), 0);
  reader.read_literal(*header, 8, json.data(), json.size());
  const auto md = ws::parse_safetensors_header(json.data(), json.size(), index.source_size).metadata;
  int dim = 0;
  for (const ws::Segment& s : index.segments)
    if (s.is_tensor() && (s.name == "wk" || s.name == "blk.0.attn_k.weight")) dim = int(s.dims.back());
  for (const char* key : {"n_heads", "llama.attention.head_count"}) {
    const auto it = md.find(key);
    if (it == md.end()) continue;
    const long heads = std::strtol(it->second.c_str(), nullptr, 10);
    if (heads <= 0 || dim <= 0 || dim % heads || w.kv_dim % (dim / heads))
      return "metadata " + std::string(key) + " = '" + it->second + "' does not divide the model width " +
             std::to_string(dim) + " and the KV width " + std::to_string(w.kv_dim);
    w.heads = int(heads);
    w.head_size = dim / int(heads);
    return "";
  }
  return "its metadata has neither n_heads nor llama.attention.head_count";
}

// The layer of the chunk holding values [first, first + count) of tensor s (kNoLayer, kSeveralLayers).
int chunk_layer(const ws::Segment& s, uint64_t first, uint64_t count, int model_layers) {
  const int l = gguf_layer(s.name);
  if (l >= 0) return l;
  if (!stacked_layer_tensor(s.name) || model_layers <= 0 || s.dims.empty() || s.dims[0] != uint64_t(model_layers))
    return kNoLayer;
  const uint64_t per_layer = s.value_count / uint64_t(model_layers);
  const uint64_t lo = first / per_layer, hi = (first + count - 1) / per_layer;
  return lo == hi ? int(lo) : kSeveralLayers;
}

// Appends c to the pass and counts it.
void add_chunk(Workload& w, const StreamChunk& c) {
  w.chunks.push_back(c);
  w.dense_values += c.dense_values;
  w.stream_values += c.values;
  w.stream_bytes += c.bytes;
  w.max_chunk_bytes = std::max<uint64_t>(w.max_chunk_bytes, c.bytes);
  w.max_chunk_values = std::max<uint64_t>(w.max_chunk_values, c.values);
}

// Keeps the chunks of the sampled layers; `whole` keeps the whole pass (without the image).
void sample_layers(Workload& w, const std::vector<int>& layers) {
  std::vector<uint8_t> image = std::move(w.image);
  w.whole = std::make_shared<const Workload>(w);
  w.image = std::move(image);
  w.layers = layers;
  std::sort(w.layers.begin(), w.layers.end());
  if (std::adjacent_find(w.layers.begin(), w.layers.end()) != w.layers.end())
    throw std::runtime_error("--layers: a layer is given twice");
  for (int l : w.layers)
    if (l < 0 || l >= w.model_layers)
      throw std::runtime_error(w.source + ": no layer " + std::to_string(l) + " (the model has " +
                               std::to_string(w.model_layers) + ")");
  const std::vector<StreamChunk> all = std::move(w.chunks);
  w.chunks.clear();
  w.dense_values = w.stream_values = w.stream_bytes = w.max_chunk_bytes = w.max_chunk_values = 0;
  for (const StreamChunk& c : all)
    if (std::binary_search(w.layers.begin(), w.layers.end(), c.layer)) add_chunk(w, c);
  w.kv_layers = int(w.layers.size());
  if (w.chunks.empty()) throw std::runtime_error(w.source + ": the sampled layers hold no chunk");
}

}  // namespace

std::vector<uint8_t> bf16_container(const std::string& path, uint64_t chunk_values) {
  try {
    const ws::FileSource file(path);
    std::vector<uint8_t> bytes = file.read(0, size_t(file.size()));
    if (is_container(bytes)) return bytes;
    ws::VectorSink bf16;  // `weightstream convert --to bf16`
    ws::convert_to_bf16(file, bf16);
    bytes.clear();
    ws::CompressOptions opt;  // `weightstream compress`: the tool's defaults
    opt.threads = 1;          // the same bytes with any thread count; the machine is shared
    if (chunk_values) opt.chunk_values = chunk_values;
    ws::VectorSink wsz;
    ws::compress(ws::MemorySource(bf16.bytes.data(), bf16.bytes.size()), wsz, opt);
    return std::move(wsz.bytes);
  } catch (const ws::FileError& e) {
    throw std::runtime_error(path + ": " + e.what());
  } catch (const ws::FormatError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

std::vector<uint8_t> pruned_container(const std::string& path, uint64_t chunk_values) {
  uint8_t magic[sizeof ws::kContainerMagic] = {};
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(magic), sizeof magic);
  if (std::memcmp(magic, ws::kContainerMagic, sizeof magic) == 0)
    throw std::runtime_error(path + ": a .wsz cannot be pruned: give the model file (.bin or safetensors), or "
                             "the pruned model (--pruned)");
  const TempFile pruned;
  ws::PruneModelOptions o;  // `weightstream prune --method esparse --shuffle global+local`
  o.in = path;
  o.out = pruned.path();
  o.prune.method = ws::PruneMethod::esparse;
  o.prune.shuffle = ws::ShuffleMode::global_local;
  try {
    ws::prune_model(o);
  } catch (const ws::FileError& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  return bf16_container(pruned.path(), chunk_values);
}

Workload load_workload(const Config& cfg) {
  Workload w;
  w.mode = cfg.mode;
  std::vector<uint8_t> wsz;
  if (cfg.mode != Mode::Sparse) {
    w.source = cfg.model;
    wsz = bf16_container(cfg.model, cfg.chunk_values);
  } else if (!cfg.pruned.empty()) {
    w.source = cfg.pruned;
    wsz = bf16_container(cfg.pruned, cfg.chunk_values);
  } else {
    w.source = cfg.model;
    wsz = pruned_container(cfg.model, cfg.chunk_values);
  }
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());

  find_kv_shape(reader.index(), w);
  const std::string no_heads = find_heads(reader, w);
  w.kv_layers = w.model_layers;
  const std::regex skip(cfg.skip.empty() ? std::string("$^") : cfg.skip);
  for (const ws::Segment& s : reader.index().segments) {
    if (!s.is_tensor() || std::regex_search(s.name, skip)) continue;
    if (s.dtype != ws::DType::BF16)
      throw std::runtime_error("tensor '" + s.name + "' is " + ws::dtype_name(s.dtype) + ", not bf16");
    w.tensors.push_back({s.name, s.dims, s.value_count, s.is_sparse24()});
    uint64_t first = 0;  // the chunk's first value in the tensor
    for (size_t ci = 0; ci < s.chunks.size(); ++ci) {
      const ws::ChunkEntry& e = s.chunks[ci];
      StreamChunk c;
      c.tensor = int(w.tensors.size() - 1);
      c.layer = chunk_layer(s, first, e.value_count, w.model_layers);
      if (s.has_experts()) c.layer = int(e.matrix), c.expert = int(e.expert);  // LTE: a layer's expert
      first += e.value_count;
      c.dense_values = e.value_count;
      if (cfg.mode == Mode::Raw) {  // the decoded values, one after the other
        c.addr = w.image.size();
        c.bytes = uint32_t(2 * e.value_count);
        c.values = e.value_count;
        c.dma = {{c.addr, c.bytes}};
        if (cfg.layers.empty() || std::count(cfg.layers.begin(), cfg.layers.end(), c.layer)) {
          const std::vector<uint8_t> values = reader.decode_chunk(s, ci);
          if (values.size() != c.bytes) throw ws::FormatError(s.name + ": a chunk decodes to a wrong size");
          c.crc = ws::crc32_of(values.data(), values.size());
          w.image.insert(w.image.end(), values.begin(), values.end());
        } else {  // not in the layer sample: only its place in the image
          w.image.resize(w.image.size() + c.bytes);
        }
      } else {  // the container's own chunk at its own offset
        c.addr = e.offset;
        c.bytes = e.size;
        describe_coded(c, reader.chunk_bytes(s, ci), s, ci, reader.chunk_checksum(s, ci));
      }
      add_chunk(w, c);
    }
  }
  if (w.tensors.empty()) throw std::runtime_error(w.source + ": no tensor to stream");
  if (cfg.mode == Mode::Sparse &&
      std::none_of(w.tensors.begin(), w.tensors.end(), [](const StreamTensor& t) { return t.sparse; }))
    throw std::runtime_error(w.source + ": no tensor stored 2:4 (give a model pruned by `weightstream prune`)");
  if (cfg.attention == Attention::DiJiang && w.heads == 0)
    throw std::runtime_error(w.source + ": --attention dijiang needs the model's heads: " + no_heads +
                             " (give the model file, or a .wsz of a file `weightstream convert` wrote)");
  if (!cfg.layers.empty()) sample_layers(w, cfg.layers);
  if (!cfg.lte_decisions.empty() && !cfg.layers.empty())  // the whole model's roofline would be the dense one
    throw std::runtime_error("--lte-decisions takes the whole model: no --layers sample");
  if (!cfg.lte_decisions.empty())
    w.passes = lte_passes(w, load_lte_decisions(cfg.lte_decisions), cfg.processors, cfg.tokens);
  if (cfg.mode != Mode::Raw) w.image = std::move(wsz);  // the reader is not used after this
  return w;
}

std::vector<uint32_t> Workload::pass_chunks(int pass) const {
  if (!passes.empty()) return passes.at(size_t(pass));
  std::vector<uint32_t> all(chunks.size());
  std::iota(all.begin(), all.end(), 0u);
  return all;
}

void unpack_chunk(const StreamChunk& c, const uint8_t* bytes, std::vector<uint16_t>& values,
                  std::vector<uint8_t>& idx) {
  std::vector<uint8_t> out;
  idx.clear();
  if (c.sparse) {
    ws::Sparse24Stored s = ws::decode_sparse24_stored(bytes, c.bytes, ws::DType::BF16, c.cols, c.sum);
    out = std::move(s.values);
    for (uint8_t nibble : s.meta) {
      idx.push_back(uint8_t(ws::sparse24_idx0(nibble)));
      idx.push_back(uint8_t(ws::sparse24_idx1(nibble)));
    }
  } else if (c.coded) {
    out.resize(size_t(c.values) * 2);
    ws::decode_chunk(bytes, c.bytes, ws::DType::BF16, out.data(), out.size(), c.sum);
  } else {
    out.assign(bytes, bytes + c.bytes);
    if (ws::crc32_of(out.data(), out.size()) != c.crc) throw ws::FormatError("raw chunk: checksum mismatch");
  }
  if (out.size() != size_t(c.values) * 2 || (c.sparse && idx.size() != c.values))
    throw ws::FormatError("chunk: " + std::to_string(out.size() / 2) + " values, expected " + std::to_string(c.values));
  values.resize(c.values);
  for (size_t i = 0; i < values.size(); ++i) values[i] = ws::load_le16(&out[2 * i]);
}

}  // namespace wsim
