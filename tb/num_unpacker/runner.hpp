// Runs jobs through a number unpacker device (dut.hpp) and the cycle model in lock step: the same
// inputs, the same random valid gaps on the symbol, raw-word and configuration streams and the same
// backpressure; every output signal compared every cycle, every output beat checked against the
// functional model through a scoreboard that must end empty.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>

#include "dut.hpp"
#include "stimulus.hpp"
#include "tb.hpp"

namespace tbnum {

// When each source offers its next item and when the sink is ready (tb::Pattern: always, random
// gaps, bursts).
struct Traffic {
  tb::Pattern cfg, sym, raw, ready;
  static Traffic always() { return {tb::Pattern::always(), tb::Pattern::always(), tb::Pattern::always(), tb::Pattern::always()}; }
  static Traffic pick(tb::Rng& r) { return {tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r)}; }
  std::string describe() const {
    return "cfg " + cfg.describe() + " sym " + sym.describe() + " raw " + raw.describe() + " ready " + ready.describe();
  }
};

struct Stats {
  uint64_t cycles = 0, values = 0, value_mismatches = 0, cycle_mismatches = 0, beats_out = 0;
  uint64_t assertion_errors = 0;  // the RTL's failed assertions (0 for the cycle model)
  bool hung = false;
  bool err = false;
  uint8_t cause = 0;
  Stats& operator+=(const Stats& o) {
    cycles += o.cycles, values += o.values, value_mismatches += o.value_mismatches;
    cycle_mismatches += o.cycle_mismatches, beats_out += o.beats_out, hung = hung || o.hung;
    assertion_errors += o.assertion_errors;
    return *this;
  }
};

inline std::string describe(const ws::NumUnpackerOutputs& o) {
  char b[160];
  std::snprintf(b, sizeof b, "cfg_rdy %d sym_rdy %d raw_rdy %d out_v %d cnt %d last %d err %d cause %d data0 %08x",
                o.cfg_ready, o.sym_ready, o.raw_ready, o.out_valid, o.out_count, o.out_last, o.err, int(o.err_cause),
                unsigned(o.out_data[0]));
  return b;
}

inline bool same(const ws::NumUnpackerOutputs& a, const ws::NumUnpackerOutputs& b, int k) {
  if (a.cfg_ready != b.cfg_ready || a.sym_ready != b.sym_ready || a.raw_ready != b.raw_ready ||
      a.out_valid != b.out_valid || a.err != b.err || a.err_cause != b.err_cause)
    return false;
  if (!a.out_valid) return true;  // data registers are not reset: only compared when valid
  if (a.out_count != b.out_count || a.out_last != b.out_last) return false;
  for (int j = 0; j < k; ++j)
    if (a.out_data[size_t(j)] != b.out_data[size_t(j)]) return false;
  return true;
}

inline std::string test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

// A device R and its cycle model (R::Model), out of reset, in lock step for as many jobs as the test runs.
template <class R>
class Lockstep {
 public:
  static constexpr int K = R::kLanes;
  Lockstep() : dut_(tb::waves_path(test_name())), model_(K) {}

