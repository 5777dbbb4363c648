// `make demo MODEL=smollm2` (docs/demo.md): a real instruction-tuned LLM, SmolLM2-135M, answers a chat
// prompt with every linear layer's product taken from its compressed stream by the weight pipeline.
// Two paths, each from a .wsz container:
//   lossless: the GGUF dequantized and rounded to bf16, every layer dense (docs/weight_pipeline.md
//             section 2.1); its answer must be, token for token, the plain bf16 model's (the forward
//             pass and greedy sampler of `weightstream generate`);
//   2:4:      the model pruned 2:4 with E-Sparse, bf16, its 7 linear kinds stored 2:4 (the classifier
//             stays dense); KL from the dense bf16 model, position by position on the same tokens.
// Every product (prompt and answer, classifier included) runs on the pipeline's functional model
// (hw/weight_pipeline_functional.hpp: the decoders', unpacker's and MAC array's functional models on
// the chunks the stream program plays); for each generated token, `--rtl-products` products of one
// transformer layer (7 = the whole layer) also run on the Verilated ws_weight_pipeline (MaxK 4096) with
// its cycle model in lock step, and their y must equal the functional model's bit for bit.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "demo_common.hpp"
#include "driver.hpp"
#include "codec/container_reader.hpp"
#include "core/bf16.hpp"
#include "core/error.hpp"
#include "core/io.hpp"
#include "core/threads.hpp"
#include "hw/stream_program.hpp"
#include "hw/weight_pipeline_functional.hpp"
#include "llm/llama.hpp"
#include "llm/llama_eval.hpp"
#include "llm/llama_io.hpp"
#include "llm/tokenizer.hpp"

namespace {

using demo::DemoError;

constexpr int kKinds = ws::kLayerLinears + 1;  // wq .. w3, and the classifier
const char* const kGgufLinear[ws::kLayerLinears] = {"attn_q.weight", "attn_k.weight", "attn_v.weight",
                                                    "attn_output.weight", "ffn_gate.weight", "ffn_down.weight",
                                                    "ffn_up.weight"};

// One matrix as the pipeline streams it: a dense or a 2:4 tensor's chunks, each checked once.
struct Matrix {
  ws::LinearKind kind{};
  int layer = -1;
  bool dense = true;
  int rows = 0, cols = 0;
  ws::DenseMatrix dm;
  ws::Sparse24Matrix sm;
  uint64_t bytes = 0;  // its chunks
};

// Per kind of product: what the RTL ran and measured.
struct KindStats {
  uint64_t functional = 0;  // products on the functional model
  uint64_t rtl = 0, rtl_values = 0, mismatches = 0, cycle_mismatches = 0;
  uint64_t config_cycles = 0, stream_cycles = 0, weights = 0;
};

std::string kind_name(ws::LinearKind k) { return k == ws::LinearKind::cls ? "cls" : ws::linear_name(k); }

// One model's products from its container. `gguf_names`: the tensors are named as in a GGUF file, one
// per layer (convert's bf16 output); else as save_llama writes them, stacked over layers.
class Pipeline {
 public:
  Pipeline(const std::string& path, const ws::LlamaWeights& w, bool gguf_names, ws::ThreadPool& pool, unsigned threads,
           wp::Driver& drv, int rtl_products)
      : path_(path), reader_(demo::open_container(path)), pool_(pool), threads_(threads), drv_(drv), rtl_products_(rtl_products),
        n_layers_(w.config.n_layers) {
    const ws::LlamaConfig& c = w.config;
    auto load = [&](const std::string& tensor, ws::LinearKind kind, int layer) {
      const ws::Segment& s = reader_.tensor(tensor);
      std::vector<Matrix> ms;
      try {
        if (s.is_sparse24()) {
          for (ws::Sparse24Matrix& m : ws::sparse24_matrices(reader_, tensor)) {
            Matrix M;
            M.dense = false;
            M.rows = m.rows;
            M.cols = m.cols;
            M.layer = int(m.matrix);
            for (const auto& ch : m.chunks) M.bytes += ch.bytes.size();
            M.sm = std::move(m);
            ms.push_back(std::move(M));
          }
        } else {
          for (ws::DenseMatrix& m : ws::dense_matrices(reader_, tensor)) {
            Matrix M;
            M.rows = m.rows;
            M.cols = m.cols;
            M.layer = int(m.matrix);
            for (const auto& b : m.bytes) M.bytes += b.size();
            M.dm = std::move(m);
            ms.push_back(std::move(M));
          }
        }
      } catch (const ws::Sparse24ChunkError& e) {
        throw DemoError(path + ": tensor " + tensor + " matrix " + std::to_string(e.matrix) + " chunk " +
                        std::to_string(e.chunk) + ": " + e.detail);
      } catch (const ws::FormatError& e) {
        throw DemoError(path + ": " + e.what());
      }
      for (Matrix& M : ms) {
        M.kind = kind;
        if (layer >= 0) M.layer = layer;
        if (kind == ws::LinearKind::cls) M.layer = -1;
        if (M.rows != (kind == ws::LinearKind::cls ? c.vocab_size : ws::linear_out(c, kind)) ||
            M.cols != (kind == ws::LinearKind::cls ? c.dim : ws::linear_in(c, kind)))
          throw DemoError(path + ": " + tensor + ": shape differs from the model's config");
        matrices_[{int(kind), M.layer}] = std::make_unique<Matrix>(std::move(M));
      }
    };
    for (int k = 0; k < ws::kLayerLinears; ++k) {
      if (!gguf_names) {
        load(ws::linear_name(ws::LinearKind(k)), ws::LinearKind(k), -1);
        continue;
      }
      for (int l = 0; l < c.n_layers; ++l)
        load("blk." + std::to_string(l) + "." + kGgufLinear[k], ws::LinearKind(k), l);
    }
    const std::string cls = gguf_names ? (c.shared_classifier ? "token_embd.weight" : "output.weight")
                                       : (c.shared_classifier ? "token_embedding_table" : "wcls");
    load(cls, ws::LinearKind::cls, -1);
  }

