// llama2.c "legacy" model files (.bin): a header of 7 little-endian int32, then fp32 arrays in a fixed
// order (see ../shared/data/README.md). The file carries no names or sizes of its own, so the layout
// is computed from the config and the file size must match it exactly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ws {

constexpr size_t kLlama2cHeaderBytes = 28;

struct Llama2cConfig {
  int32_t dim = 0;
  int32_t hidden_dim = 0;
  int32_t n_layers = 0;
  int32_t n_heads = 0;
  int32_t n_kv_heads = 0;
  int32_t vocab_size = 0;          // always positive here; see shared_classifier
  int32_t seq_len = 0;
  bool shared_classifier = true;   // false when the file's vocab_size is negative: wcls follows

  int32_t head_size() const { return dim / n_heads; }
  int32_t kv_dim() const { return dim / n_heads * n_kv_heads; }
};

// One fp32 array of the file. Matrices are row-major [out][in]; per-layer arrays have the layer first.
struct Llama2cArray {
  std::string name;              // token_embedding_table, rms_att_weight, wq, ..., freq_cis_imag, wcls
  std::vector<uint64_t> shape;
  uint64_t offset = 0;           // byte offset in the file
  uint64_t value_count = 0;
  uint64_t byte_size() const { return value_count * 4; }
};

struct Llama2cFile {
  Llama2cConfig config;
  std::vector<Llama2cArray> arrays;  // in file order
  uint64_t file_size = 0;            // header + every array

  const Llama2cArray* find(const std::string& name) const;
  const Llama2cArray& at(const std::string& name) const;  // throws std::out_of_range
};

// Decodes and validates the 28 header bytes (positive sizes, heads dividing dim, ...).
// Throws ws::FormatError naming the bad field.
Llama2cConfig parse_llama2c_config(const uint8_t* header);

// The arrays and the total size a config implies. Throws ws::FormatError if sizes overflow.
Llama2cFile llama2c_layout(const Llama2cConfig& config);

// Header bytes plus the size of the file: validates that the size matches the config exactly.
Llama2cFile parse_llama2c(const uint8_t* header, uint64_t file_size);

// Opens path and parses its header. Throws ws::FormatError.
Llama2cFile read_llama2c(const std::string& path);

// The config as strings, for a safetensors __metadata__ (convert keeps it there).
std::map<std::string, std::string> llama2c_metadata(const Llama2cConfig& config);

// Every weight in memory (llama2.c models are small), for running the model.
struct Llama2cModel {
  Llama2cFile file;
  std::vector<float> values;  // the file after the header, in file order

  const float* data(const std::string& name) const;  // start of the named array; throws std::out_of_range
};
Llama2cModel load_llama2c(const std::string& path);

}  // namespace ws
