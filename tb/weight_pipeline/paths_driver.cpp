// Driver of ws_weight_pipeline_paths (see paths_driver.hpp): each path's stream program on its ports
// of the Verilated top (wp::PathFeed), the activations once, and the cycle model in lock step.
#include "paths_driver.hpp"

#include <algorithm>
#include <stdexcept>

#include "Vweight_pipeline_paths.h"
#include "lock_step.hpp"
#include "path_feed.hpp"
#include "verilated_dut.hpp"

namespace wp {
namespace {

// Little-endian 32-bit words of a flattened port: path p's field of n bits at [n p +: n].
struct PortWords {
  std::vector<uint32_t> w;
  explicit PortWords(int bits) : w(size_t((bits + 31) / 32), 0) {}
  void put_words(int lsb, int n, const std::vector<uint32_t>& v) {
    for (int i = 0; i < n; ++i)
      if ((v[size_t(i / 32)] >> (i % 32)) & 1) w[size_t((lsb + i) / 32)] |= 1u << ((lsb + i) % 32);
  }
  void put(int lsb, int n, uint64_t v) { put_words(lsb, n, {uint32_t(v), uint32_t(v >> 32)}); }
};
// A port's words as Verilator stores it (scalar up to 64 bits, else a word array), and a field of them.
inline std::vector<uint32_t> port_words(uint64_t v) { return {uint32_t(v), uint32_t(v >> 32)}; }
template <std::size_t N>
std::vector<uint32_t> port_words(const VlWide<N>& v) {
  std::vector<uint32_t> w(N);
  for (std::size_t i = 0; i < N; ++i) w[i] = v[i];
  return w;
}
uint64_t field(const std::vector<uint32_t>& w, int lsb, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t((w[size_t((lsb + i) / 32)] >> ((lsb + i) % 32)) & 1) << i;
  return v;
}

// The Verilated paths' top behind the paths' pins: its one adapter.
class PathsRtl : public tb::VerilatedPins<PathsRtl, Vweight_pipeline_paths, ws::WeightPipelinePathsPins> {
 public:
  PathsRtl(const std::string& fst_path, const ws::WeightPipelinePathsParams& p) : VerilatedPins(fst_path), p_(p) {
    in.path.resize(size_t(p.paths));
    out.path.resize(size_t(p.paths));
  }

