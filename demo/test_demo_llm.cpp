// The SmolLM2 demo program end to end, short: the GGUF converted to bf16 and compressed by the tool,
// a few answer tokens through the pipeline's functional model with one product per token on the
// Verilated RTL. The lossless answer must be the plain bf16 model's, token for token (the program's
// own reference and `weightstream generate`'s text), with 0 mismatches between RTL and model.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "run_command.hpp"

namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(WS_BUILD_DIR) / "test-tmp" / "demo_llm";

using demotest::Outcome;
using demotest::q;
using demotest::slurp;

Outcome run(const std::string& cmd) { return demotest::run(cmd, kDir); }

TEST(DemoSmolLM2, LosslessAnswerIsTheBf16ModelsWithOneLayerOnTheRtl) {
  const std::string gguf = WS_SMOLLM2_GGUF;
  ASSERT_FALSE(gguf.empty()) << "SmolLM2 GGUF not found (make deps, then reconfigure)";
  fs::remove_all(kDir);
  fs::create_directories(kDir);
  const std::string tool = q(WS_TOOL), bf16 = q(kDir / "smollm2_bf16.safetensors"), wsz = q(kDir / "smollm2_bf16.wsz");
  const std::string prompt = "What is the capital of France?";
  const int tokens = 4;
  ASSERT_EQ(run(tool + " convert --to bf16 " + q(gguf) + " -o " + bf16).code, 0);
  ASSERT_EQ(run(tool + " compress " + bf16 + " -o " + wsz).code, 0);
  const Outcome gen = run(tool + " generate " + bf16 + " --chat --threads 2 --max-tokens " + std::to_string(tokens) +
                          " --prompt " + q(prompt));
  ASSERT_EQ(gen.code, 0) << gen.err;

  const Outcome r = run(q(WS_DEMO_LLM) + " --bf16 " + bf16 + " --lossless " + wsz + " --tokens " + std::to_string(tokens) +
                        " --rtl-products 1 --threads 2 --prompt " + q(prompt) + " --work " + q(kDir / "work") +
                        " --report " + q(kDir / "report.json"));
  std::printf("%s%s", r.out.c_str(), r.err.c_str());
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json rep = nlohmann::json::parse(slurp(kDir / "report.json"));
  const nlohmann::json& L = rep.at("lossless");
  EXPECT_TRUE(L.at("identical_to_bf16").get<bool>());
  EXPECT_EQ(L.at("tokens"), rep.at("reference").at("tokens"));
  EXPECT_EQ(L.at("tokens").size(), size_t(tokens));
  // `weightstream generate` prints the answer's text and a newline.
  EXPECT_EQ(L.at("text").get<std::string>() + "\n", gen.out);
  EXPECT_FALSE(L.at("text").get<std::string>().empty());
  EXPECT_EQ(L.at("mismatches").get<uint64_t>(), 0u);
  // One product per generated token but the last (whose forward pass is not needed) on the RTL, each
  // y value compared; every product of every forward pass on the functional model.
  EXPECT_EQ(L.at("rtl_products").get<uint64_t>(), uint64_t(tokens - 1));
  uint64_t functional = 0, rtl_values = 0;
  for (const auto& k : L.at("kinds")) {
    functional += k.at("functional").get<uint64_t>();
    rtl_values += k.at("rtl_values").get<uint64_t>();
  }
  const uint64_t passes = rep.at("prompt_tokens").get<uint64_t>() + tokens - 1;
  EXPECT_EQ(functional, passes * (7 * 30 + 1));
  EXPECT_GT(rtl_values, 0u);
  EXPECT_LT(L.at("bits_per_weight").get<double>(), 12.0);
}

}  // namespace
