// `weightstream eval --text` and `weightstream prune --text --sparsity` on the real SmolLM2 GGUF and
// the real English text (docs/llm.md, docs/esparse.md): a model against itself has KL 0 on the text,
// a 2:4 prune of the GGUF is stored 2:4 by `compress`, a 4:8 prune calibrated on the text keeps at most
// 4 of every 8 and says so in its metadata, and bad input fails with one line.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "llm/text_set.hpp"
#include "llm/tokenizer.hpp"
#include "smollm2_reference.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

std::string eval_text() { return WS_EVAL_TEXT; }

// The rows of eval's table that start with `path`: {perplexity, KL}.
std::vector<std::pair<double, double>> rows_of(const std::string& out, const std::string& path) {
  std::vector<std::pair<double, double>> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(path, 0) != 0) continue;
    std::istringstream f(line);
    std::vector<std::string> words;
    for (std::string w; f >> w;) words.push_back(w);
    if (words.size() >= 3) rows.push_back({std::stod(words[words.size() - 2]), std::stod(words.back())});
  }
  return rows;
}

TEST(ToolTextEval, ModelAgainstItselfHasKlZero) {
  const fs::path dir = test_dir();
  const ToolRun r = tool_ok("eval " + q(smollm2()) + " " + q(smollm2()) + " --text " + q(eval_text()) +
                                " --seqs 1 --len 12 --threads 2", dir);
  EXPECT_NE(r.out.find("1 windows x 12 tokens of the held-out part of " + eval_text()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(", 12 predicted tokens"), std::string::npos) << r.out;
  const auto rows = rows_of(r.out, smollm2());
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0].second, 0.0);
  EXPECT_EQ(rows[1].second, 0.0);
  EXPECT_EQ(rows[0].first, rows[1].first);
  EXPECT_GT(rows[0].first, 1.0);
  std::printf("%s", r.out.c_str());
}

