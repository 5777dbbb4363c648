// Cycle model of ws_weight_pipeline_paths (see weight_pipeline_paths_model.hpp).
#include "hw/weight_pipeline_paths_model.hpp"

#include <stdexcept>
#include <string>

namespace ws {

void WeightPipelinePathsParams::check() const {
  if (paths < 1 || paths > 4)
    throw std::invalid_argument("weight pipeline paths: Paths = " + std::to_string(paths) + ", must be 1 .. 4");
  path.check();
}

WeightPipelinePathsModel::WeightPipelinePathsModel(const WeightPipelinePathsParams& p) : p_(p) {
  p_.check();
  paths_.assign(size_t(p_.paths), WeightPipelineModel(p_.path));
  in.path.resize(size_t(p_.paths));
  out.path.resize(size_t(p_.paths));
  sent_.assign(size_t(p_.paths), false);
  reset();
}

void WeightPipelinePathsModel::reset() {
  for (WeightPipelineModel& m : paths_) m.reset();
  sent_.assign(sent_.size(), false);
  eval();
}

void WeightPipelinePathsModel::eval() {
  if (in.path.size() != paths_.size()) throw std::invalid_argument("weight pipeline paths model: in.path must have Paths entries");
  if (!in.rst_n) sent_.assign(sent_.size(), false);  // asynchronous reset
  out.act_ready = true;
  for (size_t p = 0; p < paths_.size(); ++p) {
    WeightPipelineModel& m = paths_[p];
    m.in = in.path[p];
    m.in.rst_n = in.rst_n;
    m.in.act_valid = in.act_valid && !sent_[p];
    m.in.act_data = in.act_data;
    m.in.act_last = in.act_last;
    m.in.err_clear = in.err_clear;
    m.eval();
    out.path[p] = m.out;
    out.act_ready = out.act_ready && (sent_[p] || m.out.act_ready);
  }
}

void WeightPipelinePathsModel::tick() {
  eval();
  // sent_q sees the fork before the edge: cleared when the port takes x, else the paths that have.
  std::vector<bool> next = sent_;
  if (!in.rst_n) next.assign(next.size(), false);
  else if (in.act_valid)
    for (size_t p = 0; p < paths_.size(); ++p) next[p] = !out.act_ready && (sent_[p] || paths_[p].out.act_ready);
  for (WeightPipelineModel& m : paths_) m.tick();
  sent_ = next;
  eval();
}

}  // namespace ws