  void drive(Vweight_pipeline_paths& t) const {
    const ws::WeightPipelineParams& q = p_.path;
    const int P = p_.paths, vs = q.value_states(), ms = q.meta_states(), raw = ws::pkg::raw_word_bits(q.value_lanes);
    const int desc = ws::pkg::TANS_DESC_HEAD_BITS + q.count_bits;
    PortWords cfg_valid(P), cfg_addr(16 * P), cfg_data(32 * P), vdesc_valid(P), vdesc_data(desc * P), vunit_valid(vs * P),
        vunit_data(16 * vs * P), vunit_last(vs * P), raw_valid(P), raw_data(raw * P), raw_last(P), mdesc_valid(P),
        mdesc_data(desc * P), munit_valid(ms * P), munit_data(16 * ms * P), munit_last(ms * P), y_ready(P);
    // A decoder's n state ports of a path, from port `first` of the flattened arrays on.
    auto units = [](PortWords& valid, PortWords& data, PortWords& last, int first, int n, const auto& v, const auto& d,
                    const auto& l) {
      for (int s = 0; s < n; ++s) {
        valid.put(first + s, 1, v[size_t(s)]);
        data.put(16 * (first + s), 16, d[size_t(s)]);
        last.put(first + s, 1, l[size_t(s)]);
      }
    };
    for (int p = 0; p < P; ++p) {
      const ws::WeightPipelineInputs& i = in.path[size_t(p)];
      cfg_valid.put(p, 1, i.cfg_valid);
      cfg_addr.put(16 * p, 16, i.cfg_addr);
      cfg_data.put(32 * p, 32, i.cfg_data);
      vdesc_valid.put(p, 1, i.vdesc_valid);
      vdesc_data.put_words(desc * p, desc, i.vdesc.pack(q.value_dec()));
      units(vunit_valid, vunit_data, vunit_last, vs * p, vs, i.vunit_valid, i.vunit_data, i.vunit_last);
      raw_valid.put(p, 1, i.raw_valid);
      raw_data.put(raw * p, raw, i.raw_data);
      raw_last.put(p, 1, i.raw_last);
      mdesc_valid.put(p, 1, i.mdesc_valid);
      mdesc_data.put_words(desc * p, desc, i.mdesc.pack(q.meta_dec()));
      units(munit_valid, munit_data, munit_last, ms * p, ms, i.munit_valid, i.munit_data, i.munit_last);
      y_ready.put(p, 1, i.y_ready);
    }
    t.rst_ni = in.rst_n;
    tb::set_words(t.cfg_valid_i, cfg_valid.w);
    tb::set_words(t.cfg_addr_i, cfg_addr.w);
    tb::set_words(t.cfg_data_i, cfg_data.w);
    tb::set_words(t.vdesc_valid_i, vdesc_valid.w);
    tb::set_words(t.vdesc_data_i, vdesc_data.w);
    tb::set_words(t.vunit_valid_i, vunit_valid.w);
    tb::set_words(t.vunit_data_i, vunit_data.w);
    tb::set_words(t.vunit_last_i, vunit_last.w);
    tb::set_words(t.raw_valid_i, raw_valid.w);
    tb::set_words(t.raw_data_i, raw_data.w);
    tb::set_words(t.raw_last_i, raw_last.w);
    tb::set_words(t.mdesc_valid_i, mdesc_valid.w);
    tb::set_words(t.mdesc_data_i, mdesc_data.w);
    tb::set_words(t.munit_valid_i, munit_valid.w);
    tb::set_words(t.munit_data_i, munit_data.w);
    tb::set_words(t.munit_last_i, munit_last.w);
    tb::set_words(t.y_ready_i, y_ready.w);
    t.act_valid_i = in.act_valid;
    t.act_data_i = in.act_data;
    t.act_last_i = in.act_last;
    t.err_clear_i = in.err_clear;
  }
  void sample(const Vweight_pipeline_paths& t) {
    const ws::WeightPipelineParams& q = p_.path;
    const int vs = q.value_states(), ms = q.meta_states();
    const std::vector<uint32_t> cfg_ready = port_words(t.cfg_ready_o), vdesc_ready = port_words(t.vdesc_ready_o),
                                vunit_ready = port_words(t.vunit_ready_o), raw_ready = port_words(t.raw_ready_o),
                                mdesc_ready = port_words(t.mdesc_ready_o), munit_ready = port_words(t.munit_ready_o),
                                y_valid = port_words(t.y_valid_o), y_data = port_words(t.y_data_o),
                                y_last = port_words(t.y_last_o), err = port_words(t.err_o),
                                err_cause = port_words(t.err_cause_o);
    for (int p = 0; p < p_.paths; ++p) {
      ws::WeightPipelineOutputs& o = out.path[size_t(p)];
      o = ws::WeightPipelineOutputs{};  // act_ready: inside the fork, not a port
      o.cfg_ready = field(cfg_ready, p, 1);
      o.vdesc_ready = field(vdesc_ready, p, 1);
      for (int s = 0; s < vs; ++s) o.vunit_ready[size_t(s)] = field(vunit_ready, vs * p + s, 1);
      o.raw_ready = field(raw_ready, p, 1);
      o.mdesc_ready = field(mdesc_ready, p, 1);
      for (int s = 0; s < ms; ++s) o.munit_ready[size_t(s)] = field(munit_ready, ms * p + s, 1);
      o.y_valid = field(y_valid, p, 1);
      o.y_data = uint32_t(field(y_data, 32 * p, 32));
      o.y_last = field(y_last, p, 1);
      o.err = field(err, p, 1);
      o.err_cause = uint8_t(field(err_cause, 6 * p, 6));
    }
    out.act_ready = t.act_ready_o;
  }

 private:
  ws::WeightPipelinePathsParams p_;
};

}  // namespace

double PathsResult::weights_per_cycle(size_t li) const {
  const LayerResult& R = layers.at(li);
  return double(R.dense) / double(R.last_w_cycle - R.first_w_cycle + 1);
}

struct PathsDriver::Impl : LockStep<PathsRtl, ws::WeightPipelinePathsModel> {
  ws::WeightPipelinePathsParams p;

  Impl(const std::string& fst_path, const ws::WeightPipelinePathsParams& params)
      : LockStep(fst_path, checked(params), params), p(params) {
    do_reset();
  }
  static const ws::WeightPipelinePathsParams& checked(const ws::WeightPipelinePathsParams& params) {
    const ws::WeightPipelinePathsParams d = built_params();
    if (params.paths != d.paths || !same_build(params.path, d.path))
      throw std::invalid_argument("wp::PathsDriver: the Verilated top is built with Paths " + std::to_string(d.paths) +
                                  ", " + built_text(d.path));
    return params;
  }

