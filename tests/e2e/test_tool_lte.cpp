// `weightstream lte-experts`, `sample` and `eval --lte` (docs/lte.md) on the real stories260K: what they
// write and print, and one-line errors for bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

TEST(ToolLte, ExpertsSampleAndBaselineEval) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path()), side = (dir / "experts.safetensors").string();
  const ToolRun g = tool_ok("lte-experts " + m + " -o " + q(side), dir);
  EXPECT_NE(g.out.find("5 layers x 6 experts of 32 neurons (the last 12: 172 = 5 x 32 + 12)"), std::string::npos) << g.out;
  const ws::LteSide s = ws::load_lte(side);
  EXPECT_FALSE(s.has_router());
  EXPECT_EQ(s.order, ws::lte_experts(ws::load_llama(stories_path()), 32, 1).order);

  const ToolRun t = tool_ok("sample " + m + " -o " + q(dir / "tokens.safetensors") + " --seqs 3 --len 10 --seed 4", dir);
  const std::vector<uint8_t> f = read_file(dir / "tokens.safetensors");
  const StHeader h = read_st_header(f);
  EXPECT_EQ(h.j["tokens"]["dtype"], "I32");
  EXPECT_EQ(h.j["tokens"]["shape"], nlohmann::json::array({3, 11}));
  const std::vector<std::vector<int>> want = ws::sample_sequences(ws::load_llama(stories_path()), 3, 10, 4);
  for (size_t r = 0; r < 3; ++r)
    for (size_t c = 0; c < 11; ++c) {
      int32_t v = 0;
      std::memcpy(&v, f.data() + h.data_offset + 4 * (r * 11 + c), 4);
      EXPECT_EQ(v, want[r][c]);
    }

  const ToolRun e = tool_ok("eval " + m + " --lte " + q(side) + " --lte-norm 0,0.5 --seqs 2 --len 32", dir);
  EXPECT_NE(e.out.find("expert order, all on"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("norm oracle 0%"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("50.0%"), std::string::npos) << e.out;  // 15 of 30 experts off per token
}

// An error about an option, not a file: "error: <what>", one line, exit code 1.
void expect_option_error(const ToolRun& r, const std::string& what) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not exactly one line: " << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << "want '" << what << "' in: " << r.err;
}

TEST(ToolLte, BadInputIsOneLine) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path()), side = (dir / "experts.safetensors").string();
  tool_ok("lte-experts " + m + " -o " + q(side), dir);
  expect_error(tool("eval " + m + " --lte " + q(side) + " --seqs 1 --len 8", dir), side, "has no routers");
  expect_option_error(tool("eval " + m + " " + m + " " + m + " --lte " + q(side) + " --lte " + q(side) + " --lte " + q(side) +
                        " --lte-norm 0.5 --seqs 1 --len 8",
                    dir),
               "one per model");
  expect_error(tool("eval " + m + " --lte " + m + " --lte-norm 0.5 --seqs 1 --len 8", dir), stories_path(), "");
  ws::LteSide wrong = ws::load_lte(side);  // another model's shape
  wrong.hidden_dim = 160;
  wrong.n_layers = 1;
  wrong.order.resize(160);
  for (int i = 0; i < 160; ++i) wrong.order[size_t(i)] = i;
  ws::save_lte(wrong, (dir / "wrong.safetensors").string());
  expect_error(tool("eval " + m + " --lte " + q(dir / "wrong.safetensors") + " --lte-norm 0.5 --seqs 1 --len 8", dir),
               (dir / "wrong.safetensors").string(), "hidden_dim 160");
  expect_option_error(tool("sample " + m + " -o " + q(dir / "t.safetensors") + " --len 600", dir), "exceeds the model's seq_len 512");
  expect_option_error(tool("lte-experts " + m + " -o " + q(dir / "e.safetensors") + " --expert-size 200", dir), "--expert-size 200");
}

}  // namespace
