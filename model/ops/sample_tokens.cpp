#include "ops/sample_tokens.hpp"

#include <map>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"
#include "llm/llama_io.hpp"
#include "llm/tokenizer.hpp"
#include "ops/report.hpp"

namespace ws {

std::string sample_tokens(const SampleTokensOptions& o) {
  LlamaWeights w;
  int bos = kBosToken;
  try {
    w = load_llama(o.model);
    const std::optional<Tokenizer> tok = load_tokenizer_if_any(o.model);
    if (tok && tok->bos() >= 0) bos = tok->bos();
  } catch (const FormatError& e) {
    throw FileError(o.model, e.what());
  }
  if (o.len > w.config.seq_len)
    throw FileError("", strprintf("--len %d exceeds the model's seq_len %d", o.len, w.config.seq_len));
  const std::vector<std::vector<int>> seqs = sample_sequences(w, o.seqs, o.len, o.seed, o.temperature, bos);
  std::vector<int32_t> flat;
  for (const std::vector<int>& s : seqs) flat.insert(flat.end(), s.begin(), s.end());
  const std::map<std::string, std::string> md{{"model", o.model},
                                              {"seed", std::to_string(o.seed)},
                                              {"temperature", strprintf("%g", double(o.temperature))}};
  const std::vector<uint8_t> header =
      make_safetensors_header(md, {{"tokens", "I32", {uint64_t(o.seqs), uint64_t(o.len) + 1}}});
  AtomicFileSink out(o.out);
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const uint8_t*>(flat.data()), flat.size() * 4);
  out.commit();
  return strprintf("%s -> %s: %d sequences x %d tokens (+ BOS %d), temperature %g, seed %llu\n", o.model.c_str(),
                   o.out.c_str(), o.seqs, o.len, bos, double(o.temperature), static_cast<unsigned long long>(o.seed));
}

}  // namespace ws
