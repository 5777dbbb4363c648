#include "ops/generate.hpp"

#include <chrono>
#include <cstdio>

#include "core/error.hpp"
#include "core/threads.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "llm/tokenizer.hpp"

namespace ws {

GenerateResult generate(const GenerateOptions& o, const std::function<void(const std::string&)>& emit) {
  if (o.max_tokens < 0) throw FormatError("--max-tokens must not be negative");
  if (!(o.temperature >= 0.0f)) throw FormatError("--temperature must not be negative");
  const Tokenizer tok = load_tokenizer(o.model);  // first: a file without one fails before the weights load
  std::vector<int> ids;
  if (tok.add_bos() && tok.bos() >= 0) ids.push_back(tok.bos());
  const std::vector<int> text = o.chat ? tok.encode(tok.chat_prompt(o.prompt), true) : tok.encode(o.prompt);
  ids.insert(ids.end(), text.begin(), text.end());
  if (ids.empty()) throw FormatError("the prompt is empty (the model needs at least one token to start from)");

  const LlamaWeights w = load_llama(o.model);
  if (w.config.vocab_size < tok.vocab_size())
    throw FormatError("the tokenizer has " + std::to_string(tok.vocab_size()) + " tokens, the model only " +
                      std::to_string(w.config.vocab_size));
  const long long needed = (long long)ids.size() + o.max_tokens;
  if (ids.size() > size_t(w.config.seq_len))
    throw FormatError("the prompt has " + std::to_string(ids.size()) + " tokens, more than the model's context of " +
                      std::to_string(w.config.seq_len));
  Llama model(w, int(std::min<long long>(needed, w.config.seq_len)));
  const unsigned threads = resolve_threads(o.threads);
  ThreadPool pool(threads - 1);  // the calling thread computes a part too
  if (threads > 1) model.set_hook(parallel_matvec(pool, threads));
  Sampler sampler(o.seed);

  using clock = std::chrono::steady_clock;
  GenerateResult r;
  r.prompt_tokens = int(ids.size());
  auto t0 = clock::now();
  const std::vector<float>* logits = nullptr;
  for (size_t pos = 0; pos < ids.size(); ++pos) logits = &model.forward(ids[pos], int(pos));
  auto t1 = clock::now();
  r.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

  const int end_turn = o.chat ? tok.chat_end() : -1;
  for (int pos = int(ids.size()); r.generated < o.max_tokens; ++pos) {
    const int next = sampler.sample(*logits, o.temperature);
    ++r.generated;
    if (next == tok.eos() || next == end_turn) {
      r.stopped = true;
      break;
    }
    emit(tok.piece(next));
    if (pos >= model.max_seq()) break;  // the context is full
    logits = &model.forward(next, pos);
  }
  r.generate_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return r;
}

std::string generate_summary(const GenerateResult& r) {
  char b[200];
  std::snprintf(b, sizeof b, "%d prompt tokens in %.2f s (%.1f tokens/s), %d generated in %.2f s (%.1f tokens/s)\n",
                r.prompt_tokens, r.prompt_seconds, r.prompt_seconds > 0 ? r.prompt_tokens / r.prompt_seconds : 0.0,
                r.generated, r.generate_seconds, r.generate_seconds > 0 ? r.generated / r.generate_seconds : 0.0);
  return b;
}

}  // namespace ws
