// `weightstream generate`: its options, and the call into ops/generate.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "ops/generate.hpp"
#include "tool/cli.hpp"

namespace cli {

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<ws::GenerateOptions>();
  CLI::App* gen = app.add_subcommand("generate", "Answer a prompt with a model: GGUF, safetensors or llama2.c .bin (docs/llm.md)");
  gen->add_option("MODEL", o->model, "model file with its tokenizer (GGUF, or what convert writes from one)")->required();
  gen->add_option("-p,--prompt", o->prompt, "the prompt text")->required();
  gen->add_option("-n,--max-tokens", o->max_tokens, "tokens to generate at most")->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  gen->add_option("-t,--temperature", o->temperature, "sampling temperature; 0 = greedy")->capture_default_str()
      ->check(CLI::Range(0.0f, 100.0f));
  gen->add_option("--seed", o->seed, "sampler seed")->capture_default_str();
  gen->add_flag("--chat", o->chat, "wrap the prompt in the model's chat template (ChatML)");
  gen->add_option("--threads", o->threads, "threads sharing each product's rows (0 = one per core; same output)")
      ->capture_default_str()->check(CLI::Range(0u, 1024u));
  gen->callback([o] {
    try {
      const ws::GenerateResult r = ws::generate(*o, [](const std::string& piece) {
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);  // text appears as it is generated
      });
      std::fputc('\n', stdout);
      std::fflush(stdout);
      std::fputs(ws::generate_summary(r).c_str(), stderr);
    } catch (const ws::FileError& e) {
      fail_callback(e.path().empty() ? e.what() : e.path() + ": " + e.what());
    } catch (const std::exception& e) {
      fail_callback(o->model + ": " + e.what());
    }
  });
}

}  // namespace cli
