// One pipeline's ports over a run (see path_feed.hpp).
#include "path_feed.hpp"

#include <algorithm>
#include <array>
#include <sstream>

namespace wp {
namespace {

// A decoder's state ports: port s offers stream s's current unit.
template <size_t N>
void drive_units(const std::vector<Src<ws::StreamUnit>>& ports, std::array<bool, N>& valid,
                 std::array<uint16_t, N>& data, std::array<bool, N>& last) {
  for (size_t s = 0; s < ports.size(); ++s) {
    valid[s] = ports[s].valid;
    data[s] = ports[s].cur().data;
    last[s] = ports[s].cur().last;
  }
}

}  // namespace

PathFeed::PathFeed(const std::vector<ws::PipelineLayer>& layers, const ws::WeightPipelineParams& p, bool with_format,
                   const Traffic& t, uint64_t cycle, bool own_act)
    : prog_(ws::weight_pipeline_program(layers, p, with_format, t.one_bank)), t_(t), own_act_(own_act) {
  for (const auto& u : prog_.vunits) vunit_.push_back({u});
  for (const auto& u : prog_.munits) munit_.push_back({u});
  res_.resize(layers.size());
  for (size_t li = 0; li < layers.size(); ++li) {
    LayerResult& R = res_[li];
    R.beats = prog_.layers[li].beats;
    R.kept = R.beats * uint64_t(p.value_lanes);
    R.dense = layers[li].weights();
    rows_.push_back(layers[li].rows);
  }
  started_.assign(layers.size(), false);
  if (!layers.empty()) {
    res_[0].start_cycle = cycle;
    started_[0] = true;
  }
}

uint64_t PathFeed::items() const {
  uint64_t n = prog_.cfg.size() + prog_.raw.size() + (own_act_ ? prog_.act.size() : 0);
  for (const auto* ports : {&prog_.vunits, &prog_.munits})
    for (const auto& u : *ports) n += u.size();
  for (const LayerResult& R : res_) n += R.beats * 2;
  return n;
}

void PathFeed::offer(TrafficDraw& draw) {
  // The serial baseline: layer li's MAC writes wait for the last beat of layer li - 1.
  bool cfg_eligible = true;
  if (t_.serial_layers)
    for (size_t li = 1; li < res_.size(); ++li)
      if (cfg_.next >= prog_.layers[li].mac_start && w_layer_ < li) cfg_eligible = false;
  draw.offer(cfg_, cfg_eligible);
  draw.offer(vdesc_, cfg_.next >= vdesc_.cur().after_cfg);
  draw.offer(mdesc_, cfg_.next >= mdesc_.cur().after_cfg);
  for (auto& s : vunit_) draw.offer(s, true);
  for (auto& s : munit_) draw.offer(s, true);
  draw.offer(raw_, true);
  if (own_act_) draw.offer(act_, true);
}

void PathFeed::drive(ws::WeightPipelineInputs& in) const {
  in.cfg_valid = cfg_.valid;
  in.cfg_addr = cfg_.cur().addr;
  in.cfg_data = cfg_.cur().data;
  in.vdesc_valid = vdesc_.valid;
  in.vdesc = vdesc_.cur().desc;
  drive_units(vunit_, in.vunit_valid, in.vunit_data, in.vunit_last);
  in.raw_valid = raw_.valid;
  in.raw_data = raw_.cur().data;
  in.raw_last = raw_.cur().last;
  in.mdesc_valid = mdesc_.valid;
  in.mdesc = mdesc_.cur().desc;
  drive_units(munit_, in.munit_valid, in.munit_data, in.munit_last);
  if (own_act_) {
    in.act_valid = act_.valid;
    in.act_data = act_.cur().data;
    in.act_last = act_.cur().last;
  }
}

bool PathFeed::take(const ws::WeightPipelineOutputs& ro, uint64_t cycle) {
  bool moved = false;
  auto take = [&](auto& s, bool ready) {
    if (s.valid && ready) {
      s.valid = false;
      ++s.next;
      moved = true;
    }
  };
  if (cfg_.valid && ro.cfg_ready) ++cfg_writes_;
  take(cfg_, ro.cfg_ready);
  take(vdesc_, ro.vdesc_ready);
  take(mdesc_, ro.mdesc_ready);
  for (size_t s = 0; s < vunit_.size(); ++s) take(vunit_[s], ro.vunit_ready[s]);
  for (size_t s = 0; s < munit_.size(); ++s) take(munit_[s], ro.munit_ready[s]);
  take(raw_, ro.raw_ready);
  if (own_act_) take(act_, ro.act_ready);
  // A layer starts on the cycle after its first configuration item becomes the current one.
  for (size_t li = 1; li < res_.size(); ++li)
    if (!started_[li] && cfg_.next >= prog_.layers[li].cfg_start) {
      started_[li] = true;
      res_[li].start_cycle = cycle + 1;
    }
  return moved;
}

bool PathFeed::observe(const ws::WeightPipelineProbe& pr, const ws::WeightPipelineOutputs& ro,
                       const ws::WeightPipelineOutputs& mo, bool y_ready, uint64_t cycle) {
  bool moved = false;
  if (pr.w_valid && pr.w_ready) ++w_beats_;
  if (pr.w_valid && pr.w_ready && w_layer_ < res_.size()) {
    LayerResult& R = res_[w_layer_];
    if (w_in_layer_ == 0) R.first_w_cycle = cycle;
    R.last_w_cycle = cycle;
    if (++w_in_layer_ == R.beats) {
      ++w_layer_;
      w_in_layer_ = 0;
    }
    moved = true;
  }
  if (ro.y_valid && y_ready) {
    ++y_transfers_;
    if (mo.y_valid && (mo.y_data != ro.y_data || mo.y_last != ro.y_last)) ++transfer_mismatches_;
    moved = true;
    if (y_layer_ < res_.size()) {
      LayerResult& R = res_[y_layer_];
      R.y.push_back(ro.y_data);
      R.last_y_cycle = cycle;
      ++y_row_;
      if (y_row_ == size_t(rows_[y_layer_])) {
        if (!ro.y_last) ++transfer_mismatches_;  // y_last must close the layer
        ++y_layer_;
        y_row_ = 0;
      }
    }
  }
  return moved;
}

bool PathFeed::units_done() const {
  for (const auto* ports : {&vunit_, &munit_})
    for (const auto& s : *ports)
      if (!s.done()) return false;
  return true;
}

bool PathFeed::all_in() const {
  return cfg_.done() && vdesc_.done() && mdesc_.done() && units_done() && raw_.done() && (!own_act_ || act_.done());
}

bool PathFeed::complete() const { return y_layer_ >= res_.size(); }

void PathFeed::report(Result& res) const {
  res.layers = res_;
  res.cfg_writes += cfg_writes_;
  res.w_beats += w_beats_;
  res.y_transfers += y_transfers_;
  res.transfer_mismatches += transfer_mismatches_;
}

uint64_t cycle_bound(uint64_t items, const Traffic& t) {
  if (t.max_cycles) return t.max_cycles;
  const double rate = std::max(0.05, std::min(t.valid_rate, 1.0) * std::min(t.ready_rate, 1.0));
  return uint64_t(20000 + 4.0 * double(items) / rate);
}

int compare_outputs(const ws::WeightPipelineParams& p, const ws::WeightPipelineOutputs& r,
                    const ws::WeightPipelineOutputs& m, bool with_act, const std::string& prefix, std::string* why,
                    uint64_t* compared) {
  int n = 0;
  std::ostringstream o;
  auto chk = [&](const char* name, uint64_t a, uint64_t b) {
    ++*compared;
    if (a != b) {
      ++n;
      o << " " << prefix << name << " rtl=" << std::hex << a << " model=" << b << std::dec;
    }
  };
  chk("cfg_ready", r.cfg_ready, m.cfg_ready);
  chk("vdesc_ready", r.vdesc_ready, m.vdesc_ready);
  for (size_t s = 0; s < size_t(p.value_states()); ++s) chk("vunit_ready", r.vunit_ready[s], m.vunit_ready[s]);
  chk("raw_ready", r.raw_ready, m.raw_ready);
  chk("mdesc_ready", r.mdesc_ready, m.mdesc_ready);
  for (size_t s = 0; s < size_t(p.meta_states()); ++s) chk("munit_ready", r.munit_ready[s], m.munit_ready[s]);
  if (with_act) chk("act_ready", r.act_ready, m.act_ready);
  chk("y_valid", r.y_valid, m.y_valid);
  if (r.y_valid && m.y_valid) {
    chk("y_data", r.y_data, m.y_data);
    chk("y_last", r.y_last, m.y_last);
  }
  chk("err", r.err, m.err);
  chk("err_cause", r.err_cause, m.err_cause);
  if (n && why) *why += o.str();
  return n;
}

bool same_build(const ws::WeightPipelineParams& a, const ws::WeightPipelineParams& b) {
  return a.max_k == b.max_k && a.value_table_log == b.value_table_log && a.meta_table_log == b.meta_table_log &&
         a.count_bits == b.count_bits && a.beat_bits == b.beat_bits && a.value_lanes == b.value_lanes &&
         a.meta_lanes == b.meta_lanes && a.bf16_unpacker == b.bf16_unpacker;
}

std::string built_text(const ws::WeightPipelineParams& p) {
  return "MaxK " + std::to_string(p.max_k) + ", ValueTableLog " + std::to_string(p.value_table_log) + ", MetaTableLog " +
         std::to_string(p.meta_table_log) + ", ValueLanes " + std::to_string(p.value_lanes) + ", MetaLanes " +
         std::to_string(p.meta_lanes) + ", Bf16Unpacker " + std::to_string(int(p.bf16_unpacker)) +
         " and the other parameters at their defaults";
}

}  // namespace wp