TEST(ToolTextEval, PrunedGgufIsStored24AndThe48PatternIsKept) {
  const fs::path dir = test_dir();
  const fs::path p24 = dir / "p24.safetensors", b24 = dir / "p24_bf16.safetensors", w24 = dir / "p24.wsz";
  ToolRun r = tool_ok("prune " + q(smollm2()) + " --method magnitude -o " + q(p24) + " --threads 2", dir);
  EXPECT_NE(r.out.find("2:4, method magnitude"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak memory"), std::string::npos) << r.out;
  tool_ok("convert --to bf16 " + q(p24) + " -o " + q(b24), dir);
  r = tool_ok("compress " + q(b24) + " -o " + q(w24), dir);
  EXPECT_NE(r.out.find(", 7 stored 2:4"), std::string::npos) << r.out;

  const fs::path p48 = dir / "p48.safetensors";
  r = tool_ok("prune " + q(smollm2()) + " --method wanda --sparsity 4:8 --text " + q(eval_text()) +
                  " --calib 1 --calib-len 8 -o " + q(p48) + " --threads 2", dir);
  EXPECT_NE(r.out.find("calibration: 1 x 8 tokens of the calibration part of " + eval_text()), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("time: calibration "), std::string::npos) << r.out;
  const std::vector<uint8_t> f = read_file(p48);
  const StHeader h = read_st_header(f);
  EXPECT_EQ(h.j.at("__metadata__").at("sparsity"), "4:8");
  // w2 is [30][576][1536] F32, stored permuted: every group of 8 stored columns holds at most 4 non-zeros.
  const StSpan s = st_span(h, "w2");
  const size_t n = s.bytes / 4, cols = 1536;
  ASSERT_EQ(n, size_t(30) * 576 * cols);
  size_t over = 0, nonzero = 0;
  for (size_t g = 0; g < n; g += 8) {
    int nz = 0;
    for (size_t k = 0; k < 8; ++k) {
      float v;
      std::memcpy(&v, &f[s.offset + 4 * (g + k)], 4);
      nz += v != 0.0f;
    }
    over += nz > 4;
    nonzero += size_t(nz);
  }
  EXPECT_EQ(over, 0u);
  EXPECT_GT(nonzero, n / 2 * 9 / 10);  // the kept half, less the few weights that are zero in the file
  // 4:8 is no 2:4: compress stores it dense (the container has 2:4 chunks only).
  const fs::path b48 = dir / "p48_bf16.safetensors";
  tool_ok("convert --to bf16 " + q(p48) + " -o " + q(b48), dir);
  r = tool_ok("compress " + q(b48) + " -o " + q(dir / "p48.wsz"), dir);
  EXPECT_NE(r.out.find(", 0 stored 2:4"), std::string::npos) << r.out;
}

// `sample --text`: the training tokens of train/ on real text are exactly the calibration part's windows.
TEST(ToolTextEval, SampleTextWritesTheCalibrationWindows) {
  const fs::path dir = test_dir();
  const fs::path out = dir / "tokens.safetensors";
  const ToolRun r = tool_ok("sample " + q(smollm2()) + " --text " + q(eval_text()) + " --seqs 3 --len 16 -o " + q(out), dir);
  EXPECT_NE(r.out.find("3 sequences x 16 tokens + 1, windows of the calibration part of " + eval_text()), std::string::npos)
      << r.out;
  const ws::Tokenizer tok = ws::load_tokenizer(smollm2());
  const std::vector<std::vector<int>> want =
      ws::text_windows(ws::load_text_set(eval_text(), tok).calibration, 3, 16, ws::window_bos(tok));
  const std::vector<uint8_t> f = read_file(out);
  const StHeader h = read_st_header(f);
  ASSERT_EQ(h.j["tokens"]["shape"], nlohmann::json::array({3, 17}));
  EXPECT_EQ(h.j["__metadata__"]["text"], eval_text());
  int mismatches = 0;
  for (size_t w = 0; w < 3; ++w)
    for (size_t c = 0; c < 17; ++c) {
      int32_t v = 0;
      std::memcpy(&v, f.data() + h.data_offset + 4 * (w * 17 + c), 4);
      mismatches += v != want[w][c];
    }
  std::printf("sample --text: 51 tokens, %d mismatches against text_windows\n", mismatches);
  EXPECT_EQ(mismatches, 0);
  expect_error(tool("sample " + q(stories_path()) + " --text " + q(eval_text()) + " -o " + q(out), dir), stories_path(),
               "has no tokenizer, so --text cannot be tokenized");
  expect_error(tool("sample " + q(smollm2()) + " --text " + q(eval_text()) + " --seqs 1000 --len 64 -o " + q(dir / "x"), dir),
               eval_text(), "calibration part: the text part has");
}

TEST(ToolTextEval, BadInputIsOneLine) {
  const fs::path dir = test_dir();
  expect_error(tool("eval " + q(stories_path()) + " --text " + q(eval_text()), dir), stories_path(),
               "has no tokenizer, so --text cannot be tokenized");
  const fs::path tiny = dir / "tiny.txt";
  write_file(tiny, {'%', '\n'});
  expect_error(tool("eval " + q(smollm2()) + " --text " + q(tiny), dir), tiny.string(), "too short to split");
  expect_error(tool("eval " + q(smollm2()) + " --text " + q(eval_text()) + " --seqs 1000 --len 64", dir), eval_text(),
               "held-out part: the text part has");
  expect_error(tool("prune " + q(smollm2()) + " --method wanda --text " + q(eval_text()) + " --calib 1000 --calib-len 64 -o " +
                        q(dir / "x.safetensors"), dir),
               eval_text(), "calibration part: the text part has");
  const ToolRun bad = tool("prune " + q(smollm2()) + " --method wanda --sparsity 3:8 -o " + q(dir / "x.safetensors"), dir);
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err.rfind("error: command line: ", 0), 0u) << bad.err;
  expect_no_leftovers(dir, {"tiny.txt"});
}

}  // namespace
