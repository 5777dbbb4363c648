// The functional model of ws_weight_pipeline (docs/weight_pipeline.md section 7.1): y of one layer
// from the same PipelineLayer the stream program plays to the RTL, with no clock. The value chunks go
// through the decoder's functional model (tans::decode of each state's stream) and the unpacker's
// (numfmt::decode_tensor with the bf16 table, memoized per (symbol, raw byte) for well-formed streams), the metadata chunks through tans::decode (2:4) or the
// implied nibbles (dense), and the products and sums follow the MAC array's order (docs/mac_array.md
// section 2: 4 products a beat, their pairwise tree, 16 partial sums, the combine), so y is bit for bit
// the RTL's. It is what the demo runs for the products that do not go to the Verilated RTL.
#pragma once

#include <cstdint>
#include <vector>

#include "hw/stream_program.hpp"

namespace ws {

class ThreadPool;

// The weights as the MAC array receives them: values[r][...] and, for 2:4, the nibbles.
struct PipelineWeights {
  bool dense = false;
  int rows = 0;
  int cols = 0;                   // dense: K; 2:4: K8 (values hold K8 / 2 per row)
  std::vector<uint16_t> values;   // bf16, row-major, in stream order
  std::vector<uint8_t> meta;      // 2:4: K8 / 4 nibbles per row; dense: empty
};

// The decoders and the unpacker: every chunk of the layer decoded (in parallel on the pool when one
// is given). Throws ws::FormatError for a chunk that does not decode, or chunks that do not add up to
// the layer's rows.
PipelineWeights weight_pipeline_weights(const PipelineLayer& layer, ThreadPool* pool = nullptr, unsigned threads = 1);

// The MAC array on decoded weights: y[row] as fp32 bits. x is the layer's activations (k entries,
// bf16); 2:4 uses layer.perm (empty: identity). The arithmetic is the host's IEEE binary32 (round to
// nearest even, gradual underflow; every NaN made the canonical 0x7FC00000), which equals
// ws::fp32_add / ws::bf16_mul on every input (tests/unit/test_weight_pipeline_functional.cpp checks it
// against ws::sparse_matvec and ws::dense_matvec); rows split over the pool's threads.
std::vector<uint32_t> weight_pipeline_mac(const PipelineWeights& w, const std::vector<int32_t>& perm,
                                          const std::vector<uint16_t>& x, ThreadPool* pool = nullptr,
                                          unsigned threads = 1);

// Both: y of the layer.
std::vector<uint32_t> weight_pipeline_y(const PipelineLayer& layer, ThreadPool* pool = nullptr, unsigned threads = 1);

}  // namespace ws
