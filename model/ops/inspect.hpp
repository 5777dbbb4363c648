// `inspect`: what a .wsz container achieved, tensor by tensor, against the entropy bound of its scheme.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/container_reader.hpp"
#include "codec/quant_chunk.hpp"
#include "codec/tans.hpp"
#include "core/io.hpp"

namespace ws {

// `inspect`: decodes every chunk (checking every CRC) to measure what the scheme achieved against the
// order-0 entropy bound of the same scheme. The scheme gives every chunk its own table, so its bound is
// per chunk: n_c * H0(symbols of chunk c) + n_c * raw bits, summed over the chunks. (The tensor-wide
// H0 is not a bound: on a tensor whose statistics drift, such as an embedding table sorted by token
// frequency, per-chunk tables beat it.)
struct TensorReport {
  const Segment* segment = nullptr;
  uint64_t compressed_bytes = 0;  // its chunks plus its index record
  tans::Histogram histogram{};    // of all its symbols (exponents; of the kept values for 2:4)
  double bound_bits = 0;          // sum over chunks of n_c * H0(chunk symbols) + n_c * raw bits
  // 2:4 tensors: the two sub-streams apart. bound_bits = value_bound_bits + meta_bound_bits.
  bool sparse24 = false;
  uint64_t value_bytes = 0, meta_bytes = 0;  // value / meta sub-chunks (the rest: chunk headers, index)
  uint64_t stored_values = 0, stored_groups = 0;  // kept values and nibbles, padding included
  double value_bound_bits = 0;    // per chunk: n_kept * H0(exponents) + n_kept * raw bits
  double meta_bound_bits = 0;     // per chunk: n_groups * H0(nibbles)
  // Block-quantized tensors (GGUF Q4_0/Q4_1/Q8_0): each sub-stream apart (codes, d high, d low, m high,
  // m low). bound_bits = the sum of stream_bound_bits; no raw bits.
  bool quant = false;
  std::array<uint64_t, kQuantMaxStreams> stream_bytes{};    // the sub-chunks
  std::array<double, kQuantMaxStreams> stream_bound_bits{};  // per chunk: n * H0(its symbols)
};

// A safetensors tensor of a dtype the tool does not know (F8_E8M0, F4, C64, ...), kept as literal bytes.
struct OpaqueTensor {
  std::string name, dtype;  // as in the source's header
  std::vector<uint64_t> shape;
  uint64_t bytes = 0;       // what its data_offsets span
};

struct InspectReport {
  uint64_t file_bytes = 0;
  std::vector<TensorReport> tensors;
  std::vector<OpaqueTensor> opaque;  // a safetensors source's opaque tensors, read from its header
  uint64_t literal_segments = 0;
  uint64_t literal_bytes = 0;       // stored verbatim, bound 8 bits each
  uint64_t header_footer_bytes = 0;
  uint64_t index_other_bytes = 0;   // index bytes not in a tensor record: fixed fields, literal records
  uint64_t other_bytes() const { return literal_bytes + header_footer_bytes + index_other_bytes; }
};

// Throws ws::FormatError for a bad chunk or checksum, and for a safetensors source whose header (kept
// as literal bytes) does not parse.
InspectReport inspect(const ContainerReader& in, unsigned threads = 0, const Progress& progress = {});

// What `weightstream inspect` prints for the container `file` (docs/tool.md): a table, or with --json a
// JSON document, of the report r that inspect(reader) returned.
std::string inspect_text(const std::string& file, const ContainerReader& reader, const InspectReport& r);
std::string inspect_json(const std::string& file, const ContainerReader& reader, const InspectReport& r);

}  // namespace ws
