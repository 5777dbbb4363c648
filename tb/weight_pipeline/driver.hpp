// Driver of ws_weight_pipeline: runs 2:4 bf16 layers through the Verilated top and the cycle model
// ws::WeightPipelineModel in lock step (every output of every cycle compared), feeding every port
// what the stream program (hw/stream_program.hpp) makes of the layers, and returns y. No Verilator
// header is needed to use it: link the CMake target ws_rtl_driver.
//
//   wp::Driver drv;                                      // or drv("build/waves/demo.fst")
//   ws::PipelineLayer L = ws::sparse24_pipeline_layer(chunk_views, perm, x);  // a container's chunks
//   wp::Result r = drv.run({L}, wp::Traffic{});          // full speed; Traffic{0.7, 0.8, seed}: gaps
//   r.layers[0].y                                        // fp32 bits, one per row
//
// The stream contract is docs/weight_pipeline.md section 2 (ws::PipelineLayer says it in brief).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_model.hpp"

namespace wp {

// Random valid gaps on every input stream (each offers its next item with probability valid_rate per
// cycle when it holds none) and backpressure on y (ready with probability ready_rate). 1, 1 = full speed.
struct Traffic {
  double valid_rate = 1.0;
  double ready_rate = 1.0;
  uint64_t seed = 1;
  uint64_t max_cycles = 0;     // 0: a bound computed from the layers' sizes
  uint64_t quiet_cycles = 2000;  // after an error: stop once no transfer happened for this many cycles
  bool one_bank = false;         // every table in bank 0: each load waits for the chunk before to end
                                 // (the serial baseline of the double-buffered tables)
  bool serial_layers = false;    // a layer's MAC writes (and what follows them on the configuration
                                 // port) only once every beat of the layers before has left the join:
                                 // the serial baseline of the next layer's permutation and activations
};

struct LayerResult {
  std::vector<uint32_t> y;      // fp32 bits, one per row (from the RTL's y transfers)
  uint64_t start_cycle = 0;     // first cycle of the layer's configuration
  uint64_t first_w_cycle = 0;   // first weight beat into the MAC array
  uint64_t last_w_cycle = 0;    // last weight beat into the MAC array
  uint64_t last_y_cycle = 0;    // last y transfer
  uint64_t beats = 0;           // rows * packed columns / (4 * MetaLanes): rows * K8 / 8 at the default
  uint64_t kept = 0;            // rows * K8 / 2 kept values
  uint64_t dense = 0;           // dense-equivalent weights: rows * K8 (2:4), rows * K (dense)
  // Table load: from the layer's start to its first weight beat (tables, format, perm, pipeline fill);
  // streaming: from its first weight beat to its last y.
  uint64_t load_cycles() const { return first_w_cycle - start_cycle; }
  uint64_t stream_cycles() const { return last_y_cycle - first_w_cycle + 1; }
  // Weight beats per cycle while the weights stream (first to last beat): 1.0 = ValueLanes values
  // (default 4; 2:4: 2 x ValueLanes dense-equivalent weights; dense: ValueLanes).
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
  uint64_t w_beats = 0;            // weight beats into the MAC array over the run (the cycle model's probe,
                                   // in lock step with the RTL): what was streamed
  uint64_t assertion_errors = 0;   // RTL assertion failures ($error under --assert)
  bool err = false;                // the sticky error at the end (RTL)
  uint8_t err_cause = 0;           // ws::pkg::wp_cause_t (ws::weight_pipeline_error_text)
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

  // Streams the layers back to back (ws::weight_pipeline_program; the format table is loaded once per
  // driver or after a reset), until every y has come out, or after an error until the streams go
  // quiet (Traffic::quiet_cycles), or until the cycle bound. The RTL and the model keep their state
  // between calls; a run that ends with an error or with items not taken resets both
  // (Result::reset_after); reset() does it by hand.
  Result run(const std::vector<ws::PipelineLayer>& layers, const Traffic& traffic = {});
  void reset();

  // Configuration writes alone (each held until taken), then a few idle cycles for the error flags to
  // settle; never resets. For errors between layers, which err_clear recovers from.
  Result configure(const std::vector<ws::CfgWrite>& writes);
  // One cycle with err_clear high. With a write, it is offered three cycles before (it must be taken
  // at once) so that its cause reaches the sticky error (through the configuration slice, the top's
  // slice and the top's registered check) on the clearing cycle; err and err_cause are those after the clearing edge.
  Result clear_error(const ws::CfgWrite* write = nullptr);

  const ws::WeightPipelineParams& params() const;
  // The parameters the linked Verilated top is built with (ws_rtl_driver: the defaults; ws_rtl_driver_4k:
  // MaxK 4096; ws_rtl_driver_up5k: lanes 2/1; ws_rtl_driver_wide: lanes 8/4): the only ones the
  // constructor takes.
  static ws::WeightPipelineParams built_params();
  uint64_t cycle() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wp
