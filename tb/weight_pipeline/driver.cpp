// Driver of ws_weight_pipeline (see driver.hpp): the stream program on the Verilated top and the
// cycle model in lock step.
#include "driver.hpp"

#include <array>
#include <stdexcept>

#include "Vweight_pipeline.h"
#include "lock_step.hpp"
#include "path_feed.hpp"
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

}  // namespace

struct Driver::Impl : LockStep<PipelineRtl, ws::WeightPipelineModel> {
  ws::WeightPipelineParams p;

  Impl(const std::string& fst_path, const ws::WeightPipelineParams& params)
      : LockStep(fst_path, checked(params), params), p(params) {
    do_reset();
  }
  static const ws::WeightPipelineParams& checked(const ws::WeightPipelineParams& params) {
    const ws::WeightPipelineParams d = built_params();
    if (!same_build(params, d))
      throw std::invalid_argument("wp::Driver: the Verilated top is built with " + built_text(d));
    return params;
  }

  void do_reset() { reset(ws::WeightPipelineInputs{}); }
  // Both sides' outputs for `in`, every output compared into res; the RTL's are returned.
  const ws::WeightPipelineOutputs& eval(const ws::WeightPipelineInputs& in, Result& res) {
    return LockStep::eval(in, res, [&](const auto& r, const auto& m, std::string* why, uint64_t* compared) {
      return compare_outputs(p, r, m, true, "", why, compared);
    });
  }
};

Driver::Driver(const std::string& fst_path, const ws::WeightPipelineParams& params)
    : impl_(new Impl(fst_path, params)) {}
Driver::~Driver() = default;
void Driver::reset() { impl_->do_reset(); }
const ws::WeightPipelineParams& Driver::params() const { return impl_->p; }
uint64_t Driver::cycle() const { return impl_->cyc; }

Result Driver::run(const std::vector<ws::PipelineLayer>& layers, const Traffic& t) {
  Impl& I = *impl_;
  PathFeed feed(layers, I.p, !I.fmt_loaded, t, I.cyc);
  I.fmt_loaded = true;
  Result res;
  const uint64_t errors_before = I.rtl.assertion_errors();
  TrafficDraw draw(t);
  res.cycles = I.run_cycles(
      res, cycle_bound(feed.items(), t), t.quiet_cycles, [&] { return feed.complete() && feed.all_in(); },
      [&] { return I.rtl.out.err; },
      [&] {
        feed.offer(draw);
        ws::WeightPipelineInputs in;
        feed.drive(in);
        in.y_ready = draw.y_ready();
        const ws::WeightPipelineOutputs ro = I.eval(in, res);
        // Transfers, as the RTL shows them.
        const bool moved = feed.take(ro, I.cyc);
        return feed.observe(I.model.probe(), ro, I.model.out, in.y_ready, I.cyc) || moved;
      });
  feed.report(res);
  res.err = I.rtl.out.err;
  res.err_cause = I.rtl.out.err_cause;
  res.complete = feed.complete();
  res.inputs_drained = feed.all_in();
  res.assertion_errors = I.rtl.assertion_errors() - errors_before;
  I.end_run(res, ws::WeightPipelineInputs{});
  return res;
}

Result Driver::configure(const std::vector<ws::CfgWrite>& writes) {
  Impl& I = *impl_;
  Result res;
  const uint64_t errors_before = I.rtl.assertion_errors();
  I.configure(
      res, writes, ws::WeightPipelineInputs{},
      [](ws::WeightPipelineInputs& in, const ws::CfgWrite& w) {
        in.cfg_valid = true;
        in.cfg_addr = w.addr;
        in.cfg_data = w.data;
      },
      [](const ws::WeightPipelineOutputs& o) { return o.cfg_ready; },
      [&](const auto& r, const auto& m, std::string* why, uint64_t* compared) {
        return compare_outputs(I.p, r, m, true, "", why, compared);
      });
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