  // The model's other tensors (embedding, norms, permutations): the container decoded in software.
  static ws::LlamaWeights decoded_model(const std::string& path, const std::string& to) {
    return demo::decoded_model(demo::open_container(path), path, to);
  }

  // Every product through the pipeline: the functional model, and the RTL for the scheduled ones.
  ws::LinearHook hook() {
    return [this](const ws::LinearView& lv, const float* x, float* y) { product(lv, x, y); };
  }
  void set_token(int generated) { token_ = generated; }  // -1 while the prompt runs

  void print_storage(const char* what) const {
    uint64_t bytes = 0, weights = 0, lin_bytes = 0, lin_weights = 0;
    for (const auto& [key, M] : matrices_) {
      const uint64_t n = uint64_t(M->rows) * uint64_t(M->cols);
      bytes += M->bytes;
      weights += n;
      if (M->kind != ws::LinearKind::cls) {
        lin_bytes += M->bytes;
        lin_weights += n;
      }
    }
    std::printf("%s: %s, %" PRIu64 " bytes\n", what, path_.c_str(), reader_.file_size());
    std::printf("  streamed by the pipeline: %zu matrices, %" PRIu64 " weights in %" PRIu64
                " bytes of chunks: %.3f bits per weight (the 210 linear layers %.3f, the classifier %.3f; dense bf16 16)\n",
                matrices_.size(), weights, bytes, 8.0 * double(bytes) / double(weights),
                8.0 * double(lin_bytes) / double(lin_weights),
                8.0 * double(bytes - lin_bytes) / double(weights - lin_weights));
    bits_per_weight_ = 8.0 * double(bytes) / double(weights);
  }

  void print_hardware() const {
    std::printf("  per kind of product: functional-model runs; Verilated RTL runs, their cycles (full speed) and "
                "mismatches vs the functional model\n");
    std::printf("  %-5s %8s %9s %5s %11s %11s %12s %10s\n", "kind", "shape", "functional", "RTL", "config cyc",
                "stream cyc", "weights/cyc", "mismatches");
    uint64_t stream = 0, weights = 0, cycles = 0;
    for (int k = 0; k < kKinds; ++k) {
      const KindStats& s = stats_[size_t(k)];
      const Matrix& M = *matrices_.at({k, k == int(ws::LinearKind::cls) ? -1 : 0});
      char shape[32];
      std::snprintf(shape, sizeof shape, "%dx%d", M.rows, M.cols);
      if (s.rtl == 0) {
        std::printf("  %-5s %8s %9" PRIu64 " %5d %11s %11s %12s %10s\n", kind_name(ws::LinearKind(k)).c_str(), shape,
                    s.functional, 0, "-", "-", "-", "-");
        continue;
      }
      std::printf("  %-5s %8s %9" PRIu64 " %5" PRIu64 " %11.0f %11.0f %12.3f %10" PRIu64 "\n",
                  kind_name(ws::LinearKind(k)).c_str(), shape, s.functional, s.rtl,
                  double(s.config_cycles) / double(s.rtl), double(s.stream_cycles) / double(s.rtl),
                  double(s.weights) / double(s.stream_cycles), s.mismatches + s.cycle_mismatches);
      stream += s.stream_cycles;
      weights += s.weights;
      cycles += s.config_cycles + s.stream_cycles;
    }
    std::printf("  RTL total: %" PRIu64 " products, %" PRIu64 " y values compared, %" PRIu64
                " cycles, %.3f weights per streaming cycle, mismatches %" PRIu64 " (values) + %" PRIu64
                " (cycles vs the cycle model)\n",
                rtl_products(), rtl_values(), cycles, weights ? double(weights) / double(stream) : 0.0, value_mismatches(),
                cycle_mismatches());
  }