  ws::WeightPipelinePathsInputs idle() const {
    ws::WeightPipelinePathsInputs in;
    in.path.resize(size_t(p.paths));
    return in;
  }
  void do_reset() { reset(idle()); }
  // Every path's outputs (but its act_ready, inside the fork) and the shared act_ready.
  int compare(const ws::WeightPipelinePathsOutputs& r, const ws::WeightPipelinePathsOutputs& m, std::string* why,
              uint64_t* compared) const {
    int n = 0;
    for (int q = 0; q < p.paths; ++q)
      n += compare_outputs(p.path, r.path[size_t(q)], m.path[size_t(q)], false, "path " + std::to_string(q) + " ", why,
                           compared);
    ++*compared;
    if (r.act_ready != m.act_ready) {
      ++n;
      *why += " act_ready rtl=" + std::to_string(r.act_ready) + " model=" + std::to_string(m.act_ready);
    }
    return n;
  }
  const ws::WeightPipelinePathsOutputs& eval(const ws::WeightPipelinePathsInputs& in, Result& res) {
    return LockStep::eval(in, res, [&](const auto& r, const auto& m, std::string* why, uint64_t* compared) {
      return compare(r, m, why, compared);
    });
  }
  // A cycle of the fork, from the model's sent flags and its paths' own act_ready: which paths take x.
  void count_fork(const ws::WeightPipelinePathsInputs& in, PathsResult& res) const {
    if (!in.act_valid) return;
    const std::vector<bool> sent = model.sent();
    for (size_t q = 0; q < sent.size(); ++q)
      res.lone_act_takes[q] += !sent[q] && model.out.path[q].act_ready && !model.out.act_ready;
    res.act_transfers += model.out.act_ready;
  }
  // The top's errors at the end of a call, into res.
  void errors(PathsResult& res) const {
    res.err = false;
    res.err_cause = 0;
    for (const ws::WeightPipelineOutputs& o : rtl.out.path) {
      res.path_err.push_back(o.err);
      res.path_err_cause.push_back(o.err_cause);
      if (o.err && !res.err) res.err_cause = o.err_cause;
      res.err = res.err || o.err;
    }
  }
};

PathsDriver::PathsDriver(const std::string& fst_path, const ws::WeightPipelinePathsParams& params)
    : impl_(new Impl(fst_path, params)) {}
PathsDriver::~PathsDriver() = default;
ws::WeightPipelinePathsParams PathsDriver::built_params() {
  ws::WeightPipelinePathsParams p;
  p.paths = WS_WP_PATHS;                // CMake: ws_rtl_driver_paths
  p.path = Driver::built_params();      // each path's (built_params.cpp)
  return p;
}
void PathsDriver::reset() { impl_->do_reset(); }
const ws::WeightPipelinePathsParams& PathsDriver::params() const { return impl_->p; }
uint64_t PathsDriver::cycle() const { return impl_->cyc; }

PathsResult PathsDriver::run(const std::vector<ws::PipelineLayer>& layers, const Traffic& t) {
  std::vector<std::vector<ws::PipelineLayer>> per_path(size_t(impl_->p.paths));
  for (const ws::PipelineLayer& L : layers) {
    std::vector<ws::PipelineLayer> parts = ws::split_layer_rows(L, impl_->p.paths);
    for (size_t q = 0; q < parts.size(); ++q) per_path[q].push_back(std::move(parts[q]));
  }
  return run_split(per_path, t);
}

PathsResult PathsDriver::run_split(const std::vector<std::vector<ws::PipelineLayer>>& per_path, const Traffic& t) {
  Impl& I = *impl_;
  const size_t P = size_t(I.p.paths);
  if (per_path.size() != P) throw std::invalid_argument("wp::PathsDriver: one list of layers per path");
  std::vector<std::unique_ptr<PathFeed>> feeds;
  for (size_t q = 0; q < P; ++q) {
    if (per_path[q].size() != per_path[0].size())
      throw std::invalid_argument("wp::PathsDriver: every path takes every layer (its x through the fork)");
    feeds.push_back(std::make_unique<PathFeed>(per_path[q], I.p.path, !I.fmt_loaded, t, I.cyc, false));
  }
  // The activations, once: every path's program must take the same ones.
  const std::vector<ws::PipelineAct>& acts = feeds[0]->program().act;
  for (const auto& f : feeds) {
    const std::vector<ws::PipelineAct>& a = f->program().act;
    if (!std::equal(a.begin(), a.end(), acts.begin(), acts.end(), [](const ws::PipelineAct& u, const ws::PipelineAct& v) {
          return u.data == v.data && u.last == v.last;
        }))
      throw std::invalid_argument("wp::PathsDriver: the paths' layers must have the same activations (one fork)");
  }
  I.fmt_loaded = true;
  Src<ws::PipelineAct> act{acts};
  uint64_t items = acts.size();
  for (const auto& f : feeds) items += f->items();

  PathsResult res;
  res.lone_act_takes.assign(P, 0);
  const uint64_t errors_before = I.rtl.assertion_errors();
  TrafficDraw draw(t);
  auto all_in = [&] {
    return act.done() && std::all_of(feeds.begin(), feeds.end(), [](const auto& f) { return f->all_in(); });
  };
  auto complete = [&] { return std::all_of(feeds.begin(), feeds.end(), [](const auto& f) { return f->complete(); }); };
  res.cycles = I.run_cycles(
      res, cycle_bound(items, t), t.quiet_cycles, [&] { return complete() && all_in(); },
      [&] { return std::any_of(I.rtl.out.path.begin(), I.rtl.out.path.end(), [](const auto& o) { return o.err; }); },
      [&] {
        for (auto& f : feeds) f->offer(draw);
        draw.offer(act, true);
        ws::WeightPipelinePathsInputs in = I.idle();
        for (size_t q = 0; q < P; ++q) {
          feeds[q]->drive(in.path[q]);
          in.path[q].y_ready = draw.y_ready();
        }
        in.act_valid = act.valid;
        in.act_data = act.cur().data;
        in.act_last = act.cur().last;
        const ws::WeightPipelinePathsOutputs ro = I.eval(in, res);
        I.count_fork(in, res);
        bool moved = false;
        for (size_t q = 0; q < P; ++q) {
          moved = feeds[q]->take(ro.path[q], I.cyc) || moved;
          moved = feeds[q]->observe(I.model.path(int(q)).probe(), ro.path[q], I.model.out.path[q], in.path[q].y_ready,
                                    I.cyc) ||
                  moved;
        }
        if (act.valid && ro.act_ready) {
          act.valid = false;
          ++act.next;
          moved = true;
        }
        return moved;
      });
  for (const auto& f : feeds) {
    f->report(res);  // the counts add up; its layers are its share
    res.path_layers.push_back(res.layers);
  }
  // The top's layers: the paths' shares, y in path order.
  res.layers.assign(per_path[0].size(), LayerResult{});
  for (size_t li = 0; li < res.layers.size(); ++li) {
    LayerResult& C = res.layers[li];
    for (size_t q = 0; q < P; ++q) {
      const LayerResult& R = res.path_layers[q][li];
      C.y.insert(C.y.end(), R.y.begin(), R.y.end());
      C.start_cycle = q == 0 ? R.start_cycle : std::min(C.start_cycle, R.start_cycle);
      C.first_w_cycle = q == 0 ? R.first_w_cycle : std::min(C.first_w_cycle, R.first_w_cycle);
      C.last_w_cycle = std::max(C.last_w_cycle, R.last_w_cycle);
      C.last_y_cycle = std::max(C.last_y_cycle, R.last_y_cycle);
      C.beats += R.beats;
      C.kept += R.kept;
      C.dense += R.dense;
    }
  }
  I.errors(res);
  res.complete = complete();
  res.inputs_drained = all_in();
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  I.end_run(res, I.idle());
  return res;
}

PathsResult PathsDriver::configure(int path, const std::vector<ws::CfgWrite>& writes) {
  Impl& I = *impl_;
  if (path < 0 || path >= I.p.paths) throw std::invalid_argument("wp::PathsDriver::configure: no path " + std::to_string(path));
  PathsResult res;
  const uint64_t errors_before = I.rtl.assertion_errors();
  const size_t q = size_t(path);
  I.configure(
      res, writes, I.idle(),
      [q](ws::WeightPipelinePathsInputs& in, const ws::CfgWrite& w) {
        in.path[q].cfg_valid = true;
        in.path[q].cfg_addr = w.addr;
        in.path[q].cfg_data = w.data;
      },
      [q](const ws::WeightPipelinePathsOutputs& o) { return o.path[q].cfg_ready; },
      [&](const auto& r, const auto& m, std::string* why, uint64_t* compared) { return I.compare(r, m, why, compared); });
  I.errors(res);
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  return res;
}

PathsResult PathsDriver::clear_error() {
  Impl& I = *impl_;
  PathsResult res;
  const uint64_t errors_before = I.rtl.assertion_errors();
  ws::WeightPipelinePathsInputs in = I.idle();
  in.err_clear = true;
  I.eval(in, res);
  I.tick();
  I.eval(I.idle(), res);
  res.cycles = 1;
  res.inputs_drained = true;
  I.errors(res);
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  return res;
}

}  // namespace wp
