// Cycle-accurate model of rtl/ws_weight_pipeline_paths.sv (docs/weight_pipeline.md, "Paths: 32 dense
// weights a cycle"): Paths whole ws::WeightPipelineModel instances, each with its own ports, on one
// activation stream forked to every path, and one err_clear for all.
//
// The fork (sent[p]: path p has taken the current x, another has not): path p is offered x while
// act_valid and not sent[p]; the port takes x once every path has (act_ready = AND over p of
// sent[p] | path p's act_ready), which clears every sent flag.
//
// Pins as the RTL's: per path a ws::WeightPipelineInputs / Outputs (the single-path pins; their
// act_*, err_clear and rst_n are not the path's: the shared ones below drive every path, and a path's
// act_ready is its own, inside the fork), plus the shared activations and err_clear. Same convention
// as ws::WeightPipelineModel: set `in`; eval(); read `out`; tick() is the rising edge with `in`,
// then eval().
#pragma once

#include <cstdint>
#include <vector>

#include "hw/weight_pipeline_model.hpp"

namespace ws {

struct WeightPipelinePathsParams {
  int paths = 2;               // Paths (1 .. 4)
  WeightPipelineParams path;   // every path's (the top passes its parameters to each)
  void check() const;          // throws std::invalid_argument
};

struct WeightPipelinePathsInputs {
  bool rst_n = true;                      // active-low reset (asynchronous), every path and the fork
  std::vector<WeightPipelineInputs> path;  // per path: its ports (act_*, err_clear, rst_n ignored)
  bool act_valid = false;                 // the activations, once for every path
  uint16_t act_data = 0;
  bool act_last = false;
  bool err_clear = false;                 // clears every path's sticky error
};

struct WeightPipelinePathsOutputs {
  std::vector<WeightPipelineOutputs> path;  // per path (act_ready: the path's own, inside the fork)
  bool act_ready = false;                  // the port's: every path has taken x
};

struct WeightPipelinePathsPins {
  WeightPipelinePathsInputs in;
  WeightPipelinePathsOutputs out;
};

class WeightPipelinePathsModel : public WeightPipelinePathsPins {
 public:
  explicit WeightPipelinePathsModel(const WeightPipelinePathsParams& p = {});
  void reset();
  void eval();
  void tick();
  const WeightPipelinePathsParams& params() const { return p_; }
  const WeightPipelineModel& path(int p) const { return paths_.at(size_t(p)); }  // probes, params
  std::vector<bool> sent() const { return sent_; }

 private:
  WeightPipelinePathsParams p_;
  std::vector<WeightPipelineModel> paths_;
  std::vector<bool> sent_;  // sent_q
};

}  // namespace ws
