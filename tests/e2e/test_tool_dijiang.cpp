// `weightstream dijiang-init` (docs/tool.md, docs/dijiang.md "Untrained values"): the side file it writes
// is dijiang_init's for the model's shape, the same bytes for the same seed, and `eval --dijiang` runs it,
// on stories260K and on SmolLM2-135M (heads of 64, grouped-query attention, real text); bad input is a
// one-line error and no file.
#include <gtest/gtest.h>

#include <chrono>

#include "llm/dijiang.hpp"
#include "llm/llama_io.hpp"
#include "smollm2_reference.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

TEST(ToolDiJiang, InitIsDijiangInitAndReproducibleBySeed) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path());
  const fs::path a = dir / "a.safetensors", b = dir / "b.safetensors", c = dir / "c.safetensors",
                 r = dir / "r.safetensors";
  const ToolRun g = tool_ok("dijiang-init " + m + " -o " + q(a) + " --seed 5", dir);
  EXPECT_NE(g.out.find("5 layers x 8 heads of 8, seed 5"), std::string::npos) << g.out;
  tool_ok("dijiang-init " + m + " -o " + q(b) + " --seed 5", dir);
  tool_ok("dijiang-init " + m + " -o " + q(c) + " --seed 6", dir);
  tool_ok("dijiang-init " + m + " -o " + q(r) + " --seed 5 --random-features", dir);
  EXPECT_EQ(read_file(a), read_file(b));
  EXPECT_NE(read_file(a), read_file(c));

  const ws::LlamaConfig config = ws::load_llama(stories_path()).config;
  const ws::DiJiangSide want = ws::dijiang_init(config, ws::FeatureMap::Dct, 5);
  const ws::DiJiangSide got = ws::load_dijiang(a.string());
  EXPECT_EQ(got.feature_map, ws::FeatureMap::Dct);
  EXPECT_EQ(got.weight, want.weight);
  EXPECT_EQ(got.gate, want.gate);
  EXPECT_EQ(got.norm_weight, want.norm_weight);
  EXPECT_EQ(got.norm_bias, want.norm_bias);
  const ws::DiJiangSide random = ws::load_dijiang(r.string());
  EXPECT_EQ(random.feature_map, ws::FeatureMap::Random);
  EXPECT_EQ(random.projection, ws::dijiang_init(config, ws::FeatureMap::Random, 5).projection);
}

TEST(ToolDiJiang, EvalAcceptsTheSideFileAndIsReproducible) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path());
  const fs::path a = dir / "a.safetensors", b = dir / "b.safetensors", c = dir / "c.safetensors";
  tool_ok("dijiang-init " + m + " -o " + q(a) + " --seed 5", dir);
  tool_ok("dijiang-init " + m + " -o " + q(b) + " --seed 5", dir);
  tool_ok("dijiang-init " + m + " -o " + q(c) + " --seed 6", dir);
  const std::string eval = "eval " + m + " --seqs 2 --len 24 --dijiang ";
  const ToolRun ra = tool_ok(eval + q(a), dir), rb = tool_ok(eval + q(b), dir), rc = tool_ok(eval + q(c), dir);
  EXPECT_NE(ra.out.find("DiJiang (dct)"), std::string::npos) << ra.out;
  // The same seed, the same table (the side file's name aside); another seed, other numbers.
  auto table = [](std::string out, const fs::path& side) {
    for (size_t at; (at = out.find(side.string())) != std::string::npos;) out.erase(at, side.string().size());
    return out;
  };
  EXPECT_EQ(table(ra.out, a), table(rb.out, b));
  EXPECT_NE(table(ra.out, a), table(rc.out, c));
  std::printf("%s", ra.out.c_str());
}

TEST(ToolDiJiang, BadInputIsAnErrorAndNoFile) {
  const fs::path dir = test_dir();
  write_file(dir / "not_a_model.bin", {1, 2, 3, 4, 5, 6, 7});
  const ToolRun r = tool("dijiang-init " + q(dir / "not_a_model.bin") + " -o " + q(dir / "side.safetensors"), dir);
  expect_error(r, (dir / "not_a_model.bin").string(), "not a llama2.c model");
  expect_no_leftovers(dir, {"not_a_model.bin"});
}

// SmolLM2-135M: 9 heads of 64 over 3 KV heads. The untrained side file runs in the C++ DiJiang on a few
// positions of real text; its time per token is printed (docs/dijiang.md).
TEST(ToolDiJiang, RunsOnSmolLM2Shape) {
  const fs::path dir = test_dir();
  const fs::path side = dir / "smollm2.dijiang.safetensors";
  const ToolRun g = tool_ok("dijiang-init " + q(smollm2()) + " -o " + q(side) + " --seed 1", dir);
  EXPECT_NE(g.out.find("30 layers x 9 heads of 64"), std::string::npos) << g.out;
  const ws::DiJiangSide s = ws::load_dijiang(side.string());
  EXPECT_EQ(s.dim, 576);
  const auto t0 = std::chrono::steady_clock::now();
  const ToolRun e = tool_ok("eval " + q(smollm2()) + " --text " + q(std::string(WS_EVAL_TEXT)) +
                                " --seqs 1 --len 8 --threads 2 --dijiang " + q(side), dir);
  const double s_total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(e.out.find("DiJiang (dct)"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find(", 8 predicted tokens"), std::string::npos) << e.out;
  std::printf("%s(eval of the dense model and DiJiang on 9 positions, loading included: %.1f s)\n", e.out.c_str(), s_total);
}

}  // namespace
