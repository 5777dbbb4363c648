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

// The numbers of an eval table's last row: perplexity, KL, experts off, neurons off.
std::string last_row_numbers(const std::string& table) {
  std::string row = table.substr(table.rfind('\n', table.size() - 2) + 1);
  // The model name may hold spaces; the four numbers are the last four fields.
  std::vector<std::string> f;
  for (size_t at = 0; at < row.size();) {
    const size_t b = row.find_first_not_of(" \n", at);
    if (b == std::string::npos) break;
    const size_t e = row.find_first_of(" \n", b);
    f.push_back(row.substr(b, e - b));
    at = e;
  }
  return f.size() < 4 ? row : f[f.size() - 4] + " " + f[f.size() - 3] + " " + f[f.size() - 2] + " " + f[f.size() - 1];
}

// compress --lte: the container (version 4, expert chunks that inspect names), its side file beside it,
// decompress to the expert-ordered model, and eval on that model under that side file gives the
// original's numbers under the original side file; the decisions dump has one record per token and layer.
TEST(ToolLte, CompressLteDecompressEvalAndDump) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path()), groups = (dir / "experts.safetensors").string();
  tool_ok("lte-experts " + m + " -o " + q(groups), dir);
  const ToolRun c = tool_ok("compress -f --lte " + q(groups) + " " + m + " -o " + q(dir / "lte.wsz"), dir);
  EXPECT_NE(c.out.find("w1/w3/w2 cut into 6 experts per layer; side file"), std::string::npos) << c.out;
  ASSERT_TRUE(fs::exists(dir / "lte.wsz.lte.safetensors"));
  const ws::LteSide beside = ws::load_lte((dir / "lte.wsz.lte.safetensors").string());
  for (int l = 0; l < beside.n_layers; ++l)
    for (int k = 0; k < beside.hidden_dim; ++k) ASSERT_EQ(beside.order[size_t(l * beside.hidden_dim + k)], k);
  const ToolRun i = tool_ok("inspect " + q(dir / "lte.wsz"), dir);
  EXPECT_NE(i.out.find("w1 chunk 0: matrix 0 expert 0 rows 0..32, 2048 values"), std::string::npos) << i.out;
  EXPECT_NE(i.out.find("w2 chunk 29: matrix 4 expert 5 columns 160..172, 768 values"), std::string::npos) << i.out;
  tool_ok("decompress -f " + q(dir / "lte.wsz") + " -o " + q(dir / "lte.safetensors"), dir);
  const ws::LlamaWeights got = ws::load_llama((dir / "lte.safetensors").string());
  const ws::LlamaWeights want = ws::expert_ordered(ws::load_llama(stories_path()), ws::load_lte(groups));
  for (int k = 0; k < ws::kLayerLinears; ++k)
    EXPECT_EQ(std::memcmp(got.linear[size_t(k)].data(), want.linear[size_t(k)].data(), 4 * want.linear[size_t(k)].size()), 0);
  const std::string args = " --lte-norm 0.5 --seqs 2 --len 24";
  const ToolRun a = tool_ok("eval " + m + " --lte " + q(groups) + args, dir);
  const ToolRun b = tool_ok("eval " + m + " " + q(dir / "lte.safetensors") + " --lte " + q(dir / "lte.wsz.lte.safetensors") +
                                args + " --lte-dump " + q(dir / "decisions.safetensors"), dir);
  EXPECT_EQ(last_row_numbers(a.out), last_row_numbers(b.out)) << a.out << b.out;
  const std::vector<uint8_t> f = read_file(dir / "decisions.safetensors");
  const StHeader h = read_st_header(f);
  EXPECT_EQ(h.j["lte.decisions"]["dtype"], "U8");
  EXPECT_EQ(h.j["lte.decisions"]["shape"], nlohmann::json::array({2 * 25, 5, 1}));  // (BOS + 24) x 2, 5 layers, 6 bits
  EXPECT_EQ(h.j["__metadata__"]["experts"], "6");
  // Every record has the norm oracle's count of experts on: at f = 0.5, k_l = round(3 (l + 1)) - round(3 l) = 3
  // of 6 off in every layer.
  size_t on = 0;
  for (size_t r = 0; r < 2 * 25 * 5; ++r) on += size_t(__builtin_popcount(f[size_t(h.data_offset) + r]));
  EXPECT_EQ(on, 2u * 25u * 5u * 3u);  // half of 6 experts on, every token and layer
  // The side file is written beside the container: not to standard output.
  expect_error(tool("compress --lte " + q(groups) + " " + m + " -o -", dir), "-", "--lte writes its side file");
  expect_error(tool("eval " + m + " --lte " + q(groups) + " --lte-norm 0.25,0.5 --lte-dump x.safetensors --seqs 1 --len 4", dir),
               "--lte-dump", "give one model and one gate");
}

// 2:4 and LTE (docs/lte.md "2:4 and expert chunks"): prune --lte keeps w2's shuffle inside the experts,
// so compress --lte stores the pruned model in 2:4 expert chunks; a free shuffle and experts that split
// groups of 4 are refused in one line naming the side file.
TEST(ToolLte, PruneLteThenCompressLteStores2To4ExpertChunks) {
  const fs::path dir = test_dir();
  const std::string m = q(stories_path()), groups = (dir / "experts.safetensors").string();
  tool_ok("lte-experts " + m + " -o " + q(groups), dir);
  const ToolRun p = tool_ok("prune " + m + " -o " + q(dir / "p.safetensors") +
                                " --method magnitude --shuffle global+local --lte " + q(groups), dir);
  EXPECT_NE(p.out.find("w2 shuffled inside the experts of " + groups), std::string::npos) << p.out;
  tool_ok("compress -f --lte " + q(groups) + " " + q(dir / "p.safetensors") + " -o " + q(dir / "p.wsz"), dir);
  const ToolRun i = tool_ok("inspect " + q(dir / "p.wsz"), dir);
  for (const char* name : {"w1", "w2", "w3"})
    EXPECT_NE(i.out.find(std::string("  2:4 ") + name + " "), std::string::npos) << name << "\n" << i.out;
  EXPECT_NE(i.out.find("w2 chunk 29: matrix 4 expert 5 columns 160..172, 768 values"), std::string::npos) << i.out;
  tool_ok("eval " + m + " " + q(dir / "p.safetensors") + " --lte " + q(groups) + " --lte-norm 0.5 --seqs 1 --len 8", dir);
  // A shuffle over all of w2's channels, and experts of 6 neurons (groups of 4 would straddle two).
  tool_ok("prune " + m + " -o " + q(dir / "free.safetensors") + " --method magnitude --shuffle global+local", dir);
  expect_error(tool("compress -f --lte " + q(groups) + " " + q(dir / "free.safetensors") + " -o " + q(dir / "f.wsz"), dir),
               groups, "crosses the side file's expert boundaries");
  const std::string six = (dir / "experts6.safetensors").string();
  tool_ok("lte-experts " + m + " -o " + q(six) + " --expert-size 6", dir);
  expect_error(tool("prune " + m + " -o " + q(dir / "x.safetensors") + " --method magnitude --lte " + q(six), dir), six,
               "expert 0 has 6 neurons, not a multiple of 4");
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