  // One job, until every expected beat has come out and every input has been taken, then 8 idle
  // cycles; the error flag at the end is in the result.
  Stats run(const Job& job, Traffic t, tb::Rng& rng) {
    Stats st;
    const uint64_t errors_before = dut_.assertion_errors();  // a device may run several jobs
    tb::Scoreboard<OutBeat> expect;
    for (const OutBeat& b : job.expect) expect.push(b);
    size_t ci = 0, bi = 0, wi = 0;
    bool cv = false, sv = false, rv = false;
    uint64_t since_progress = 0;
    while (!expect.empty() || wi < job.words.size() || ci < job.cfg.size()) {
      // Sources: an idle one may offer its next item; an offered one holds it until taken. Symbols
      // follow the table load (a beat would otherwise meet a half-written table).
      if (!cv && ci < job.cfg.size()) cv = t.cfg.next(rng);
      if (!sv && bi < job.beats.size() && ci == job.cfg.size()) sv = t.sym.next(rng);
      if (!rv && wi < job.words.size()) rv = t.raw.next(rng);
      ws::NumUnpackerInputs in;
      in.cfg_valid = cv;
      // Junk of the ports' widths while not valid.
      in.cfg_addr = cv ? job.cfg[ci].addr : uint32_t(rng.next() & ((1u << ws::pkg::UNP_CFG_ADDR_BITS) - 1));
      in.cfg_data = cv ? job.cfg[ci].data : uint32_t(rng.next() & ((1u << ws::pkg::UNP_ENTRY_BITS) - 1));
      in.sym_valid = sv;
      if (sv) {
        in.sym = job.beats[bi].sym;
        in.sym_count = job.beats[bi].count;
        in.sym_last = job.beats[bi].last;
      } else {
        for (auto& s : in.sym) s = uint8_t(rng.next());
        in.sym_count = int(rng.range(0, K));
        in.sym_last = rng.chance(0.5);
      }
      in.raw_valid = rv;
      const int rbits = ws::pkg::raw_word_bits(K);
      in.raw_data = rv ? job.words[wi].data : rng.next() & (rbits < 64 ? (uint64_t(1) << rbits) - 1 : ~uint64_t(0));
      in.raw_last = rv ? job.words[wi].last : rng.chance(0.5);
      in.out_ready = t.ready.next(rng);

      const ws::NumUnpackerOutputs ro = eval(in, st, t.describe());
      bool progress = false;
      if (ro.out_valid && in.out_ready) {
        if (expect.empty()) {
          if (st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " extra output beat";
        } else {
          const OutBeat e = expect.pop();
          if (ro.out_last != e.last || (e.check && ro.out_count != e.count)) {
            if (st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " beat framing differs";
          }
          for (int j = 0; e.check && j < e.count; ++j) {
            ++st.values;
            if (ro.out_data[size_t(j)] != e.data[size_t(j)] && st.value_mismatches++ < 5)
              ADD_FAILURE() << tb::seed_text() << " lane " << j << ": rtl " << std::hex << ro.out_data[size_t(j)]
                            << " expected " << e.data[size_t(j)];
          }
        }
        ++st.beats_out;
        progress = true;
      }
      if (cv && ro.cfg_ready) cv = false, ++ci, progress = true;
      if (sv && ro.sym_ready) sv = false, ++bi, progress = true;
      if (rv && ro.raw_ready) rv = false, ++wi, progress = true;
      tick();
      ++st.cycles;
      since_progress = progress ? 0 : since_progress + 1;
      if (since_progress > 5000) {
        st.hung = true;
        ADD_FAILURE() << tb::seed_text() << " no progress for 5000 cycles: beats in " << bi << "/" << job.beats.size()
                      << ", out " << st.beats_out << ", words " << wi << "/" << job.words.size() << ", cfg " << ci
                      << "/" << job.cfg.size() << " (" << t.describe() << ")";
        break;
      }
    }
    // A few idle cycles: nothing more may come out.
    for (int i = 0; i < 8; ++i) {
      ws::NumUnpackerInputs in;
      in.out_ready = true;
      const ws::NumUnpackerOutputs ro = eval(in, st, "idle");
      if (ro.out_valid && st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " output beat after the last one";
      st.err = ro.err;
      st.cause = ro.err_cause;
      tick();
    }
    EXPECT_TRUE(expect.empty()) << tb::seed_text() << ": " << expect.size() << " beats never came out";
    st.assertion_errors = dut_.assertion_errors() - errors_before;
    return st;
  }

  // One cycle of err_clear, with a configuration write offered on it (when `write`); returns the
  // outputs after the edge. A write offered here is taken: the pipeline is empty between jobs.
  ws::NumUnpackerOutputs clear_error(Stats& st, const ws::CfgWrite* write = nullptr) {
    ws::NumUnpackerInputs in;
    in.err_clear = true;
    if (write) {
      in.cfg_valid = true;
      in.cfg_addr = write->addr;
      in.cfg_data = write->data;
    }
    const ws::NumUnpackerOutputs ro = eval(in, st, "err_clear");
    EXPECT_TRUE(!write || ro.cfg_ready) << "the write on the clearing cycle was not taken";
    tick();
    return eval(ws::NumUnpackerInputs{}, st, "after err_clear");
  }

 private:
  // Both devices' outputs for `in`; a difference is counted and reported.
  ws::NumUnpackerOutputs eval(const ws::NumUnpackerInputs& in, Stats& st, const std::string& when) {
    dut_.in = model_.in = in;
    dut_.eval();
    model_.eval();
    if (!same(dut_.out, model_.out, K) && st.cycle_mismatches++ < 5)
      ADD_FAILURE() << tb::seed_text() << " cycle " << st.cycles << " (" << when << ")\n  rtl   " << describe(dut_.out)
                    << "\n  model " << describe(model_.out);
    return dut_.out;
  }
  void tick() {
    dut_.tick();
    model_.tick();
  }

  R dut_;
  typename R::Model model_;
};

// One job on a fresh device.
template <class R>
Stats run(const Job& job, Traffic t, tb::Rng& rng) {
  Lockstep<R> l;
  return l.run(job, t, rng);
}

// Full speed, then three random traffic mixes.
template <class R>
Stats run_all_traffic(const Job& job, tb::Rng& rng) {
  Stats total;
  for (int i = 0; i < 4; ++i) {
    const Stats s = run<R>(job, i == 0 ? Traffic::always() : Traffic::pick(rng), rng);
    EXPECT_EQ(s.err, job.expect_cause != ws::pkg::UNP_ERR_NONE) << tb::seed_text() << " cause " << int(s.cause);
    EXPECT_EQ(s.cause, job.expect_cause) << tb::seed_text();
    EXPECT_EQ(s.beats_out, job.beats.size()) << tb::seed_text();
    total += s;
  }
  return total;
}

inline void report(const char* what, const Stats& s) {
  std::printf("%s: cycles %llu, values checked %llu, value mismatches %llu, cycle mismatches %llu, assertion errors %llu\n",
              what, (unsigned long long)s.cycles, (unsigned long long)s.values,
              (unsigned long long)s.value_mismatches, (unsigned long long)s.cycle_mismatches,
              (unsigned long long)s.assertion_errors);
  EXPECT_EQ(s.value_mismatches, 0u);
  EXPECT_EQ(s.cycle_mismatches, 0u);
  EXPECT_EQ(s.assertion_errors, 0u) << tb::seed_text() << ": the RTL's assertions failed";
  EXPECT_FALSE(s.hung);
}

}  // namespace tbnum
