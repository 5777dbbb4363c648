// The tokenizer on a small vocabulary of its own (the real one is checked against HF tokenizers in
// test_smollm2.cpp): BPE merge order, the digit split, special tokens, and every refusal of metadata
// it does not support, each with its message.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llm/tokenizer.hpp"
#include "test_env.hpp"

namespace {

using Meta = std::map<std::string, std::string>;

// GPT-2's byte characters (printable bytes as themselves, the others from U+0100), then `extra`.
std::vector<std::string> byte_vocab() {
  std::vector<std::string> v;
  unsigned next = 256;
  for (unsigned b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
    const unsigned cp = printable ? b : next++;
    std::string s;
    if (cp < 0x80) s += char(cp);
    else s += char(0xC0 | (cp >> 6)), s += char(0x80 | (cp & 0x3F));
    v.push_back(s);
  }
  return v;
}

Meta meta(std::vector<std::string> extra, const std::vector<std::string>& merges, const std::string& pre = "smollm") {
  std::vector<std::string> tokens = {"<|im_start|>", "<|im_end|>"};
  for (const std::string& b : byte_vocab()) tokens.push_back(b);
  tokens.insert(tokens.end(), extra.begin(), extra.end());
  std::vector<int> types(tokens.size(), 1);
  types[0] = types[1] = 3;
  return {{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", pre},
          {"tokenizer.ggml.tokens", nlohmann::json(tokens).dump()},
          {"tokenizer.ggml.token_type", nlohmann::json(types).dump()},
          {"tokenizer.ggml.merges", nlohmann::json(merges).dump()}, {"tokenizer.ggml.eos_token_id", "1"},
          {"tokenizer.chat_template", "{{ '<|im_start|>' + role }}<|im_end|>"}};
}

int id_of(const ws::Tokenizer& t, const std::string& s) {
  for (int i = 0; i < t.vocab_size(); ++i)
    if (t.decode({i}, true) == s) return i;
  return -1;
}

TEST(Tokenizer, MergesByRankAndSplitsDigits) {
  // "ab" before "bc": "abc" becomes ab + c although "bc" also exists; "Ġab" needs the space merge.
  const ws::Tokenizer t(ws::ModelMeta(meta({"ab", "bc", "\xc4\xa0" "ab", "11"}, {"a b", "b c", "\xc4\xa0 ab", "1 1"})));
  EXPECT_EQ(t.encode("abc"), (std::vector<int>{id_of(t, "ab"), id_of(t, "c")}));
  EXPECT_EQ(t.encode("x ab"), (std::vector<int>{id_of(t, "x"), id_of(t, " ab")}));
  // smollm splits every digit first, so the merge "1 1" never applies; gpt2 keeps "11" together.
  EXPECT_EQ(t.encode("11"), (std::vector<int>{id_of(t, "1"), id_of(t, "1")}));
  const ws::Tokenizer g(ws::ModelMeta(meta({"11"}, {"1 1"}, "gpt2")));
  EXPECT_EQ(g.encode("11"), std::vector<int>{id_of(g, "11")});
  EXPECT_EQ(t.encode("<|im_end|>", true), std::vector<int>{1});
  EXPECT_EQ(t.chat_prompt("hi"), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Tokenizer, RefusesWhatItDoesNotSupport) {
  using wstest::error_of;
  auto err = [](Meta m) { return error_of([&] { ws::Tokenizer t{ws::ModelMeta(m)}; }); };
  Meta m = meta({}, {});
  m["tokenizer.ggml.model"] = "llama";
  EXPECT_EQ(err(m), "tokenizer model 'llama' is not supported (byte-level BPE, 'gpt2', only)");
  m = meta({}, {}, "qwen2");
  EXPECT_EQ(err(m), "pre-tokenizer 'qwen2' is not supported ('smollm' and 'gpt2' are)");
  EXPECT_EQ(err(meta({}, {"a q"})), "tokenizer merge 0 'a q' names tokens not in the vocabulary");
  m = meta({}, {});
  m.erase("tokenizer.ggml.model");
  EXPECT_EQ(err(m), "the model file has no tokenizer (no tokenizer.ggml.model metadata)");
  m = meta({}, {});
  m["tokenizer.ggml.tokens"] = R"(["a", "b"])";
  EXPECT_NE(err(m).find("differ in length"), std::string::npos) << err(m);
  m = meta({}, {});
  m["tokenizer.ggml.eos_token_id"] = "100000";
  EXPECT_EQ(err(m), "metadata 'tokenizer.ggml.eos_token_id' is not a token id");

  m = meta({}, {});
  m["tokenizer.chat_template"] = "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}";
  const ws::Tokenizer t{ws::ModelMeta(m)};
  EXPECT_NE(error_of([&] { t.chat_prompt("hi"); }).find("the chat template is not ChatML, the only one supported"),
            std::string::npos);
  m.erase("tokenizer.chat_template");
  const ws::Tokenizer none{ws::ModelMeta(m)};
  EXPECT_EQ(error_of([&] { none.chat_prompt("hi"); }), "the model file has no chat template (tokenizer.chat_template)");
}

}  // namespace