  nlohmann::json report() const {
    nlohmann::json j;
    j["container"] = path_;
    j["bits_per_weight"] = bits_per_weight_;
    for (int k = 0; k < kKinds; ++k) {
      const KindStats& s = stats_[size_t(k)];
      j["kinds"].push_back({{"kind", kind_name(ws::LinearKind(k))}, {"functional", s.functional}, {"rtl", s.rtl},
                            {"rtl_values", s.rtl_values}, {"config_cycles", s.config_cycles},
                            {"stream_cycles", s.stream_cycles}, {"weights", s.weights},
                            {"mismatches", s.mismatches + s.cycle_mismatches}});
    }
    j["rtl_products"] = rtl_products();
    j["mismatches"] = value_mismatches() + cycle_mismatches();
    return j;
  }
  uint64_t rtl_products() const { return sum(&KindStats::rtl); }
  uint64_t rtl_values() const { return sum(&KindStats::rtl_values); }
  uint64_t value_mismatches() const { return sum(&KindStats::mismatches); }
  uint64_t cycle_mismatches() const { return sum(&KindStats::cycle_mismatches); }

 private:
  uint64_t sum(uint64_t KindStats::*f) const {
    uint64_t n = 0;
    for (const KindStats& s : stats_) n += s.*f;
    return n;
  }

  // Generated token t runs `rtl_products_` of layer t mod L's products on the RTL, the kinds rotating
  // with t so that every kind gets its turn.
  bool on_rtl(const ws::LinearView& lv) const {
    if (token_ < 0 || lv.kind == ws::LinearKind::cls || lv.layer != token_ % n_layers_) return false;
    return (int(lv.kind) - token_ % ws::kLayerLinears + ws::kLayerLinears) % ws::kLayerLinears < rtl_products_;
  }

