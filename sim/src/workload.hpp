// What one token streams: the DRAM image of a mode and its chunks in pass order, built from a real
// model with the library calls the tool makes. Raw: the model's tensors as plain bf16. Compressed:
// the model's .wsz, chunks at their own offsets. Sparse: the .wsz of the 2:4-pruned model, whose
// linear layers are the container's own 2:4 chunks (docs/format.md section 5).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "core/bytes.hpp"

namespace wsim {

struct StreamTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint64_t values = 0;
  bool sparse = false;  // stored 2:4 (index kind 2)
};

// One DMA stream of a chunk: a byte range of the DRAM image that the fetcher reads on its own.
struct DmaStream {
  uint64_t addr = 0;
  uint32_t bytes = 0;
};

// StreamChunk::layer of a chunk that holds no transformer layer's weights (the embedding, the final
// norm), and of one that holds several (a stacked tensor's chunk across a layer boundary).
constexpr int kNoLayer = -1;
constexpr int kSeveralLayers = -2;

struct StreamChunk {
  int tensor = 0;
  int layer = kNoLayer;       // the transformer layer whose weights it holds, or kNoLayer, kSeveralLayers
  int expert = -1;            // an LTE expert chunk (docs/format.md section 4.3): its expert in `layer`
  uint64_t addr = 0;          // in the DRAM image
  uint32_t bytes = 0;         // read from DRAM per pass
  uint32_t dense_values = 0;  // model weights it stands for
  uint32_t values = 0;        // stream values it emits (a 2:4 chunk: its stored values, padding included)
  uint32_t crc = 0;           // the container's checksum of the emitted values' bf16 bytes
  uint32_t meta_crc = 0;      // 2:4: the container's checksum of the metadata nibbles, a byte per group
  ws::Checksum sum = ws::Checksum::crc32();  // how both are computed (the container's version)
  bool coded = false;         // through the tANS decoder; else plain bf16
  bool sparse = false;        // a 2:4 chunk: value and metadata sub-chunks
  uint32_t cols = 0;          // 2:4: the last dimension its rows are packed with (K, or an expert column block's count)
  // The tANS chunk the value decoder runs, within the chunk's bytes: all of them, or the value sub-chunk.
  uint32_t value_chunk_offset = 0;
  uint32_t value_chunk_bytes = 0;
  int lanes = 0;                    // its tANS lanes
  bool per_state = false;           // layout 2 (container version 3), what the RTL decoder takes
  uint32_t table_entries = 0;       // its decode table, 2^L entries (0 for a chunk of no values)
  int meta_lanes = 0;               // 2:4: the metadata sub-chunk's lanes ...
  uint32_t meta_table_entries = 0;  // ... and decode table
  // How the fetcher reads the chunk, in address order, together exactly its bytes: a tANS chunk as
  // its headers (with the tables), each state's stream and the raw stream, located by the chunk's
  // stream sizes (docs/format.md section 4; a 2:4 chunk: both sub-chunks' so); a raw chunk as one.
  std::vector<DmaStream> dma;
};

struct Workload {
  Mode mode = Mode::Compressed;
  std::string source;                // the file the stream comes from
  std::vector<uint8_t> image;        // DRAM contents from address 0
  std::vector<StreamTensor> tensors;
  std::vector<StreamChunk> chunks;   // one pass, in order
  uint64_t dense_values = 0;         // weights per pass
  uint64_t stream_values = 0;        // values on the bus per pass
  uint64_t stream_bytes = 0;         // DRAM bytes per pass
  uint64_t max_chunk_bytes = 0;
  uint64_t max_chunk_values = 0;
  // The model's layers and K (= V) width per token and layer, from its key projection: llama2.c's
  // stacked `wk` [layers][kv_dim][dim], or GGUF's `blk.<l>.attn_k.weight` [kv_dim][dim] per layer.
  int model_layers = 0, kv_dim = 0;  // 0 if absent
  // The query heads and their size (DiJiang's state is [layers][heads][head_size][head_size]), from the
  // metadata of the container's source (the llama2.c config or GGUF's keys that `convert` keeps); 0 if
  // absent.
  int heads = 0, head_size = 0;
  int kv_layers = 0;                 // layers whose KV cache a pass reads: all, or the sampled ones
  std::vector<int> layers;           // the sampled layers (Config::layers); empty: the whole model
  // A layer sample: the whole model's pass (its chunks and KV layers, no image) for its roofline.
  std::shared_ptr<const Workload> whole;
  // LTE (Config::lte_decisions, lte_fetch.hpp): the chunks pass p streams, in order; empty: every chunk
  // in every pass.
  std::vector<std::vector<uint32_t>> passes;
  std::vector<uint32_t> pass_chunks(int pass) const;
  double compression() const { return stream_bytes ? 2.0 * double(dense_values) / double(stream_bytes) : 0; }
};

// Loads the stream of cfg.mode. Raw and compressed: cfg.model (a .wsz of bf16 tensors, or a model
// file made one by bf16_container). Sparse: cfg.pruned through bf16_container, or else cfg.model
// pruned as pruned_container does. With cfg.layers, the pass keeps only the chunks that lie wholly in
// one of those layers, and their KV cache; `whole` keeps the whole model's. Throws std::runtime_error
// (or ws::FormatError, ws::FileError) naming the problem.
Workload load_workload(const Config& cfg);

// The .wsz bytes of a file: itself when it is a .wsz; else a llama2.c .bin or safetensors model,
// converted to bf16 and compressed in memory as `weightstream convert --to bf16` and `compress`
// (with `--chunk chunk_values` unless 0) do.
std::vector<uint8_t> bf16_container(const std::string& path, uint64_t chunk_values = 0);

// The .wsz bytes of a llama2.c model (.bin or safetensors) pruned 2:4 with E-Sparse as
// `weightstream prune --method esparse --shuffle global+local` does (its other defaults), then made
// a container by bf16_container: its linear layers qualify as 2:4 and are stored so.
std::vector<uint8_t> pruned_container(const std::string& path, uint64_t chunk_values = 0);

// The number unpacker: a chunk's DRAM bytes to its stream values (bf16 bits) and, for a 2:4 chunk,
// each value's position (0..3) in its group of 4, decoded with the codec's own functions (a 2:4
// chunk: value and metadata sub-chunks). Checks the CRCs (ws::FormatError on a mismatch).
void unpack_chunk(const StreamChunk& c, const uint8_t* bytes, std::vector<uint16_t>& values,
                  std::vector<uint8_t>& idx);

}  // namespace wsim
