// A Verilated top's adapter (tb::VerilatedPins) and its cycle model driven with the same pins in lock
// step, and the loops every weight-pipeline driver runs on them (wp::Driver: one pipeline,
// wp::PathsDriver: the paths' top). Rtl is constructed from (fst path, rtl params), Model from its
// params; both have `in`, `out`, eval() and tick(), and their `in` has rst_n.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "driver.hpp"

namespace wp {

template <class Rtl, class Model>
struct LockStep {
  using Inputs = decltype(Model::in);
  using Outputs = decltype(Model::out);
  Rtl rtl;
  Model model;
  uint64_t cyc = 0;
  bool fmt_loaded = false;  // the unpacker's format table is in (a reset clears it)

  template <class RtlParams, class ModelParams>
  LockStep(const std::string& fst_path, const RtlParams& rp, const ModelParams& mp) : rtl(fst_path, rp), model(mp) {}

  // One clock with the inputs idle and rst_n low, on both.
  void reset(Inputs idle) {
    idle.rst_n = false;
    rtl.in = model.in = idle;
    rtl.tick();
    model.tick();
    rtl.in.rst_n = model.in.rst_n = true;
    rtl.eval();
    model.eval();
    fmt_loaded = false;
  }

  // Both sides' outputs for `in`, compared into res by compare(rtl out, model out, &why,
  // &res.signals_compared) -> differing signals; the RTL's are returned.
  template <class Compare>
  const Outputs& eval(const Inputs& in, Result& res, Compare compare) {
    rtl.in = model.in = in;
    rtl.eval();
    model.eval();
    std::string why;
    if (compare(rtl.out, model.out, &why, &res.signals_compared)) {
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

  // A run's cycles: until done(), or after an error (err()) until no transfer for quiet_cycles, or
  // until max_cycles (res.timed_out unless in error). step() is one cycle up to the edge (inputs,
  // eval, transfers) and says whether anything moved. Returns the cycles run.
  template <class Done, class Err, class Step>
  uint64_t run_cycles(Result& res, uint64_t max_cycles, uint64_t quiet_cycles, Done done, Err err, Step step) {
    const uint64_t start = cyc;
    uint64_t last_transfer = cyc;
    for (;;) {
      if (done()) break;
      if (cyc - start >= max_cycles) {
        res.timed_out = !err();
        break;
      }
      if (err() && cyc - last_transfer >= quiet_cycles) break;
      if (step()) last_transfer = cyc;
      tick();
    }
    return cyc - start;
  }

  // A run that ends with an error or with items not taken resets both: items still offered cannot
  // be withdrawn (AXI-Stream), and the error is sticky.
  void end_run(Result& res, const Inputs& idle) {
    if (!res.inputs_drained || res.err) {
      reset(idle);
      res.reset_after = true;
    }
  }

  // Configuration writes, each held until taken (offer(in, write) puts one on the pins, taken(out)
  // says it went), then idle cycles for the error flags to settle; never resets.
  template <class Offer, class Taken, class Compare>
  void configure(Result& res, const std::vector<ws::CfgWrite>& writes, const Inputs& idle, Offer offer, Taken taken,
                 Compare compare) {
    const uint64_t start = cyc;
    constexpr int kSettle = 8;  // a bad table entry reaches the top's err_o seven cycles after its write
    size_t next = 0;
    for (int quiet = 0; quiet < kSettle && cyc - start < 100000;) {
      Inputs in = idle;
      const bool valid = next < writes.size();
      if (valid) offer(in, writes[next]);
      if (valid && taken(eval(in, res, compare))) ++next, ++res.cfg_writes;
      if (!valid) eval(in, res, compare), ++quiet;
      tick();
    }
    res.cycles = cyc - start;
    res.inputs_drained = next == writes.size();
  }
};

}  // namespace wp
