// `make demo LTE=1`'s program end to end, short (label rtl): stories260K grouped into experts and
// compressed with them (container version 4), 3 tokens under the activation-norm gate at 50% of experts
// off. Every FFN product on the Verilated pipeline must match the golden model (0 mismatches, the
// logits too), the beats streamed must equal the active experts' chunks' beats (and 3 x active neurons x
// dim / 4: w1, w3 and w2 each hold dim weights per neuron), the dense reference every expert's, and the
// cycles saved must be what the two runs took. Bad input stops it with an error and exit 1.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;
using demotest::Outcome;
using demotest::q;

const fs::path kDir = fs::path(WS_BUILD_DIR) / "test-tmp" / "demo_lte";

Outcome run(const std::string& cmd) { return demotest::run(cmd, kDir); }

class DemoLte : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(kDir);
    fs::create_directories(kDir);
    const std::string tool = q(WS_TOOL), dense = q(fs::path(WS_DATA_DIR) / "stories260K.bin");
    ASSERT_EQ(run(tool + " lte-experts " + dense + " -o " + q(kDir / "experts.safetensors") + " --seed 1").code, 0);
    ASSERT_EQ(run(tool + " convert --to bf16 " + dense + " -o " + q(kDir / "m.bf16.safetensors")).code, 0);
    ASSERT_EQ(run(tool + " compress --lte " + q(kDir / "experts.safetensors") + " --table-log 8 " +
                  q(kDir / "m.bf16.safetensors") + " -o " + q(kDir / "m.wsz")).code, 0);
    ASSERT_EQ(run(tool + " compress " + q(kDir / "m.bf16.safetensors") + " -o " + q(kDir / "plain.wsz")).code, 0);
  }
  static Outcome demo(const fs::path& model, const std::string& extra) {
    return run(q(WS_DEMO_LTE) + " " + q(model) + " --lte-norm 0.5 --tokens 3 --report " + q(kDir / "report.json") + " " +
               extra);
  }
};

TEST_F(DemoLte, ActiveExpertsOnlyStreamWithZeroMismatches) {
  const Outcome r = demo(kDir / "m.wsz", "");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  const nlohmann::json j = nlohmann::json::parse(demotest::slurp(kDir / "report.json"));
  const int dim = j.at("dim"), tokens = 3;
  const int hidden = j.at("expert_bounds").back();
  EXPECT_EQ(j.at("mismatches"), 0);
  EXPECT_EQ(j.at("logit_mismatches"), 0);
  EXPECT_EQ(j.at("logits"), tokens * 512);
  EXPECT_GT(j.at("values"), 0);
  uint64_t on = 0, decisions = 0;
  for (const nlohmann::json& l : j.at("layers")) {
    SCOPED_TRACE("layer " + l.at("layer").dump());
    const uint64_t streamed = l.at("beats_streamed"), active = l.at("active_chunk_beats"), neurons = l.at("neurons_on");
    EXPECT_EQ(streamed, active);
    EXPECT_EQ(streamed, 3 * neurons * uint64_t(dim) / 4);
    EXPECT_EQ(l.at("dense_beats"), uint64_t(tokens) * 3 * uint64_t(hidden) * uint64_t(dim) / 4);
    const int64_t cycles = l.at("cycles"), dense_cycles = l.at("dense_cycles");
    EXPECT_EQ(l.at("cycles_saved"), dense_cycles - cycles);
    if (l.at("experts_on") < l.at("decisions")) {
      EXPECT_LT(cycles, dense_cycles);
    }
    EXPECT_EQ(l.at("mismatches"), 0);
    on += uint64_t(l.at("experts_on"));
    decisions += uint64_t(l.at("decisions"));
  }
  // The norm gate at 0.5 switches off 3 of the 6 experts in every layer.
  EXPECT_EQ(2 * on, decisions);
  EXPECT_NE(r.out.find("mismatches vs the golden model and the cycle model: 0"), std::string::npos) << r.out;
}

TEST_F(DemoLte, AContainerWithoutExpertChunksIsRefused) {
  const Outcome r = demo(kDir / "plain.wsz", "--side " + q(kDir / "m.wsz.lte.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no expert chunks"), std::string::npos) << r.err;
}

TEST_F(DemoLte, ASideFileInAnotherOrderIsRefused) {
  const Outcome r = demo(kDir / "m.wsz", "--side " + q(kDir / "experts.safetensors"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not the identity"), std::string::npos) << r.err;
}

}  // namespace
