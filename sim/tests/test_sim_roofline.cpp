// The simulated steady-state tokens/s agrees with the analytical roofline within 2% across N and
// the three modes, on the real model with the default parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "harness.hpp"

namespace wsim::test {
namespace {

class SimRoofline : public ::testing::TestWithParam<std::tuple<Mode, int>> {};

TEST_P(SimRoofline, SimulationAgreesWithinTwoPercent) {
  const auto [mode, n] = GetParam();
  if (!long_depth() && n != 1 && n != 8 && n != 32) GTEST_SKIP() << "WS_DEPTH=long runs every N";
  const Report r = simulate(smoke_config(mode, n));
  const double ratio = r.tokens_per_s / r.roof.tokens_per_s;
  std::printf("%s N=%d: simulated %.1f tokens/s, roofline %.1f (%s-bound), ratio %.4f\n", mode_name(mode), n,
              r.tokens_per_s, r.roof.tokens_per_s, r.roof.bound.c_str(), ratio);
  EXPECT_LT(std::fabs(ratio - 1), 0.02);
  EXPECT_EQ(r.errors(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Sweep, SimRoofline,
                         ::testing::Combine(::testing::Values(Mode::Raw, Mode::Compressed, Mode::Sparse),
                                            ::testing::Values(1, 2, 4, 8, 16, 24, 32)),
                         [](const auto& info) {
                           return std::string(mode_name(std::get<0>(info.param))) + "_N" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace wsim::test