  void product(const ws::LinearView& lv, const float* x, float* y) {
    const Matrix& M = *matrices_.at({int(lv.kind), lv.kind == ws::LinearKind::cls ? -1 : lv.layer});
    const std::vector<uint16_t> xb = ws::fp32_to_bf16(x, size_t(lv.in));
    ws::PipelineLayer job;
    if (M.dense) {
      if (lv.perm) throw DemoError(path_ + ": a dense layer with a channel permutation");
      job = ws::dense_pipeline_layer(M.dm.views, M.rows, M.cols, xb);
    } else {
      std::vector<int32_t> perm = lv.perm ? std::vector<int32_t>(lv.perm, lv.perm + lv.in) : std::vector<int32_t>();
      job = ws::sparse24_pipeline_layer(M.sm.views, std::move(perm), xb);
    }
    const std::vector<uint32_t> yf = ws::weight_pipeline_y(job, &pool_, threads_);
    KindStats& s = stats_[size_t(lv.kind)];
    ++s.functional;
    if (on_rtl(lv)) {
      const wp::Result r = drv_.run({job});
      if (r.err || !r.complete)
        throw DemoError(path_ + ": " + kind_name(lv.kind) + " layer " + std::to_string(lv.layer) + ": the pipeline " +
                        (r.err ? "raised error " + ws::weight_pipeline_error_text(r.err_cause) : std::string("did not finish")));
      const wp::LayerResult& lr = r.layers.at(0);
      for (size_t i = 0; i < yf.size(); ++i) s.mismatches += i >= lr.y.size() || lr.y[i] != yf[i];
      s.cycle_mismatches += r.cycle_mismatches + r.transfer_mismatches + r.assertion_errors;
      ++s.rtl;
      s.rtl_values += yf.size();
      s.config_cycles += lr.load_cycles();
      s.stream_cycles += lr.stream_cycles();
      s.weights += lr.dense;
    }
    for (size_t i = 0; i < yf.size(); ++i) std::memcpy(&y[i], &yf[i], 4);
  }
  std::string path_;
  ws::ContainerReader reader_;
  ws::ThreadPool& pool_;
  unsigned threads_;
  wp::Driver& drv_;
  int rtl_products_;
  int n_layers_;
  int token_ = -1;
  std::map<std::pair<int, int>, std::unique_ptr<Matrix>> matrices_;
  std::array<KindStats, kKinds> stats_{};
  mutable double bits_per_weight_ = 0;
};

// Greedy generation as `weightstream generate` does it (ops/generate.cpp): the prompt's tokens, then
// argmax until end-of-sequence, <|im_end|> or max_tokens. on_step(t) runs before the forward pass of
// generated token t; on_logits(pos, logits) after each forward pass of the answer.
struct Generation {
  std::vector<int> tokens;  // the answer's, the ending one included
  std::string text;
  double seconds = 0;
};
Generation generate(ws::Llama& model, const ws::Tokenizer& tok, const std::vector<int>& prompt, int max_tokens,
                    const std::function<void(int)>& on_step = {},
                    const std::function<void(int, const std::vector<float>&)>& on_logits = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  Generation g;
  ws::Sampler sampler(1);
  const std::vector<float>* logits = nullptr;
  for (size_t pos = 0; pos < prompt.size(); ++pos) logits = &model.forward(prompt[pos], int(pos));
  if (on_logits) on_logits(int(prompt.size()) - 1, *logits);
  for (int pos = int(prompt.size()); int(g.tokens.size()) < max_tokens; ++pos) {
    const int next = sampler.sample(*logits, 0.0f);
    g.tokens.push_back(next);
    if (next == tok.eos() || next == tok.chat_end()) break;
    g.text += tok.piece(next);
    if (pos >= model.max_seq() || int(g.tokens.size()) == max_tokens) break;
    if (on_step) on_step(int(g.tokens.size()) - 1);
    logits = &model.forward(next, pos);
    if (on_logits) on_logits(pos, *logits);
  }
  g.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return g;
}

std::string ids_text(const std::vector<int>& ids) {
  std::string s;
  for (int t : ids) s += (s.empty() ? "" : " ") + std::to_string(t);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"weightstream demo: SmolLM2 answers a chat prompt with every linear product from the compressed stream"};
  std::string bf16_path, lossless_path, pruned_path, prompt = "What is the capital of France?";
  std::string report_path = "build/reports/demo_smollm2.json", work = "build/demo-smollm2";
  int tokens = 32, rtl_products = ws::kLayerLinears;
  unsigned threads = 2;
  app.add_option("--bf16", bf16_path, "the plain bf16 model (convert --to bf16 of the GGUF): tokenizer and reference")->required();
  app.add_option("--lossless", lossless_path, "that model compressed (.wsz)")->required();
  app.add_option("--pruned", pruned_path, "the model pruned 2:4, converted to bf16 and compressed (.wsz)");
  app.add_option("--prompt", prompt, "the user's message (under the model's chat template)");
  app.add_option("--tokens", tokens, "answer tokens at most")->check(CLI::Range(1, 512));
  app.add_option("--rtl-products", rtl_products, "products per generated token on the Verilated RTL (7: a whole layer)")
      ->check(CLI::Range(0, ws::kLayerLinears));
  app.add_option("--threads", threads, "threads of the functional model")->check(CLI::Range(1, 64));
  app.add_option("--report", report_path, "JSON report");
  app.add_option("--work", work, "where the decoded models go");
  CLI11_PARSE(app, argc, argv);

