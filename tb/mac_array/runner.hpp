// Runs jobs through a MAC array implementation, cycle by cycle, with random valid gaps and ready
// backpressure. The setup source sends each job's configuration writes, then its activations; the
// weight source sends the jobs' weight beats in order, independently, so the next job's activations
// load while the current one streams (the arrays' double buffer). A reference cycle model runs in
// lock step on the same inputs: for the RTL every output is compared on every cycle. Every output
// transfer is checked against the functional model's results through a scoreboard that must end
// empty.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "dut.hpp"
#include "stimulus.hpp"
#include "tb.hpp"

namespace tbmac {

// Valid gaps (each source runs its own copy of `valid`) and backpressure (`ready`).
struct Traffic {
  tb::Pattern valid = tb::Pattern::always();
  tb::Pattern ready = tb::Pattern::always();
  static Traffic random(double p_valid, double p_ready) {
    return {tb::Pattern(tb::Pattern::Random, p_valid), tb::Pattern(tb::Pattern::Random, p_ready)};
  }
  static Traffic pick(tb::Rng& r) { return {tb::Pattern::pick(r), tb::Pattern::pick(r)}; }
  std::string describe() const { return "valid " + valid.describe() + ", ready " + ready.describe(); }
};

struct RunStats {
  uint64_t cycles = 0;
  uint64_t values = 0;            // output values checked against the functional model
  uint64_t value_mismatches = 0;
  uint64_t cycle_mismatches = 0;  // cycles on which an RTL output differs from the cycle model
  uint64_t lockstep_cycles = 0;   // cycles on which they were compared
  uint64_t outputs = 0;           // output transfers
  uint64_t first_w = 0, last_out = 0;  // cycle of the first weight transfer, of the last output transfer
  bool finished = false;
  bool assertion_failed = false;
  ws::MacArrayOutputs final_out;  // the device's outputs once everything is done

  void add(const RunStats& o) {
    cycles += o.cycles;
    values += o.values;
    value_mismatches += o.value_mismatches;
    cycle_mismatches += o.cycle_mismatches;
    lockstep_cycles += o.lockstep_cycles;
    outputs += o.outputs;
    assertion_failed = assertion_failed || o.assertion_failed;
  }
  uint64_t mismatches() const { return value_mismatches + cycle_mismatches; }
};

inline std::string hex_bits(const Bits& v) {
  std::string s;
  char buf[16];
  for (size_t i = v.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, "%08x%s", v[i], i ? "_" : "");
    s += buf;
  }
  return s;
}

inline std::string show(const ws::MacArrayOutputs& o) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "cfg_ready=%d act_ready=%d w_ready=%d out_valid=%d out_last=%d err=%d cause=%d data=",
                o.cfg_ready, o.act_ready, o.w_ready, o.out_valid, o.out_last, o.err, o.err_cause);
  return buf + hex_bits(o.out_data);
}

inline bool same_outputs(const ws::MacArrayOutputs& a, const ws::MacArrayOutputs& b) {
  return a.cfg_ready == b.cfg_ready && a.act_ready == b.act_ready && a.w_ready == b.w_ready &&
         a.out_valid == b.out_valid && a.err == b.err && a.err_cause == b.err_cause &&
         (!a.out_valid || (a.out_last == b.out_last && a.out_data == b.out_data));
}

