// Evaluation on real English text (docs/llm.md, "Evaluation on real text"): the text set (Debian's
// fortunes-min quotations, WS_EVAL_TEXT) under SmolLM2's own tokenizer, the dense model's perplexity
// on a slice of its held-out part, KL of a model against itself, and 4:8 pruning of real tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/io.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "llm/text_set.hpp"
#include "llm/tokenizer.hpp"
#include "codec/sparse24.hpp"
#include "prune/esparse.hpp"
#include "smollm2_reference.hpp"
#include "test_env.hpp"

namespace {

using namespace wstest;

std::string eval_text() {
  const std::string path = WS_EVAL_TEXT;
  if (path.empty()) ADD_FAILURE() << "evaluation text not found (make deps, then reconfigure)";
  return path;
}
std::string file_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
const ws::Tokenizer& tokenizer() {
  static const ws::Tokenizer t = ws::load_tokenizer(smollm2());
  return t;
}
const ws::TextSet& text_set() {
  static const ws::TextSet s = ws::load_text_set(eval_text(), tokenizer());
  return s;
}
const ws::LlamaWeights& weights() {
  static const ws::LlamaWeights w = ws::load_llama(smollm2());
  return w;
}

TEST(TextSet, SplitsAtAnEntryNearTheMiddleAndTokenizesWithTheFilesTokenizer) {
  const std::string file = file_text(eval_text());
  const ws::TextSet& s = text_set();
  // The two parts are the whole file but the one "%" line between them: disjoint, nothing else lost.
  EXPECT_EQ(s.calibration_text + "%\n" + s.held_out_text, file);
  ASSERT_FALSE(s.calibration_text.empty());
  EXPECT_EQ(s.calibration_text.back(), '\n');
  EXPECT_GE(s.calibration_text.size() + 1, file.size() / 2);  // the first entry boundary after the middle
  EXPECT_EQ(file.find("\n%\n", file.size() / 2 - 1), s.calibration_text.size() - 1);
  // The tokens are the tokenizer's, part by part, and decode back to the text.
  EXPECT_EQ(s.calibration, tokenizer().encode(s.calibration_text));
  EXPECT_EQ(s.held_out, tokenizer().encode(s.held_out_text));
  EXPECT_EQ(tokenizer().decode(s.held_out), s.held_out_text);
  // Deterministic: a second load gives the same tokens.
  const ws::TextSet again = ws::load_text_set(eval_text(), tokenizer());
  EXPECT_EQ(again.calibration, s.calibration);
  EXPECT_EQ(again.held_out, s.held_out);
  std::printf("%s: %zu bytes; calibration part %zu bytes, %zu tokens; held-out part %zu bytes, %zu tokens\n",
              eval_text().c_str(), file.size(), s.calibration_text.size(), s.calibration.size(),
              s.held_out_text.size(), s.held_out.size());
}

TEST(TextSet, WindowsFollowOneAnother) {
  const std::vector<int>& t = text_set().held_out;
  const auto w = ws::text_windows(t, 3, 16, -1);  // no BOS: 17 tokens, the first context only
  ASSERT_EQ(w.size(), 3u);
  for (size_t i = 0; i < w.size(); ++i)
    EXPECT_EQ(w[i], std::vector<int>(t.begin() + std::ptrdiff_t(17 * i), t.begin() + std::ptrdiff_t(17 * (i + 1))));
  const auto b = ws::text_windows(t, 2, 16, 7);  // with a BOS: it, then 16 tokens
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[1].size(), 17u);
  EXPECT_EQ(b[1][0], 7);
  EXPECT_EQ(b[1][1], t[16]);
  EXPECT_EQ(ws::text_windows(t, 0, 16, -1).size(), t.size() / 17);
  EXPECT_NE(error_of([&] { ws::text_windows(t, int(t.size()), 16, -1); }).find("windows of 16 predicted tokens"),
            std::string::npos);
  EXPECT_EQ(ws::window_bos(tokenizer()), -1);  // SmolLM2's file: tokenizer.ggml.add_bos_token = false
}

