// Driver of ws_weight_pipeline (see driver.hpp): the stream program on the Verilated top and the
// cycle model in lock step.
#include "driver.hpp"

#include <algorithm>
#include <array>
#include <random>
#include <sstream>
#include <stdexcept>

#include "Vweight_pipeline.h"
#include "verilated_dut.hpp"

namespace wp {
namespace {

// The Verilated top behind the pipeline's pins: its one adapter.
class PipelineRtl : public tb::VerilatedPins<PipelineRtl, Vweight_pipeline, ws::WeightPipelinePins> {
 public:
  PipelineRtl(const std::string& fst_path, const ws::WeightPipelineParams& p) : VerilatedPins(fst_path), p_(p) {}

  void drive(Vweight_pipeline& t) const {
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = uint16_t(in.cfg_addr);
    t.cfg_data_i = in.cfg_data;
    t.vdesc_valid_i = in.vdesc_valid;
    tb::set_words(t.vdesc_data_i, in.vdesc.pack(p_.value_dec()));
    drive_units(in.vunit_valid, in.vunit_data, in.vunit_last, t.vunit_valid_i, t.vunit_data_i, t.vunit_last_i);
    t.raw_valid_i = in.raw_valid;
    t.raw_data_i = decltype(t.raw_data_i)(in.raw_data);  // ws::pkg::raw_word_bits(ValueLanes) bits
    t.raw_last_i = in.raw_last;
    t.mdesc_valid_i = in.mdesc_valid;
    tb::set_words(t.mdesc_data_i, in.mdesc.pack(p_.meta_dec()));
    drive_units(in.munit_valid, in.munit_data, in.munit_last, t.munit_valid_i, t.munit_data_i, t.munit_last_i);
    t.act_valid_i = in.act_valid;
    t.act_data_i = in.act_data;
    t.act_last_i = in.act_last;
    t.y_ready_i = in.y_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const Vweight_pipeline& t) {
    out.cfg_ready = t.cfg_ready_o;
    out.vdesc_ready = t.vdesc_ready_o;
    for (size_t s = 0; s < out.vunit_ready.size(); ++s) out.vunit_ready[s] = (uint32_t(t.vunit_ready_o) >> s) & 1;
    out.raw_ready = t.raw_ready_o;
    out.mdesc_ready = t.mdesc_ready_o;
    for (size_t s = 0; s < out.munit_ready.size(); ++s) out.munit_ready[s] = (uint32_t(t.munit_ready_o) >> s) & 1;
    out.act_ready = t.act_ready_o;
    out.y_valid = t.y_valid_o;
    out.y_data = t.y_data_o;
    out.y_last = t.y_last_o;
    out.err = t.err_o;
    out.err_cause = t.err_cause_o;
  }

 private:
  // State port s: valid and last bit s, data bits [16 s +: 16] (a Verilator word array or scalar).
  template <size_t N, class Bits, class Data>
  static void drive_units(const std::array<bool, N>& valid, const std::array<uint16_t, N>& data,
                          const std::array<bool, N>& last, Bits& valid_o, Data& data_o, Bits& last_o) {
    uint32_t v = 0, l = 0;
    std::vector<uint32_t> d((N + 1) / 2, 0);
    for (size_t s = 0; s < N; ++s) {
      v |= uint32_t(valid[s]) << s;
      l |= uint32_t(last[s]) << s;
      d[s / 2] |= uint32_t(data[s]) << (16 * (s % 2));
    }
    valid_o = v;
    last_o = l;
    tb::set_words(data_o, d);
  }

  ws::WeightPipelineParams p_;
};

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

// Compares every output of a top with p's state ports; returns the number of differing signals,
// describing them in `why`.
int compare(const ws::WeightPipelineParams& p, const ws::WeightPipelineOutputs& r, const ws::WeightPipelineOutputs& m,
            std::string* why, uint64_t* compared) {
  int n = 0;
  std::ostringstream o;
  auto chk = [&](const char* name, uint64_t a, uint64_t b) {
    ++*compared;
    if (a != b) {
      ++n;
      o << " " << name << " rtl=" << std::hex << a << " model=" << b << std::dec;
    }
  };
  chk("cfg_ready", r.cfg_ready, m.cfg_ready);
  chk("vdesc_ready", r.vdesc_ready, m.vdesc_ready);
  for (size_t s = 0; s < size_t(p.value_states()); ++s) chk("vunit_ready", r.vunit_ready[s], m.vunit_ready[s]);
  chk("raw_ready", r.raw_ready, m.raw_ready);
  chk("mdesc_ready", r.mdesc_ready, m.mdesc_ready);
  for (size_t s = 0; s < size_t(p.meta_states()); ++s) chk("munit_ready", r.munit_ready[s], m.munit_ready[s]);
  chk("act_ready", r.act_ready, m.act_ready);
  chk("y_valid", r.y_valid, m.y_valid);
  if (r.y_valid && m.y_valid) {
    chk("y_data", r.y_data, m.y_data);
    chk("y_last", r.y_last, m.y_last);
  }
  chk("err", r.err, m.err);
  chk("err_cause", r.err_cause, m.err_cause);
  if (n && why) *why = o.str();
  return n;
}

}  // namespace

struct Driver::Impl {
  ws::WeightPipelineParams p;
  PipelineRtl rtl;
  ws::WeightPipelineModel model;
  uint64_t cyc = 0;
  bool fmt_loaded = false;

