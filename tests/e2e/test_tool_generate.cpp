// `weightstream generate` as a user runs it: SmolLM2's greedy answer to a chat prompt is the text the
// independent reference (tests/e2e/smollm2_reference.py: numpy forward pass, HF tokenizers, jinja2
// template) decodes greedily, and it reports tokens/s; bad input fails with one line.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "gguf_builder.hpp"
#include "smollm2_reference.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

TEST(ToolGenerate, GreedyChatAnswerIsTheReferences) {
  const fs::path dir = test_dir();
  const std::string prompt = "What is the capital of France?";
  const int n = 8;
  const ToolRun r = tool_ok("generate " + q(smollm2()) + " --chat --max-tokens " + std::to_string(n) + " --prompt " + q(prompt), dir);
  const nlohmann::json ref =
      nlohmann::json::parse(reference("greedy", "--chat --n " + std::to_string(n) + " --prompt " + q(prompt), dir));
  EXPECT_EQ(r.out, ref.at("text").get<std::string>() + "\n") << "reference ids " << ref.at("ids").dump();
  EXPECT_FALSE(r.out.empty() || r.out == "\n");
  EXPECT_NE(r.err.find("tokens/s"), std::string::npos) << r.err;
  std::printf("generate: %s%s", r.out.c_str(), r.err.c_str());
}

TEST(ToolGenerate, BadInputIsOneLine) {
  const fs::path dir = test_dir();
  expect_error(tool("generate " + q(dir / "missing.gguf") + " --prompt hi", dir), (dir / "missing.gguf").string(),
               "No such file");
  expect_error(tool("generate " + q(stories_path()) + " --prompt hi", dir), stories_path(),
               "has no tokenizer (a llama2.c .bin carries none)");

  // A GGUF file without tokenizer metadata: a llama header and one tensor, nothing else.
  GgufBuilder b;
  b.kv("general.architecture", 8, GgufBuilder::string("llama"));
  b.tensor("token_embd.weight", {4, 2}, 0, GgufBuilder::Bytes(32, 0));
  const fs::path bare = dir / "bare.gguf";
  write_file(bare, b.bytes());
  expect_error(tool("generate " + q(bare) + " --prompt hi", dir), bare.string(), "has no tokenizer");

  expect_error(tool("generate " + q(smollm2()) + " --prompt ''", dir), smollm2(), "the prompt is empty");
  const ToolRun neg = tool("generate " + q(smollm2()) + " --prompt hi --temperature -1", dir);
  EXPECT_EQ(neg.code, 1);
  EXPECT_EQ(neg.err.rfind("error: command line: ", 0), 0u) << neg.err;
}

}  // namespace
