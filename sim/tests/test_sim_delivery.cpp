// The broadcast: every processor receives every weight exactly once and in order (each processor
// checks chunk order, value count and CRC-32 against the stream), with random backpressure.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace wsim::test {
namespace {

class SimDelivery : public ::testing::TestWithParam<Mode> {};

TEST_P(SimDelivery, EveryProcessorGetsEveryWeightOnceInOrderUnderBackpressure) {
  Config c = smoke_config(GetParam(), long_depth() ? 8 : 3);
  c.tokens = long_depth() ? 4 : 2;
  c.dram_gbps = 50;  // the processors, not DRAM, set the pace: backpressure reaches the bus
  c.stall_prob = 0.3;
  c.stall_max = 24;
  c.fifo_beats = 4;
  c.decoders = 2;
  const Report r = simulate(c);
  uint64_t stalls = 0;
  for (size_t i = 0; i < r.processors.size(); ++i) {
    const ProcessorStats& p = r.processors[i];
    EXPECT_EQ(p.errors, 0u) << "processor " << i << ": " << p.first_error;
    EXPECT_EQ(p.chunks, r.chunks * uint64_t(c.tokens)) << "processor " << i;
    EXPECT_EQ(p.values, r.stream_values * uint64_t(c.tokens)) << "processor " << i;
    EXPECT_EQ(p.dense_values, r.dense_values * uint64_t(c.tokens)) << "processor " << i;
    EXPECT_EQ(p.pass_end_s.size(), size_t(c.tokens));
    stalls += p.stall_cycles;
  }
  EXPECT_GT(stalls, 0u);            // the backpressure happened ...
  EXPECT_GT(r.bus_full_cycles, 0u); // ... and reached the bus
}

INSTANTIATE_TEST_SUITE_P(Modes, SimDelivery, ::testing::Values(Mode::Raw, Mode::Compressed, Mode::Sparse),
                         [](const auto& info) { return std::string(mode_name(info.param)); });

// The checks can fail: one flipped bit on the way to processor 0 is caught, and only there.
TEST(SimDeliveryCheck, ACorruptedBeatIsCaught) {
  Config c = smoke_config(Mode::Compressed, 2);
  c.tokens = 1;
  c.fault_beat = 1000;
  const Report r = simulate(c);
  EXPECT_EQ(r.processors[0].errors, 1u);
  EXPECT_NE(r.processors[0].first_error.find("checksum mismatch"), std::string::npos) << r.processors[0].first_error;
  EXPECT_EQ(r.processors[1].errors, 0u);
}

// In a 2:4 chunk the flipped bit comes with a flipped position: the value checksum and the metadata
// check each catch theirs.
TEST(SimDeliveryCheck, ACorruptedTwoFourBeatIsCaughtTwice) {
  Config c = smoke_config(Mode::Sparse, 2);
  c.tokens = 1;
  const Workload w = load_workload(c);
  int64_t beat = 0;  // the first beat of the first 2:4 chunk
  for (size_t i = 0; !w.chunks[i].sparse; ++i)
    beat += int64_t((w.chunks[i].values + uint32_t(c.bus_values) - 1) / uint32_t(c.bus_values));
  c.fault_beat = beat;
  const Report r = simulate(c);
  EXPECT_EQ(r.processors[0].errors, 2u) << r.processors[0].first_error;
  EXPECT_EQ(r.processors[1].errors, 0u);
}

}  // namespace
}  // namespace wsim::test