  Impl(const std::string& fst_path, const ws::WeightPipelineParams& params)
      : p(checked(params)), rtl(fst_path, params), model(params) {
    do_reset();
  }
  static const ws::WeightPipelineParams& checked(const ws::WeightPipelineParams& params) {
    const ws::WeightPipelineParams d = built_params();
    if (params.max_k != d.max_k || params.value_table_log != d.value_table_log ||
        params.meta_table_log != d.meta_table_log || params.count_bits != d.count_bits || params.beat_bits != d.beat_bits ||
        params.value_lanes != d.value_lanes || params.meta_lanes != d.meta_lanes)
      throw std::invalid_argument("wp::Driver: the Verilated top is built with MaxK " + std::to_string(d.max_k) +
                                  ", ValueTableLog " + std::to_string(d.value_table_log) + ", MetaTableLog " +
                                  std::to_string(d.meta_table_log) + ", ValueLanes " + std::to_string(d.value_lanes) +
                                  ", MetaLanes " + std::to_string(d.meta_lanes) + " and the other parameters at their defaults");
    return params;
  }

  // One clock with every input idle and rst_n low, on both.
  void do_reset() {
    ws::WeightPipelineInputs in;
    in.rst_n = false;
    rtl.in = model.in = in;
    rtl.tick();
    model.tick();
    rtl.in.rst_n = model.in.rst_n = true;
    rtl.eval();
    model.eval();
    fmt_loaded = false;
  }

