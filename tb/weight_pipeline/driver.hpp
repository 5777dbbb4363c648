// Driver of ws_weight_pipeline: runs compressed 2:4 bf16 layers through the Verilated top and the cycle
// model ws::WeightPipelineModel in lock step (every output of every cycle compared), and returns y.
// No Verilator header is needed to use it: link the CMake target ws_weight_pipeline_driver.
//
//   wp::Driver drv;                                    // or drv("build/waves/demo.fst")
//   wp::Layer L{values, meta, rows, K, perm, x};       // ChunkViews from ws::parse_chunk()
//   wp::Result r = drv.run({L}, wp::Traffic{});        // full speed; Traffic{0.7, 0.8, seed}: gaps
//   r.layers[0].y                                      // fp32 bits, rows entries
//
// Stream contract (docs/weight_pipeline.md): W[rows][K] row-major, each row padded with zero groups to
// K8 = K rounded up to 8; value chunks hold rows*K8/2 bf16 kept values (ws::encode_chunk, BF16, 4
// lanes), metadata chunks rows*K8/4 nibbles (symbols = nibbles, 2 lanes, table log <= 8, no raw
// stream); chunks hold whole rows. perm: K entries (column j of the packed matrix reads x[perm[j]]),
// or empty for the identity; x: K bf16 activations.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codec/chunk.hpp"
#include "hw/weight_pipeline_model.hpp"

namespace wp {

struct Layer {
  std::vector<ws::ChunkView> values;  // value chunks in order (their bytes must outlive the run)
  std::vector<ws::ChunkView> meta;    // metadata chunks in order
  int rows = 0;
  int k = 0;                          // K before padding
  std::vector<int32_t> perm;          // k (or K8) entries; empty = identity
  std::vector<uint16_t> x;            // k (or K8) bf16 activations
  // Extra configuration writes {address, data} issued before the layer's own (for tests of bad writes).
  std::vector<std::pair<uint32_t, uint32_t>> cfg_before;
};

// Random valid gaps on every input stream (each offers its next item with probability valid_rate per
// cycle when it holds none) and backpressure on y (ready with probability ready_rate). 1, 1 = full speed.
struct Traffic {
  double valid_rate = 1.0;
  double ready_rate = 1.0;
  uint64_t seed = 1;
  uint64_t max_cycles = 0;     // 0: a bound computed from the layers' sizes
  uint64_t quiet_cycles = 2000;  // after an error: stop once no transfer happened for this many cycles
};

struct LayerResult {
  std::vector<uint32_t> y;      // fp32 bits, one per row (from the RTL's y transfers)
  uint64_t start_cycle = 0;     // first cycle of the layer's configuration
  uint64_t first_w_cycle = 0;   // first weight beat into the MAC array
  uint64_t last_w_cycle = 0;    // last weight beat into the MAC array
  uint64_t last_y_cycle = 0;    // last y transfer
  uint64_t beats = 0;           // rows * K8 / 8
  uint64_t kept = 0;            // rows * K8 / 2 kept values
  uint64_t dense = 0;           // rows * K8 dense-equivalent weights
  // Table load: from the layer's start to its first weight beat (tables, format, perm, pipeline fill);
  // streaming: from its first weight beat to its last y.
  uint64_t load_cycles() const { return first_w_cycle - start_cycle; }
  uint64_t stream_cycles() const { return last_y_cycle - first_w_cycle + 1; }
  // Weight beats per cycle while the weights stream (first to last beat): 1.0 = 4 kept = 8 dense-equivalent.
  double beats_per_cycle() const { return double(beats) / double(last_w_cycle - first_w_cycle + 1); }
};

struct Result {
  std::vector<LayerResult> layers;
  uint64_t cycles = 0;             // total cycles of the run
  uint64_t cfg_writes = 0;         // configuration transfers
  uint64_t cycle_mismatches = 0;   // cycles where any RTL output differed from the model's
  uint64_t signals_compared = 0;   // output signals compared (cycles x signals)
  uint64_t transfer_mismatches = 0;  // y transfers whose data or last differed (RTL vs model)
  uint64_t y_transfers = 0;
  uint64_t assertion_errors = 0;   // RTL assertion failures ($error under --assert)
  bool err = false;                // the sticky error at the end (RTL)
  uint8_t err_cause = 0;           // block << 3 | cause (ws::weight_pipeline_error_text)
  bool complete = false;           // every layer's y came out (rows transfers, y_last on the last)
  bool timed_out = false;          // max_cycles reached without error and without completing
  bool inputs_drained = false;     // every item of every input stream was taken
  bool reset_after = false;        // the run ended with an error or undrained inputs: the driver reset
                                   // the top (tables, format and activations must be loaded again)
  std::string first_mismatch;      // description of the first differing cycle
};

class Driver {
 public:
  // fst_path: "" = no waveform; else an FST of the whole life of the driver.
  explicit Driver(const std::string& fst_path = "", const ws::WeightPipelineParams& params = {});
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Streams the layers back to back (each layer's configuration follows the previous one's stream;
  // the format table is loaded once per driver or after a reset), until every y has come out, or
  // after an error until the streams go quiet (Traffic::quiet_cycles), or until the cycle bound. The
  // RTL and the model keep their state between calls; a run that ends with an error or with items
  // not taken resets both (Result::reset_after); reset() does it by hand.
  Result run(const std::vector<Layer>& layers, const Traffic& traffic = {});
  void reset();

  const ws::WeightPipelineParams& params() const;
  uint64_t cycle() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One layer, the brief's form: y = W x, with a fresh driver.
Result run_weight_pipeline(const std::vector<ws::ChunkView>& values, const std::vector<ws::ChunkView>& meta, int rows,
                           int k, const std::vector<int32_t>& perm, const std::vector<uint16_t>& x,
                           const Traffic& traffic = {}, const std::string& fst_path = "");

// Helpers to build the streams of a layer (what the container writes): the metadata chunk of nibbles
// (normalised at meta_table_log, 2 lanes), wrapped into a ChunkView over `storage`.
struct MetaChunk {
  std::vector<uint8_t> stream;  // symbol stream bytes (view points into it: move, never copy)
  ws::ChunkView view;
  MetaChunk() = default;
  MetaChunk(MetaChunk&&) = default;
  MetaChunk& operator=(MetaChunk&&) = default;
  MetaChunk(const MetaChunk&) = delete;
  MetaChunk& operator=(const MetaChunk&) = delete;
};
MetaChunk make_meta_chunk(const uint8_t* nibbles, size_t n, int meta_table_log = 6);

}  // namespace wp