// Runs jobs back to back on a fresh Dut (reset at construction).
template <class Dut>
RunStats run_jobs(const std::vector<Job>& jobs, const Traffic& t, uint64_t seed, const std::string& waves) {
  const MacArrayParams p = Dut::params();
  Dut dut(waves);
  ws::MacArrayModel ref(p);
  tb::Rng rng(seed);
  tb::Pattern cfg_pat = t.valid, act_pat = t.valid, w_pat = t.valid, ready_pat = t.ready;
  RunStats st;

  struct Expect {
    Bits data;
    bool last;
  };
  tb::Scoreboard<Expect> sb;
  for (const Job& j : jobs)
    if (j.check_values)
      for (size_t i = 0; i < j.expect.size(); ++i) sb.push({j.expect[i], i + 1 == j.expect.size()});

  // The setup source: job s's configuration writes (cfg_i), then its activations (act_i). The weight
  // source: job w's beats (w_i).
  size_t s = 0, cfg_i = 0, act_i = 0, w = 0, w_i = 0;
  bool cfg_on = false, act_on = false, w_on = false, cleared = false;
  uint64_t budget = 4000 + uint64_t(p.init_cycles());
  for (const Job& j : jobs) budget += 60 * (j.beats.size() + j.cfg.size() + j.x.size() + 60);
  budget *= 12;  // generous for the slowest patterns; a hang still ends the run

  for (uint64_t cyc = 0; cyc < budget; ++cyc) {
    ws::MacArrayInputs in;
    in.w_data.assign(size_t((p.weight_bits() + 31) / 32), 0);
    if (s < jobs.size()) {
      const Job& J = jobs[s];
      if (cfg_i < J.cfg.size()) {
        if (cfg_on || cfg_pat.next(rng)) {
          cfg_on = true;
          in.cfg_valid = true;
          in.cfg_addr = J.cfg[cfg_i].first;
          in.cfg_data = J.cfg[cfg_i].second;
        }
      } else if (act_i < J.x.size() && (act_on || act_pat.next(rng))) {
        act_on = true;
        in.act_valid = true;
        in.act_data = J.x[act_i];
        in.act_last = act_i + 1 == J.x.size();
      }
    }
    if (w < jobs.size()) {  // taken once the job's activations are in (the array keeps the order)
      const Job& J = jobs[w];
      if (J.clear_error && !cleared && ref.out.err) {  // once the error shows (2 cycles after its cause)
        in.err_clear = true;
        cleared = true;
      }
      if (w_i < J.beats.size() && (w_on || w_pat.next(rng))) {
        w_on = true;
        in.w_valid = true;
        in.w_data = J.beats[w_i];
        in.w_last = J.w_last_at >= 0 ? int(w_i) == J.w_last_at : w_i + 1 == J.beats.size();
      }
    }
    in.out_ready = ready_pat.next(rng);

    dut.in = in;
    dut.eval();
    ref.in = in;
    ref.eval();
    const ws::MacArrayOutputs &o = dut.out, &m = ref.out;
    if (Dut::kRtl) {
      ++st.lockstep_cycles;
      if (!same_outputs(o, m) && ++st.cycle_mismatches <= 5)
        ADD_FAILURE() << Dut::name() << " cycle " << cyc << " " << tb::seed_text() << "\n  rtl:   " << show(o)
                      << "\n  model: " << show(m);
    }

    // Transfers as the Dut sees them.
    if (o.out_valid && in.out_ready) {
      ++st.outputs;
      st.last_out = cyc;
      if (!sb.empty()) {
        const Expect e = sb.pop();
        st.values += size_t(p.rows);
        for (int r = 0; r < p.rows; ++r)
          if (o.out_data[size_t(r)] != e.data[size_t(r)] && ++st.value_mismatches <= 10)
            ADD_FAILURE() << Dut::name() << " output " << st.outputs << " row " << r << ": 0x" << std::hex
                          << o.out_data[size_t(r)] << ", functional model 0x" << e.data[size_t(r)] << std::dec
                          << " (" << tb::seed_text() << ")";
        if (o.out_last != e.last && ++st.value_mismatches <= 10)
          ADD_FAILURE() << Dut::name() << " output " << st.outputs << ": out_last " << o.out_last << ", expected "
                        << e.last;
      }
    }
    if (in.cfg_valid && o.cfg_ready) {
      ++cfg_i;
      cfg_on = false;
    }
    if (in.act_valid && o.act_ready) {
      ++act_i;
      act_on = false;
    }
    if (in.w_valid && o.w_ready) {
      if (st.first_w == 0 && w == 0 && w_i == 0) st.first_w = cyc;
      ++w_i;
      w_on = false;
    }
    dut.tick();
    ref.tick();
    st.cycles = cyc + 1;

    if (s < jobs.size() && cfg_i == jobs[s].cfg.size() && act_i == jobs[s].x.size()) {  // next setup
      ++s;
      cfg_i = act_i = 0;
    }
    if (w < jobs.size() && w_i == jobs[w].beats.size()) {  // next weights
      ++w;
      w_i = 0;
      cleared = false;
    }
    // Done: every job sent, the scoreboard empty and the array idle.
    if (s == jobs.size() && w == jobs.size() && sb.empty() && ref.idle()) {
      st.finished = true;
      st.final_out = dut.out;
      break;
    }
  }
  st.assertion_failed = dut.assertion_failed();
  EXPECT_TRUE(st.finished) << Dut::name() << ": no finish within " << budget << " cycles (hang?), " << sb.size()
                           << " outputs outstanding, " << tb::seed_text();
  EXPECT_TRUE(sb.empty());
  EXPECT_FALSE(st.assertion_failed) << Dut::name() << ": an RTL assertion failed (" << tb::seed_text() << ")";
  return st;
}

}  // namespace tbmac
