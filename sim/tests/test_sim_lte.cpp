// LTE in the token factory (docs/token_factory.md section 7): a pass fetches, per layer, the union of the
// experts its N tokens run, and the fetcher's DRAM bytes are exactly the compressed chunks of that union
// plus every other chunk. The expected bytes come from the container's index and the decisions file,
// read here on their own, not from the simulator's workload.
#include <gtest/gtest.h>

#include <random>

#include "codec/container_reader.hpp"
#include "files/safetensors.hpp"
#include "harness.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "lte_fetch.hpp"
#include "ops/compress.hpp"
#include "ops/convert.hpp"
#include "ops/lte_experts.hpp"
#include "ops/prune_model.hpp"

namespace wsim::test {
namespace {

// Decisions of `tokens` x `layers` x `experts` from a function of (token, layer, expert).
LteDecisions decisions(int tokens, int layers, int experts, const std::function<bool(int, int, int)>& on) {
  LteDecisions d;
  d.tokens = tokens, d.layers = layers, d.experts = experts;
  const size_t per = size_t(experts + 7) / 8;
  d.bits.assign(size_t(tokens) * size_t(layers) * per, 0);
  for (int t = 0; t < tokens; ++t)
    for (int l = 0; l < layers; ++l)
      for (int e = 0; e < experts; ++e)
        if (on(t, l, e)) d.bits[(size_t(t) * size_t(layers) + size_t(l)) * per + size_t(e) / 8] |= uint8_t(1u << (e % 8));
  return d;
}

TEST(SimLte, APassFetchesTheUnionOfItsTokensActiveExperts) {
  // 10 experts (two bytes a record); token t runs expert e of layer l when (t + l) % 10 == e or e == 9.
  const LteDecisions d = decisions(5, 2, 10, [](int t, int l, int e) { return (t + l) % 10 == e || e == 9; });
  for (int t = 0; t < 5; ++t)
    for (int l = 0; l < 2; ++l)
      for (int e = 0; e < 10; ++e) EXPECT_EQ(d.active(t, l, e), (t + l) % 10 == e || e == 9);
  // N = 1: the token's own; N = 2: pass 1 runs tokens 2 and 3; N = 3: pass 1 runs 3, 4 and (wrapping) 0.
  auto expect_union = [&](int pass, int n, const std::vector<int>& tokens) {
    const std::vector<std::vector<uint8_t>> u = pass_union(d, pass, n);
    ASSERT_EQ(u.size(), 2u);
    for (int l = 0; l < 2; ++l)
      for (int e = 0; e < 10; ++e) {
        bool any = false;
        for (int t : tokens) any = any || d.active(t, l, e);
        EXPECT_EQ(u[size_t(l)][size_t(e)], any) << "pass " << pass << " n " << n << " layer " << l << " expert " << e;
      }
  };
  expect_union(0, 1, {0});
  expect_union(3, 1, {3});
  expect_union(1, 2, {2, 3});
  expect_union(1, 3, {3, 4, 0});
  expect_union(0, 5, {0, 1, 2, 3, 4});
  // Every expert of layer 0 that some token runs: tokens 0..4 run experts 0..4 and 9.
  const std::vector<std::vector<uint8_t>> all = pass_union(d, 0, 5);
  EXPECT_EQ(all[0], (std::vector<uint8_t>{1, 1, 1, 1, 1, 0, 0, 0, 0, 1}));

  // The pass lists: every chunk that is no expert chunk, and the union's expert chunks, in order.
  Workload w;
  w.source = "synthetic";
  StreamChunk plain;
  w.chunks.push_back(plain);  // 0: an attention matrix, say
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 10; ++e) {
      StreamChunk c;
      c.layer = l, c.expert = e;
      w.chunks.push_back(c);  // 1 + 10 l + e
    }
  w.chunks.push_back(plain);  // 21
  const std::vector<std::vector<uint32_t>> passes = lte_passes(w, d, 2, 3);
  ASSERT_EQ(passes.size(), 3u);
  // Pass 0: tokens 0, 1: layer 0 experts 0, 1, 9; layer 1 experts 1, 2, 9.
  EXPECT_EQ(passes[0], (std::vector<uint32_t>{0, 1, 2, 10, 12, 13, 20, 21}));
  // Pass 2: tokens 4 and (wrapping) 0: layer 0 experts 4, 0, 9; layer 1 experts 5, 1, 9.
  EXPECT_EQ(passes[2], (std::vector<uint32_t>{0, 1, 5, 10, 12, 16, 20, 21}));
  // A workload without expert chunks, or with more layers than the decisions, is refused.
  Workload none;
  none.chunks = {plain};
  EXPECT_THROW(lte_passes(none, d, 1, 1), std::runtime_error);
  Workload deep = w;
  deep.chunks[1].layer = 2;
  EXPECT_THROW(lte_passes(deep, d, 1, 1), std::runtime_error);
}

// stories260K as bf16 (`convert --to bf16`), then `compress --lte` with its k-means grouping; and the
// norm oracle's decisions at 50% on 2 held-out sequences of 6 tokens (`eval --lte-norm 0.5 --lte-dump`).
// With `pruned`: the model pruned 2:4 first (magnitude, global+local, w2 shuffled inside the experts:
// `prune --lte`), so the container holds 2:4 expert chunks, and the decisions are the pruned model's.
struct LteFiles {
  TempDir dir;
  std::string wsz, decisions;
};
LteFiles* make_lte_files(bool pruned) {
  auto* f = new LteFiles;
  const std::string bf16 = f->dir / "stories260K.bf16.safetensors", side = f->dir / "experts.safetensors";
  const auto to_bf16 = [](const std::string& from, const std::string& to) {
    const ws::FileSource in(from);
    ws::AtomicFileSink out(to);
    ws::convert_to_bf16(in, out);
    out.commit();
  };
  to_bf16(model_path(), bf16);
  ws::save_lte(ws::lte_experts(ws::load_llama(bf16), ws::kLteExpertSize, 1), side);
  if (pruned) {  // the container's model is the pruned one, as bf16
    ws::PruneModelOptions po;
    po.in = model_path();
    po.out = f->dir / "pruned.safetensors";
    po.prune.method = ws::PruneMethod::magnitude;
    po.prune.shuffle = ws::ShuffleMode::global_local;
    po.lte = side;
    po.threads = 1;
    ws::prune_model(po);
    to_bf16(po.out, bf16);
  }
  const ws::LteSource src = ws::lte_source(bf16, side);
  ws::CompressOptions opt;
  opt.experts = src.experts;
  opt.threads = 1;
  ws::VectorSink wsz;
  ws::compress(ws::MemorySource(src.bytes.data(), src.bytes.size()), wsz, opt);
  f->wsz = f->dir / "stories260K.lte.wsz";
  ws::AtomicFileSink out(f->wsz);
  out.write(wsz.bytes.data(), wsz.bytes.size());
  out.commit();
  ws::EvalModelsOptions eo;
  eo.dense = bf16;
  eo.lte = {side};
  eo.lte_norm = {0.5};
  eo.seqs = 2;
  eo.len = 5;
  eo.threads = 1;
  f->decisions = f->dir / "decisions.safetensors";
  eo.lte_dump = f->decisions;
  ws::evaluate_models(eo);
  return f;
}
const LteFiles& lte_files() {
  static const LteFiles* f = make_lte_files(false);
  return *f;
}
const LteFiles& lte_files_24() {
  static const LteFiles* f = make_lte_files(true);
  return *f;
}

// The fetcher's DRAM bytes over `tokens` passes are the union's expert chunks and every other chunk, as
// the index has them; every processor's checks pass.
void expect_union_bytes(const LteFiles& files, Mode mode) {
  // The decisions as the file has them, and the container's chunks as its index has them.
  const ws::SafetensorsFile st = ws::read_safetensors(files.decisions);
  const ws::SafetensorsTensor* t = st.find("lte.decisions");
  ASSERT_TRUE(t);
  const std::vector<uint8_t> bits = read_all(files.decisions);
  const uint64_t tokens = t->shape[0], layers = t->shape[1], per = t->shape[2];
  EXPECT_EQ(tokens, 12u);  // 2 sequences of BOS + 5 tokens... every position routed
  auto on = [&](uint64_t token, uint64_t layer, uint64_t e) {
    return (bits[size_t(t->offset + (token * layers + layer) * per + e / 8)] >> (e % 8)) & 1;
  };
  const std::vector<uint8_t> wsz = read_all(files.wsz);
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  for (int n : {1, 3}) {
    Config c = smoke_config(mode, n);
    (mode == Mode::Sparse ? c.pruned : c.model) = files.wsz;
    c.lte_decisions = files.decisions;
    c.tokens = 4;
    c.context = 0;
    uint64_t expected = 0, dense = 0;
    for (int p = 0; p < c.tokens; ++p)
      for (const ws::Segment& s : reader.index().segments) {
        if (!s.is_tensor() || s.name.rfind("freq_cis", 0) == 0) continue;
        for (const ws::ChunkEntry& e : s.chunks) {
          dense += e.size;
          bool fetch = !s.has_experts();
          for (int i = 0; i < n && !fetch; ++i) fetch = on(uint64_t(p * n + i) % tokens, e.matrix, e.expert);
          if (fetch) expected += e.size;
        }
      }
    const Report r = simulate(c);
    std::printf("%s, N = %d, %d passes: fetched %llu bytes = the unions' chunks %llu (every chunk: %llu); "
                "checker errors %llu\n", mode_name(mode), n, c.tokens, (unsigned long long)r.weights.read_bytes,
                (unsigned long long)expected, (unsigned long long)dense, (unsigned long long)r.errors());
    EXPECT_EQ(r.weights.read_bytes, expected) << "N = " << n;
    EXPECT_LT(expected, dense);
    EXPECT_EQ(r.errors(), 0u);
    for (const ProcessorStats& ps : r.processors) EXPECT_EQ(ps.errors, 0u);
  }
}

TEST(SimLte, DramBytesAreTheCompressedChunksOfTheUnion) {
  const LteFiles& files = lte_files();
  expect_union_bytes(files, Mode::Compressed);
  // A container without expert chunks cannot take decisions.
  Config plain = smoke_config(Mode::Compressed, 1);
  plain.lte_decisions = files.decisions;
  EXPECT_THROW(load_workload(plain), std::runtime_error);
}

// Compressed 2:4 (docs/token_factory.md section 7): the same with 2:4 expert chunks, each w2 column block's
// rows packed with K = its columns, which the processors decode and check.
TEST(SimLte, DramBytesAreThe2To4ChunksOfTheUnion) {
  const LteFiles& files = lte_files_24();
  const std::vector<uint8_t> wsz = read_all(files.wsz);
  const ws::ContainerReader reader = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  for (const char* name : {"w1", "w2", "w3"}) {
    ASSERT_TRUE(reader.tensor(name).is_sparse24()) << name;
    ASSERT_TRUE(reader.tensor(name).has_experts()) << name;
  }
  expect_union_bytes(files, Mode::Sparse);
}

}  // namespace
}  // namespace wsim::test