  try {
    std::filesystem::create_directories(work);
    const std::filesystem::path report_dir = std::filesystem::path(report_path).parent_path();
    std::filesystem::create_directories(report_dir.empty() ? "." : report_dir);
    const ws::Tokenizer tok = ws::load_tokenizer(bf16_path);
    std::vector<int> ids;
    if (tok.add_bos() && tok.bos() >= 0) ids.push_back(tok.bos());
    const std::vector<int> text = tok.encode(tok.chat_prompt(prompt), true);
    ids.insert(ids.end(), text.begin(), text.end());
    const int max_seq = int(ids.size()) + tokens + 1;
    ws::ThreadPool pool(threads - 1);
    nlohmann::json rep;
    rep["prompt"] = prompt;
    rep["prompt_tokens"] = ids.size();
    std::printf("prompt: \"%s\" -> %zu tokens through the chat template\n", prompt.c_str(), ids.size());

    // The reference: the plain bf16 model on the host (fp32 activations), as `weightstream generate`.
    const ws::LlamaWeights dense = ws::load_llama(bf16_path);
    ws::Llama ref_model(dense, max_seq);
    if (threads > 1) ref_model.set_hook(ws::parallel_matvec(pool, threads));
    const Generation ref = generate(ref_model, tok, ids, tokens);
    std::printf("\nbf16 model on the host (weightstream generate's forward pass, fp32 activations), %.1f s:\n  %s\n",
                ref.seconds, ref.text.c_str());
    rep["reference"] = {{"text", ref.text}, {"tokens", ref.tokens}};

    wp::Driver drv("", wp::Driver::built_params());
    int status = 0;

    // Lossless: every layer dense, from the container's bf16 chunks.
    {
      std::printf("\n== lossless: every linear product from the compressed bf16 stream (dense layers)\n");
      const ws::LlamaWeights w = Pipeline::decoded_model(lossless_path, work + "/lossless.safetensors");
      Pipeline pipe(lossless_path, w, true, pool, threads, drv, rtl_products);
      pipe.print_storage("container");
      ws::Llama model(w, max_seq);
      model.set_hook(pipe.hook());
      const Generation g = generate(model, tok, ids, tokens, [&](int t) { pipe.set_token(t); });
      const bool same = g.tokens == ref.tokens && g.text == ref.text;
      std::printf("  answer through the pipeline, %.1f s:\n  %s\n", g.seconds, g.text.c_str());
      std::printf("  tokens: %s\n", ids_text(g.tokens).c_str());
      std::printf("  identical to the bf16 model's answer: %s (%zu of %zu tokens)\n", same ? "yes" : "NO",
                  size_t(std::mismatch(g.tokens.begin(), g.tokens.end(), ref.tokens.begin(), ref.tokens.end()).first -
                         g.tokens.begin()),
                  ref.tokens.size());
      pipe.print_hardware();
      nlohmann::json j = pipe.report();
      j["text"] = g.text;
      j["tokens"] = g.tokens;
      j["identical_to_bf16"] = same;
      rep["lossless"] = j;
      if (!same) {
        std::fprintf(stderr, "error: the lossless pipeline's answer differs from the bf16 model's\n");
        status = 1;
      }
      if (pipe.value_mismatches() + pipe.cycle_mismatches() != 0) status = 1;
    }

    // 2:4: the pruned model's linear layers 2:4 (its classifier dense); KL from the dense bf16 model.
    if (!pruned_path.empty()) {
      std::printf("\n== 2:4 (E-Sparse): the pruned layers from their 2:4 stream, the classifier dense\n");
      const ws::LlamaWeights w = Pipeline::decoded_model(pruned_path, work + "/pruned.safetensors");
      if (!ws::same_config(w.config, dense.config)) throw DemoError(pruned_path + ": not the same model as " + bf16_path);
      Pipeline pipe(pruned_path, w, false, pool, threads, drv, rtl_products);
      pipe.print_storage("container");
      ws::Llama model(w, max_seq), dense_model(dense, max_seq);
      if (threads > 1) dense_model.set_hook(ws::parallel_matvec(pool, threads));
      model.set_hook(pipe.hook());
      // The dense model follows the pruned model's tokens, so both see the same sequence.
      double kl = 0;
      int kl_n = 0;
      std::vector<int> fed = ids;
      size_t dense_pos = 0;
      const Generation g = generate(
          model, tok, ids, tokens, [&](int t) { pipe.set_token(t); },
          [&](int pos, const std::vector<float>& logits) {
            const std::vector<float>* dl = nullptr;
            for (; int(dense_pos) <= pos; ++dense_pos) dl = &dense_model.forward(fed[dense_pos], int(dense_pos));
            kl += ws::kl_divergence(*dl, logits);
            ++kl_n;
            fed.push_back(ws::Sampler(1).sample(logits, 0.0f));
          });
      std::printf("  answer through the pipeline, %.1f s:\n  %s\n", g.seconds, g.text.c_str());
      std::printf("  KL(dense bf16 || 2:4 pipeline) over the %d answer positions: %.4f nats/token\n", kl_n, kl / kl_n);
      pipe.print_hardware();
      nlohmann::json j = pipe.report();
      j["text"] = g.text;
      j["tokens"] = g.tokens;
      j["kl_nats_per_token"] = kl / kl_n;
      rep["sparse24"] = j;
      if (pipe.value_mismatches() + pipe.cycle_mismatches() != 0) status = 1;
    }
    std::ofstream(report_path) << rep.dump(2) << "\n";
    std::printf("\nreport: %s\n", report_path.c_str());
    if (status) std::fprintf(stderr, "error: the demo's checks failed (see above)\n");
    return status;
  } catch (const ws::IoError& e) {
    std::fprintf(stderr, "error: %s: %s\n", e.path().c_str(), e.what());
  } catch (const std::exception& e) {  // DemoError, ws::FormatError (naming the file), a layer the RTL cannot take
    std::fprintf(stderr, "error: %s\n", e.what());
  }
  return 1;
}
