// Driver of ws_weight_pipeline_paths (docs/weight_pipeline.md, "Paths: 32 dense weights a cycle"):
// runs layers through the Verilated top and the cycle model ws::WeightPipelinePathsModel in lock step
// (every output of every path, and the shared act_ready, compared every cycle). Each layer is split
// across the paths by rows (ws::split_layer_rows); each path's ports are fed from its own stream
// program (wp::PathFeed, as wp::Driver's one pipeline), the activations once, through the fork. No
// Verilator header is needed to use it: link the CMake target ws_rtl_driver_paths.
//
//   wp::PathsDriver drv;
//   wp::PathsResult r = drv.run({L}, wp::Traffic{});   // L split over the paths
//   r.layers[0].y                                      // the paths' y concatenated: one per row of L
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "driver.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_paths_model.hpp"

namespace wp {

// A run of the paths' top. As wp::Result over the whole top: layers[i] is layer i (y: the paths' y in
// path order; start, first and last weight beat and last y: the earliest / latest over the paths;
// beats, kept and dense: the sums, so dense / (last_w_cycle - first_w_cycle + 1) is the top's dense
// weights a cycle); err and err_cause: any path's, the first erring path's cause. Per path below.
struct PathsResult : Result {
  std::vector<bool> path_err;                      // each path's sticky error at the end (RTL)
  std::vector<uint8_t> path_err_cause;             // ws::pkg::wp_cause_t
  std::vector<std::vector<LayerResult>> path_layers;  // [path][layer]: its share of each layer
  // The fork's coverage (the model's fork, in lock step with the RTL's): x transfers at the port, and
  // per path the cycles in which it took x alone, the port not (another path could not take x yet:
  // the fork holds x for it and sets the path's sent flag).
  uint64_t act_transfers = 0;
  std::vector<uint64_t> lone_act_takes;
  // Dense-equivalent weights a cycle of layer li while the weights stream, over all paths.
  double weights_per_cycle(size_t li) const;
};

class PathsDriver {
 public:
  // fst_path: "" = no waveform; else an FST of the whole life of the driver.
  explicit PathsDriver(const std::string& fst_path = "", const ws::WeightPipelinePathsParams& params = built_params());
  ~PathsDriver();
  PathsDriver(const PathsDriver&) = delete;
  PathsDriver& operator=(const PathsDriver&) = delete;

  // Each layer split by rows across the paths (ws::split_layer_rows: std::invalid_argument for a
  // layer of fewer chunks than paths), then run_split().
  PathsResult run(const std::vector<ws::PipelineLayer>& layers, const Traffic& traffic = {});
  // per_path[p]: path p's layers, the same number on every path, layer i with the same activations
  // on every path (the fork: std::invalid_argument otherwise). As wp::Driver::run: back to back,
  // until every path's y is out, or after an error until the streams go quiet, or until the cycle
  // bound; a run that ends with an error or items not taken resets the top and the model.
  PathsResult run_split(const std::vector<std::vector<ws::PipelineLayer>>& per_path, const Traffic& traffic = {});
  void reset();

  // Configuration writes on path `path` alone (each held until taken, the others idle), then a few
  // idle cycles for the error flags to settle; never resets.
  PathsResult configure(int path, const std::vector<ws::CfgWrite>& writes);
  // One cycle with the shared err_clear high; err and err_cause are those after the clearing edge.
  PathsResult clear_error();

  const ws::WeightPipelinePathsParams& params() const;
  // The parameters the linked Verilated top is built with (ws_rtl_driver_paths: Paths 2 of the wide
  // pipeline at value tables 2^10): the only ones the constructor takes.
  static ws::WeightPipelinePathsParams built_params();
  uint64_t cycle() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wp