  // Both sides' outputs for `in`, compared into res; the RTL's are returned.
  const ws::WeightPipelineOutputs& eval(const ws::WeightPipelineInputs& in, Result& res) {
    rtl.in = model.in = in;
    rtl.eval();
    model.eval();
    std::string why;
    if (compare(p, rtl.out, model.out, &why, &res.signals_compared)) {
      if (res.cycle_mismatches == 0) res.first_mismatch = "cycle " + std::to_string(cyc) + ":" + why;
      ++res.cycle_mismatches;
    }
    return rtl.out;
  }
  void tick() {
    model.tick();
    rtl.tick();
    ++cyc;
  }
};

Driver::Driver(const std::string& fst_path, const ws::WeightPipelineParams& params)
    : impl_(new Impl(fst_path, params)) {}
Driver::~Driver() = default;
ws::WeightPipelineParams Driver::built_params() {
  ws::WeightPipelineParams p;
  // The Verilated top's parameters (CMake: ws_rtl_driver MaxK 256, ws_rtl_driver_4k 4096,
  // ws_rtl_driver_up5k the small configuration, ws_rtl_driver_wide the wide one); the others at their
  // defaults.
  p.max_k = WS_WP_MAX_K;
#ifdef WS_WP_VALUE_LANES
  p.value_lanes = WS_WP_VALUE_LANES;
  p.meta_lanes = WS_WP_META_LANES;
  p.value_table_log = WS_WP_VALUE_TABLE_LOG;
  p.meta_table_log = WS_WP_META_TABLE_LOG;
#endif
  return p;
}
void Driver::reset() { impl_->do_reset(); }
const ws::WeightPipelineParams& Driver::params() const { return impl_->p; }
uint64_t Driver::cycle() const { return impl_->cyc; }

Result Driver::run(const std::vector<ws::PipelineLayer>& layers, const Traffic& t) {
  Impl& I = *impl_;
  const ws::PipelineProgram prog = ws::weight_pipeline_program(layers, I.p, !I.fmt_loaded, t.one_bank);
  I.fmt_loaded = true;
  Src<ws::CfgWrite> cfg{prog.cfg};
  Src<ws::PipelineDesc> vdesc{prog.vdesc}, mdesc{prog.mdesc};
  Src<ws::StreamWord> raw{prog.raw};
  Src<ws::PipelineAct> act{prog.act};
  // Every state port is a stream of its own (its own gaps).
  std::vector<Src<ws::StreamUnit>> vunit, munit;
  for (const auto& u : prog.vunits) vunit.push_back({u});
  for (const auto& u : prog.munits) munit.push_back({u});
  auto units_done = [&] {
    for (const auto* ports : {&vunit, &munit})
      for (const auto& s : *ports)
        if (!s.done()) return false;
    return true;
  };
  Result res;
  res.layers.resize(layers.size());
  for (size_t li = 0; li < layers.size(); ++li) {
    LayerResult& R = res.layers[li];
    R.beats = prog.layers[li].beats;
    R.kept = R.beats * uint64_t(I.p.value_lanes);
    R.dense = layers[li].weights();
  }

  uint64_t total_items = cfg.items.size() + raw.items.size() + act.items.size();
  for (const auto* ports : {&prog.vunits, &prog.munits})
    for (const auto& u : *ports) total_items += u.size();
  for (const auto& R : res.layers) total_items += R.beats * 2;
  const double rate = std::max(0.05, std::min(t.valid_rate, 1.0) * std::min(t.ready_rate, 1.0));
  const uint64_t max_cycles = t.max_cycles ? t.max_cycles : uint64_t(20000 + 4.0 * double(total_items) / rate);

  const uint64_t errors_before = I.rtl.assertion_errors();
  std::mt19937_64 rng(t.seed);
  std::uniform_real_distribution<double> u01(0, 1);
  auto chance = [&](double p) { return p >= 1.0 || u01(rng) < p; };
  size_t y_layer = 0, y_row = 0, w_layer = 0;
  uint64_t w_in_layer = 0, last_transfer = I.cyc, start = I.cyc;
  std::vector<bool> started(layers.size(), false);
  if (!layers.empty()) {
    res.layers[0].start_cycle = I.cyc;
    started[0] = true;
  }

  auto offer = [&](auto& s, bool eligible) {
    if (!s.valid && !s.done() && eligible) s.valid = chance(t.valid_rate);
  };
  for (;;) {
    const bool all_in = cfg.done() && vdesc.done() && mdesc.done() && units_done() && raw.done() && act.done();
    const bool complete = y_layer >= layers.size();
    if (complete && all_in) break;
    if (I.cyc - start >= max_cycles) {
      res.timed_out = !I.rtl.out.err;
      break;
    }
    if (I.rtl.out.err && I.cyc - last_transfer >= t.quiet_cycles) break;

    // The serial baseline: layer li's MAC writes wait for the last beat of layer li - 1.
    bool cfg_eligible = true;
    if (t.serial_layers)
      for (size_t li = 1; li < layers.size(); ++li)
        if (cfg.next >= prog.layers[li].mac_start && w_layer < li) cfg_eligible = false;
    offer(cfg, cfg_eligible);
    offer(vdesc, cfg.next >= vdesc.cur().after_cfg);
    offer(mdesc, cfg.next >= mdesc.cur().after_cfg);
    for (auto& s : vunit) offer(s, true);
    for (auto& s : munit) offer(s, true);
    offer(raw, true);
    offer(act, true);
    ws::WeightPipelineInputs in;
    in.cfg_valid = cfg.valid;
    in.cfg_addr = cfg.cur().addr;
    in.cfg_data = cfg.cur().data;
    in.vdesc_valid = vdesc.valid;
    in.vdesc = vdesc.cur().desc;
    for (size_t s = 0; s < vunit.size(); ++s) {
      in.vunit_valid[s] = vunit[s].valid;
      in.vunit_data[s] = vunit[s].cur().data;
      in.vunit_last[s] = vunit[s].cur().last;
    }
    in.raw_valid = raw.valid;
    in.raw_data = raw.cur().data;
    in.raw_last = raw.cur().last;
    in.mdesc_valid = mdesc.valid;
    in.mdesc = mdesc.cur().desc;
    for (size_t s = 0; s < munit.size(); ++s) {
      in.munit_valid[s] = munit[s].valid;
      in.munit_data[s] = munit[s].cur().data;
      in.munit_last[s] = munit[s].cur().last;
    }
    in.act_valid = act.valid;
    in.act_data = act.cur().data;
    in.act_last = act.cur().last;
    in.y_ready = chance(t.ready_rate);

    const ws::WeightPipelineOutputs ro = I.eval(in, res);
    const ws::WeightPipelineOutputs& mo = I.model.out;
    const ws::WeightPipelineProbe pr = I.model.probe();

    // Transfers, as the RTL shows them.
    bool moved = false;
    auto take = [&](auto& s, bool ready) {
      if (s.valid && ready) {
        s.valid = false;
        ++s.next;
        moved = true;
      }
    };
    if (cfg.valid && ro.cfg_ready) ++res.cfg_writes;
    take(cfg, ro.cfg_ready);
    take(vdesc, ro.vdesc_ready);
    take(mdesc, ro.mdesc_ready);
    for (size_t s = 0; s < vunit.size(); ++s) take(vunit[s], ro.vunit_ready[s]);
    for (size_t s = 0; s < munit.size(); ++s) take(munit[s], ro.munit_ready[s]);
    take(raw, ro.raw_ready);
    take(act, ro.act_ready);
    // A layer starts on the cycle after its first configuration item becomes the current one.
    for (size_t li = 1; li < layers.size(); ++li)
      if (!started[li] && cfg.next >= prog.layers[li].cfg_start) {
        started[li] = true;
        res.layers[li].start_cycle = I.cyc + 1;
      }
    if (pr.w_valid && pr.w_ready) ++res.w_beats;
    if (pr.w_valid && pr.w_ready && w_layer < layers.size()) {
      LayerResult& R = res.layers[w_layer];
      if (w_in_layer == 0) R.first_w_cycle = I.cyc;
      R.last_w_cycle = I.cyc;
      if (++w_in_layer == R.beats) {
        ++w_layer;
        w_in_layer = 0;
      }
      moved = true;
    }
    if (ro.y_valid && in.y_ready) {
      ++res.y_transfers;
      if (mo.y_valid && (mo.y_data != ro.y_data || mo.y_last != ro.y_last)) ++res.transfer_mismatches;
      moved = true;
      if (y_layer < layers.size()) {
        LayerResult& R = res.layers[y_layer];
        R.y.push_back(ro.y_data);
        R.last_y_cycle = I.cyc;
        ++y_row;
        if (y_row == size_t(layers[y_layer].rows)) {
          if (!ro.y_last) ++res.transfer_mismatches;  // y_last must close the layer
          ++y_layer;
          y_row = 0;
        }
      }
    }
    if (moved) last_transfer = I.cyc;
    I.tick();
  }
  res.cycles = I.cyc - start;
  res.err = I.rtl.out.err;
  res.err_cause = I.rtl.out.err_cause;
  res.complete = y_layer >= layers.size();
  res.inputs_drained = cfg.done() && vdesc.done() && mdesc.done() && units_done() && raw.done() && act.done();
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  if (!res.inputs_drained || res.err) {
    // Items still offered cannot be withdrawn (AXI-Stream), and the error is sticky: start over.
    I.do_reset();
    res.reset_after = true;
  }
  return res;
}

Result Driver::configure(const std::vector<ws::CfgWrite>& writes) {
  Impl& I = *impl_;
  Result res;
  const uint64_t start = I.cyc, errors_before = I.rtl.assertion_errors();
  constexpr int kSettle = 8;  // a bad table entry reaches the top's err_o seven cycles after its write
  size_t next = 0;
  for (int idle = 0; idle < kSettle && I.cyc - start < 100000;) {
    ws::WeightPipelineInputs in;
    in.cfg_valid = next < writes.size();
    if (in.cfg_valid) {
      in.cfg_addr = writes[next].addr;
      in.cfg_data = writes[next].data;
    }
    const ws::WeightPipelineOutputs& ro = I.eval(in, res);
    if (in.cfg_valid && ro.cfg_ready) ++next, ++res.cfg_writes;
    if (!in.cfg_valid) ++idle;
    I.tick();
  }
  res.cycles = I.cyc - start;
  res.inputs_drained = next == writes.size();
  res.err = I.rtl.out.err;
  res.err_cause = I.rtl.out.err_cause;
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  return res;
}

Result Driver::clear_error(const ws::CfgWrite* write) {
  Impl& I = *impl_;
  Result res;
  const uint64_t errors_before = I.rtl.assertion_errors();
  if (write) {
    // The write enters the configuration slice three cycles before the clear: it reaches the top's
    // slice the cycle after, leaves it the cycle after that, and its cause (registered apart,
    // cfg_err_q) reaches the sticky error on the clearing cycle.
    ws::WeightPipelineInputs in;
    in.cfg_valid = true;
    in.cfg_addr = write->addr;
    in.cfg_data = write->data;
    const ws::WeightPipelineOutputs& ro = I.eval(in, res);
    res.inputs_drained = ro.cfg_ready;
    res.cfg_writes = ro.cfg_ready ? 1 : 0;
    I.tick();
    for (int i = 0; i < 2; ++i) {
      I.eval(ws::WeightPipelineInputs{}, res);
      I.tick();
    }
    res.cycles = 3;
  } else {
    res.inputs_drained = true;
  }
  ws::WeightPipelineInputs in;
  in.err_clear = true;
  I.eval(in, res);
  I.tick();
  I.eval(ws::WeightPipelineInputs{}, res);
  res.cycles += 1;
  res.err = I.rtl.out.err;
  res.err_cause = I.rtl.out.err_cause;
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  return res;
}

}  // namespace wp
