// Bench of ws_skid_buffer (Width 40): a source offers numbered words with random gaps (holding each
// until it is taken), a sink takes them with random backpressure. Every cycle the RTL's in_ready,
// out_valid and out_data must equal the cycle model's (model/hw/skid_buffer_model.hpp), and the words
// that leave must be the words that entered, each once, in order. Also: full throughput with no gaps.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <deque>

#include "Vskid_buffer.h"
#include "hw/skid_buffer_model.hpp"
#include "tb.hpp"
#include "verilated_dut.hpp"

namespace {

constexpr uint64_t kMask = (uint64_t(1) << 40) - 1;

struct Totals {
  uint64_t cycles = 0, in_words = 0, out_words = 0, cycle_mismatches = 0, order_mismatches = 0;
  uint64_t assertion_errors = 0;
  size_t left_in_scoreboard = 0;
};

// One run of `cycles` cycles, then a drain with the sink always ready.
Totals run(const std::string& name, tb::Rng& rng, tb::Pattern src, tb::Pattern sink, uint64_t cycles) {
  tb::VerilatedDut<Vskid_buffer> dut(tb::waves_path(name));
  ws::SkidBufferModel<uint64_t> model;
  dut.top().in_valid_i = 0;
  dut.top().out_ready_i = 0;
  dut.reset();
  model.reset();
  Totals t;
  std::deque<uint64_t> expected;  // words taken in, not yet out
  bool offering = false;
  uint64_t word = 0;
  for (uint64_t c = 0;; ++c) {
    const bool draining = c >= cycles;
    if (draining && expected.empty() && !offering) break;
    if (c > cycles + 100) break;  // a lost word: the scoreboard below reports it
    if (!offering && !draining && src.next(rng)) {
      offering = true;
      word = rng.next() & kMask;
    }
    const bool ready = draining || sink.next(rng);
    auto& top = dut.top();
    top.in_valid_i = offering;
    top.in_data_i = word;
    top.out_ready_i = ready;
    dut.eval();
    const bool mismatch = bool(top.in_ready_o) != model.in_ready() ||
                          bool(top.out_valid_o) != model.out_valid() ||
                          (model.out_valid() && uint64_t(top.out_data_o) != model.out());
    t.cycle_mismatches += mismatch;
    if (top.out_valid_o && ready) {
      ++t.out_words;
      if (expected.empty() || expected.front() != uint64_t(top.out_data_o)) {
        ++t.order_mismatches;
      } else {
        expected.pop_front();
      }
    }
    if (offering && top.in_ready_o) {
      ++t.in_words;
      expected.push_back(word);
    }
    const bool in_fire = offering && top.in_ready_o;
    model.tick(offering, word, ready);
    dut.tick();
    if (in_fire) offering = false;
    ++t.cycles;
  }
  t.left_in_scoreboard = expected.size();
  t.assertion_errors = dut.assertion_errors();
  return t;
}

void expect_clean(const Totals& t, const std::string& what) {
  std::printf("%s: %llu cycles, %llu words in, %llu out, cycle mismatches %llu, order mismatches %llu, "
              "left %zu, assertion errors %llu\n",
              what.c_str(), (unsigned long long)t.cycles, (unsigned long long)t.in_words,
              (unsigned long long)t.out_words, (unsigned long long)t.cycle_mismatches,
              (unsigned long long)t.order_mismatches, t.left_in_scoreboard,
              (unsigned long long)t.assertion_errors);
  EXPECT_EQ(t.cycle_mismatches, 0u) << what << " " << tb::seed_text();
  EXPECT_EQ(t.order_mismatches, 0u) << what << " " << tb::seed_text();
  EXPECT_EQ(t.left_in_scoreboard, 0u) << what << " " << tb::seed_text();
  EXPECT_EQ(t.in_words, t.out_words) << what << " " << tb::seed_text();
  EXPECT_EQ(t.assertion_errors, 0u) << what << " " << tb::seed_text();
}

TEST(SkidBuffer, RandomValidAndReady) {
  tb::Rng rng(tb::seed());
  const int runs = int(tb::depth(40, 1000));
  uint64_t cycles = 0, words = 0, bad_runs = 0;
  for (int i = 0; i < runs; ++i) {
    const tb::Pattern src = tb::Pattern::pick(rng), sink = tb::Pattern::pick(rng);
    const Totals t = run("SkidBuffer.RandomValidAndReady", rng, src, sink, rng.range(50, 2000));
    expect_clean(t, "run " + std::to_string(i) + " src " + src.describe() + " sink " + sink.describe());
    cycles += t.cycles;
    words += t.out_words;
    bad_runs += t.cycle_mismatches + t.order_mismatches + t.left_in_scoreboard + t.assertion_errors != 0;
  }
  std::printf("total: %d runs, %llu cycles, %llu words, %llu runs with a mismatch\n", runs,
              (unsigned long long)cycles, (unsigned long long)words, (unsigned long long)bad_runs);
}

// No gaps, no backpressure: one word per cycle in and out (the first out one cycle after the first in).
TEST(SkidBuffer, FullThroughput) {
  tb::Rng rng(tb::seed());
  const uint64_t cycles = 1000;
  const Totals t = run("SkidBuffer.FullThroughput", rng, tb::Pattern::always(), tb::Pattern::always(), cycles);
  expect_clean(t, "full speed");
  EXPECT_EQ(t.in_words, cycles);
  EXPECT_EQ(t.cycles, cycles + 1);
}

}  // namespace
