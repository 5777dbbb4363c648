// The lock step of both DiJiang benches: a Verilated unit and its cycle model driven with the same
// inputs, every pin compared on every cycle (ready, valid, error cause; data and last where valid),
// every output transfer checked against the functional model's expected values, then a drain with
// nothing offered that must stay silent. The units share their handshake pins (cfg, in, out, err);
// an Op is one configuration write or one element, whose payload Op::apply(in) sets.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tb.hpp"

namespace tbdij {

inline std::string test_name() {
  const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(t->test_suite_name()) + "." + t->name();
}

struct Stats {
  uint64_t cycles = 0, transfers = 0, mismatches = 0;
  Stats& operator+=(const Stats& o) {
    cycles += o.cycles;
    transfers += o.transfers;
    mismatches += o.mismatches;
    return *this;
  }
};

inline void report(const std::string& what, const Stats& s) {
  std::printf("[ dijiang ] %s: %llu cycles, %llu output transfers, %llu mismatches (%s)\n", what.c_str(),
              (unsigned long long)s.cycles, (unsigned long long)s.transfers, (unsigned long long)s.mismatches,
              tb::seed_text().c_str());
}

// R: the Verilated adapter, M: the cycle model (both with `in`, `out`, eval(), tick()). Random valid
// gaps and ready backpressure (tb::Pattern). `causes` collects the RTL's error cause when it changes.
template <class R, class M, class Op>
Stats run_lockstep(R& rtl, M& model, const std::vector<Op>& ops, std::deque<uint64_t> expect, tb::Rng& rng,
                   std::vector<uint8_t>* causes = nullptr) {
  tb::Pattern src = tb::Pattern::pick(rng), sink = tb::Pattern::pick(rng);
  Stats st;
  size_t k = 0;
  const uint64_t drain = uint64_t(model.busy_cycles() + 2 * model.head_size() + 16);
  uint64_t quiet = 0;
  uint8_t last_cause = 0;
  auto mismatch = [&](const std::string& what) {
    if (st.mismatches++ < 8)
      std::printf("  mismatch at cycle %llu: %s (%s)\n", (unsigned long long)st.cycles, what.c_str(),
                  tb::seed_text().c_str());
  };
  while (quiet < drain && st.cycles < 50'000'000) {
    decltype(rtl.in) in;
    const bool offer = k < ops.size() && src.next(rng);
    if (offer) {
      const Op& o = ops[k];
      in.cfg_valid = o.cfg;
      in.cfg_addr = o.addr;
      in.cfg_data = o.data;
      in.in_valid = !o.cfg;
      in.in_last = o.last;
      o.apply(in);
    }
    in.out_ready = k < ops.size() || !expect.empty() ? sink.next(rng) : true;
    rtl.in = in;
    model.in = in;
    rtl.eval();
    model.eval();
    const auto &a = rtl.out, &b = model.out;
    if (a.cfg_ready != b.cfg_ready || a.in_ready != b.in_ready || a.out_valid != b.out_valid || a.err != b.err ||
        a.err_cause != b.err_cause)
      mismatch("handshake/error pins: rtl cfg_ready " + std::to_string(a.cfg_ready) + " in_ready " +
               std::to_string(a.in_ready) + " out_valid " + std::to_string(a.out_valid) + " cause " +
               std::to_string(a.err_cause) + ", model " + std::to_string(b.cfg_ready) + " " +
               std::to_string(b.in_ready) + " " + std::to_string(b.out_valid) + " " + std::to_string(b.err_cause));
    if (a.out_valid && b.out_valid && (a.out_data != b.out_data || a.out_last != b.out_last))
      mismatch("out data: rtl " + std::to_string(a.out_data) + ", cycle model " + std::to_string(b.out_data));
    if (a.out_valid && in.out_ready) {
      ++st.transfers;
      if (expect.empty()) {
        mismatch("an output transfer that no input asks for");
      } else {
        if (uint64_t(a.out_data) != expect.front())
          mismatch("out data " + std::to_string(a.out_data) + ", functional model " + std::to_string(expect.front()));
        expect.pop_front();
      }
    }
    if (causes && a.err_cause != last_cause) causes->push_back(last_cause = uint8_t(a.err_cause));
    const bool took = offer && (ops[k].cfg ? a.cfg_ready : a.in_ready);
    rtl.tick();
    model.tick();
    ++st.cycles;
    if (took) ++k;
    quiet = k == ops.size() && expect.empty() && !a.out_valid ? quiet + 1 : 0;
  }
  if (!expect.empty()) mismatch(std::to_string(expect.size()) + " expected outputs never came");
  if (rtl.assertion_failed()) mismatch("an RTL assertion failed");
  return st;
}

}  // namespace tbdij
