// What every driver of weight pipelines needs once per pipeline (wp::Driver: one; wp::PathsDriver:
// one per path of ws_weight_pipeline_paths): its ports fed from its stream program, with the valid
// gaps of a Traffic, and what it did with the layers (beats into the MAC array, y), and the
// comparison of its outputs, RTL against the cycle model. No Verilator header.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "driver.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_model.hpp"

namespace wp {

// One input stream: items in order, the one on the port held until it is taken (AXI-Stream rule).
template <class T>
struct Src {
  const std::vector<T>& items;
  size_t next = 0;
  bool valid = false;
  bool done() const { return next >= items.size(); }
  const T& cur() const {
    static const T none{};
    return done() ? none : items[next];
  }
};

// The random draws of a run: an idle stream offers its next item with probability valid_rate, y is
// ready with probability ready_rate (Traffic), from Traffic::seed.
class TrafficDraw {
 public:
  explicit TrafficDraw(const Traffic& t) : t_(t), rng_(t.seed) {}
  bool chance(double p) { return p >= 1.0 || u01_(rng_) < p; }
  template <class T>
  void offer(Src<T>& s, bool eligible) {
    if (!s.valid && !s.done() && eligible) s.valid = chance(t_.valid_rate);
  }
  bool y_ready() { return chance(t_.ready_rate); }

 private:
  Traffic t_;
  std::mt19937_64 rng_;
  std::uniform_real_distribution<double> u01_{0, 1};
};

// One pipeline's ports over a run of layers: the program of the layers (ws::weight_pipeline_program),
// a stream per port, and the layers' results as the outputs show them. own_act false: the
// activations come from elsewhere (the paths' fork), this feed neither offers nor takes them.
// Holds references into its own program: never copied or moved.
class PathFeed {
 public:
  PathFeed(const std::vector<ws::PipelineLayer>& layers, const ws::WeightPipelineParams& p, bool with_format,
           const Traffic& t, uint64_t cycle, bool own_act = true);
  PathFeed(const PathFeed&) = delete;
  PathFeed& operator=(const PathFeed&) = delete;

  const ws::PipelineProgram& program() const { return prog_; }
  // Items the run moves (every stream's, and each beat in and out of the join): the cycle bound's size.
  uint64_t items() const;
  // A cycle: offer() the next items, drive() them onto the pins, then with the outputs of the cycle
  // take() the transfers and observe() the beats and y; both return whether anything moved.
  void offer(TrafficDraw& draw);
  void drive(ws::WeightPipelineInputs& in) const;
  bool take(const ws::WeightPipelineOutputs& ro, uint64_t cycle);
  bool observe(const ws::WeightPipelineProbe& probe, const ws::WeightPipelineOutputs& ro,
               const ws::WeightPipelineOutputs& mo, bool y_ready, uint64_t cycle);
  bool all_in() const;    // every item of every (own) input stream taken
  bool complete() const;  // every layer's y out
  // The run's results (layers, counts of transfers, beats and mismatches), added into res.
  void report(Result& res) const;

 private:
  bool units_done() const;
  std::vector<int> rows_;  // each layer's
  ws::PipelineProgram prog_;
  Traffic t_;
  bool own_act_;
  Src<ws::CfgWrite> cfg_{prog_.cfg};
  Src<ws::PipelineDesc> vdesc_{prog_.vdesc}, mdesc_{prog_.mdesc};
  Src<ws::StreamWord> raw_{prog_.raw};
  Src<ws::PipelineAct> act_{prog_.act};
  std::vector<Src<ws::StreamUnit>> vunit_, munit_;  // every state port a stream of its own (its own gaps)
  std::vector<LayerResult> res_;
  std::vector<bool> started_;
  size_t y_layer_ = 0, y_row_ = 0, w_layer_ = 0;
  uint64_t w_in_layer_ = 0, cfg_writes_ = 0, w_beats_ = 0, y_transfers_ = 0, transfer_mismatches_ = 0;
};

// The cycle bound of a run moving `items` items at the traffic's rates (Traffic::max_cycles when set).
uint64_t cycle_bound(uint64_t items, const Traffic& t);

// Compares every output of one pipeline (its p.value_states() / meta_states() state ports; act_ready
// only when with_act: a path of the paths' top has none of its own) and counts them into *compared;
// returns the number of differing signals, described in *why (each name prefixed by `prefix`).
int compare_outputs(const ws::WeightPipelineParams& p, const ws::WeightPipelineOutputs& rtl,
                    const ws::WeightPipelineOutputs& model, bool with_act, const std::string& prefix, std::string* why,
                    uint64_t* compared);

// A driver's parameters against those its Verilated top is built with (built_params()): true when every
// parameter the RTL takes is the same; built_text() names the built ones for the driver's error.
bool same_build(const ws::WeightPipelineParams& a, const ws::WeightPipelineParams& b);
std::string built_text(const ws::WeightPipelineParams& p);

}  // namespace wp
