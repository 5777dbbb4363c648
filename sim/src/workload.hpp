// What one token streams: the DRAM image of a mode and its chunks in pass order, built from a real
// model. Compressed: the .wsz file itself. Raw: the same tensors as plain bf16. Sparse: the linear
// layers 2:4-pruned (from a pruned model, else by magnitude), kept values tANS-coded with the
// chunk codec, plus 4 bits of metadata per group of 4.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.hpp"

namespace wsim {

struct StreamTensor {
  std::string name;
  std::vector<uint64_t> dims;
  uint64_t values = 0;
  bool pruned = false;  // 2:4 in Mode::Sparse
};

struct StreamChunk {
  int tensor = 0;
  uint64_t addr = 0;          // in the DRAM image
  uint32_t bytes = 0;         // read from DRAM per pass
  uint32_t meta_bytes = 0;    // 2:4 chunks: metadata (padded to 4 bytes) first, then the tANS chunk
  uint32_t dense_values = 0;  // model weights it stands for
  uint32_t values = 0;        // stream values it emits (kept values of a 2:4 chunk)
  uint32_t crc = 0;           // CRC-32 of the emitted values' bf16 bytes
  uint32_t meta_crc = 0;      // CRC-32 of the emitted 2:4 positions, one byte per value
  bool coded = false;         // through the tANS decoder; else plain bf16
  bool sparse = false;
  int lanes = 0;              // tANS lanes of a coded chunk
  uint32_t table_entries = 0; // its decode table: 2^L entries (0 for a chunk of no values)
};

struct Workload {
  Mode mode = Mode::Compressed;
  std::string source;                // what was loaded
  std::vector<uint8_t> image;        // DRAM contents from address 0
  std::vector<StreamTensor> tensors;
  std::vector<StreamChunk> chunks;   // one pass, in order
  uint64_t dense_values = 0;         // weights per pass
  uint64_t stream_values = 0;        // values on the bus per pass
  uint64_t stream_bytes = 0;         // DRAM bytes per pass
  uint64_t max_chunk_bytes = 0;
  uint64_t max_chunk_values = 0;
  int kv_layers = 0, kv_dim = 0;     // from the wk tensor [layers][kv_dim][dim]; 0 if absent
  double compression() const { return stream_bytes ? 2.0 * double(dense_values) / double(stream_bytes) : 0; }
};

// Loads cfg.model (a .wsz of bf16 tensors; or a llama2.c .bin / safetensors, converted to bf16 and
// compressed in memory with the library, as `weightstream convert` + `compress` do) and builds the
// stream of cfg.mode. Throws std::runtime_error (or ws::FormatError) naming the problem.
Workload load_workload(const Config& cfg);

// The bf16 .wsz bytes of a model file (itself when it already is a .wsz).
std::vector<uint8_t> bf16_container(const std::string& path, uint64_t chunk_values = 0);

// The number unpacker: a chunk's DRAM bytes to its stream values (bf16 bits) and 2:4 positions.
// Checks the chunk's CRC (ws::FormatError on a mismatch).
void unpack_chunk(const StreamChunk& c, const uint8_t* bytes, std::vector<uint16_t>& values,
                  std::vector<uint8_t>& idx);

}  // namespace wsim
