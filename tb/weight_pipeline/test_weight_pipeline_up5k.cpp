// Bench of ws_weight_pipeline's small configuration (docs/weight_pipeline.md, "Small configuration:
// iCE40 UP5K"): ValueLanes 2, MetaLanes 1 (the MAC array at GroupsPerCycle 1), MaxK 256, tables of
// 2^8 entries, the parameters of synth/blocks.json's ice40up5k set, Verilated a second time
// (ws_rtl_driver_up5k). The same driver, cycle model and golden models as the default bench, at these
// parameters: every output of every cycle against ws::WeightPipelineModel, y bit for bit against
// ws::sparse_matvec (G = 1) and ws::dense_matvec (L = 2); real stories260K layers, random extremes,
// random gaps and backpressure from TB_SEED, dense and 2:4 layers back to back, and the top's errors
// (those in test_weight_pipeline_config.cpp, shared with the wide build).
#include <gtest/gtest.h>

#include "stimulus.hpp"

namespace tbwp {
namespace {

TEST(WeightPipelineUp5k, BuiltAtTheSmallConfiguration) {
  // The other tests mean nothing if this build is the default one.
  EXPECT_EQ(built().value_lanes, 2);
  EXPECT_EQ(built().meta_lanes, 1);
  EXPECT_EQ(built().max_k, 256);
  EXPECT_EQ(built().value_table_log, 8);
  EXPECT_EQ(built().meta_table_log, 8);
}

}  // namespace
}  // namespace tbwp