TEST(TextSet, TooShortOrMissingTextIsAnError) {
  const std::filesystem::path dir = std::filesystem::path(WS_BUILD_DIR) / "test-tmp" / "TextSet.TooShort";
  std::filesystem::create_directories(dir);
  const std::string tiny = (dir / "tiny.txt").string();
  std::ofstream(tiny) << "%\n";
  EXPECT_NE(error_of([&] { ws::load_text_set(tiny, tokenizer()); }).find("too short to split"), std::string::npos);
  EXPECT_THROW(ws::load_text_set((dir / "missing.txt").string(), tokenizer()), ws::IoError);
}

TEST(TextEval, DensePerplexityOnHeldOutTextIsFarBelowUniformAndKlToItselfIsZero) {
  const auto seqs = ws::text_windows(text_set().held_out, 1, 32, ws::window_bos(tokenizer()));
  const ws::Evaluator ev(weights(), seqs, 2);
  const ws::EvalResult& dense = ev.reference_result();
  const double vocab = weights().config.vocab_size;  // a model that knows nothing: perplexity = vocab
  EXPECT_EQ(dense.tokens, 32u);
  EXPECT_TRUE(std::isfinite(dense.perplexity()));
  EXPECT_GT(dense.perplexity(), 1.0);
  EXPECT_LT(dense.perplexity(), vocab / 50) << "uniform over the vocabulary would be " << vocab;
  const ws::EvalResult self = ev.score(weights());
  EXPECT_EQ(self.kl(), 0.0);
  EXPECT_EQ(self.nll_sum, dense.nll_sum);
  std::printf("SmolLM2 dense on 32 held-out tokens: perplexity %.2f (uniform: %.0f), KL to itself %g\n",
              dense.perplexity(), vocab, self.kl());
}

// Checks that p keeps exactly n of every m permuted columns per row, each the original weight, and zeros
// the rest; returns the number of kept weights that are among the n largest |w| of their group.
size_t check_nm(const ws::PrunedLayer& p, const float* w, int rows, int in, ws::NmPattern np) {
  size_t top = 0;
  for (int i = 0; i < rows; ++i)
    for (int g = 0; g < in; g += np.m) {
      int kept = 0;
      for (int r = 0; r < np.m; ++r) {
        const size_t at = size_t(i) * size_t(in) + size_t(g + r);
        const float orig = w[size_t(i) * size_t(in) + size_t(p.perm[size_t(g + r)])];
        if (p.mask[at]) {
          ++kept;
          EXPECT_EQ(p.w[at], orig);
          int larger = 0;
          for (int k = 0; k < np.m; ++k)
            larger += std::fabs(w[size_t(i) * size_t(in) + size_t(p.perm[size_t(g + k)])]) > std::fabs(orig);
          top += larger < np.n;
        } else {
          EXPECT_EQ(p.w[at], 0.0f);
        }
      }
      EXPECT_EQ(kept, np.n) << "row " << i << " group " << g / np.m;
    }
  return top;
}

TEST(Prune48, KeepsFourOfEveryEightInputChannelsOfARealTensor) {
  const ws::LlamaWeights& w = weights();
  const ws::NmPattern np = ws::parse_pattern("4:8");
  for (ws::LinearKind kind : {ws::LinearKind::wk, ws::LinearKind::w2}) {  // in 576 and in 1536 (layer 0)
    const int rows = ws::linear_out(w.config, kind), in = ws::linear_in(w.config, kind);
    const float* layer0 = w.linear[size_t(kind)].data();
    const std::vector<double> imp = ws::importance(layer0, rows, in, ws::PruneMethod::magnitude, {}, {}, 1.0);
    for (ws::ShuffleMode s : {ws::ShuffleMode::none, ws::ShuffleMode::global_local}) {
      const ws::PrunedLayer p = ws::prune_layer(layer0, rows, in, imp, s, 32, np);
      EXPECT_NO_THROW(ws::validate_perm(p.perm, in));
      EXPECT_EQ(check_nm(p, layer0, rows, in, np), size_t(rows) * size_t(in) / 2);  // magnitude: the 4 largest
      // In the same channel order 4:8 keeps at least what 2:4 keeps (any 2 + 2 of a group is a choice of 4).
      if (s == ws::ShuffleMode::none)
        EXPECT_GE(ws::kept_importance(imp, rows, in, p.perm, np),
                  ws::kept_importance(imp, rows, in, p.perm, ws::parse_pattern("2:4")));
    }
  }
  EXPECT_THROW(ws::parse_pattern("3:8"), std::invalid_argument);
}

}  // namespace
