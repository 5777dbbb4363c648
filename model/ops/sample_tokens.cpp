#include "ops/sample_tokens.hpp"

#include <map>
#include <optional>
#include <vector>

#include "core/error.hpp"
#include "core/io.hpp"
#include "files/safetensors.hpp"
#include "llm/llama_io.hpp"
#include "llm/tokenizer.hpp"
#include "ops/model_text.hpp"
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
  std::vector<std::vector<int>> seqs;
  std::map<std::string, std::string> md{{"model", o.model}};
  std::string what;
  if (!o.text.empty()) {
    int text_bos = -1;
    const TextSet ts = model_text_set(o.model, o.text, text_bos);
    seqs = text_part_windows(ts.calibration, o.seqs, o.len, text_bos, o.text, "calibration part");
    md["text"] = o.text;
    what = strprintf("windows of the calibration part of %s (%zu tokens)", o.text.c_str(), ts.calibration.size());
  } else {
    if (o.seqs < 1) throw FileError("", "--seqs must be at least 1 without --text");
    seqs = sample_sequences(w, o.seqs, o.len, o.seed, o.temperature, bos);
    md["seed"] = std::to_string(o.seed);
    md["temperature"] = strprintf("%g", double(o.temperature));
    what = strprintf("sampled (+ BOS %d), temperature %g, seed %llu", bos, double(o.temperature),
                     static_cast<unsigned long long>(o.seed));
  }
  std::vector<int32_t> flat;
  for (const std::vector<int>& s : seqs) flat.insert(flat.end(), s.begin(), s.end());
  const std::vector<uint8_t> header =
      make_safetensors_header(md, {{"tokens", "I32", {uint64_t(seqs.size()), uint64_t(o.len) + 1}}});
  AtomicFileSink out(o.out);
  out.write(header.data(), header.size());
  out.write(reinterpret_cast<const uint8_t*>(flat.data()), flat.size() * 4);
  out.commit();
  return strprintf("%s -> %s: %zu sequences x %d tokens + 1, %s\n", o.model.c_str(), o.out.c_str(), seqs.size(), o.len,
                   what.c_str());
}

}  // namespace ws
