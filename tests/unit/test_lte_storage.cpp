// LTE's storage (docs/lte.md "Storage and fetch", docs/format.md section 4.3) on the real stories260K:
// `compress --lte` stores the FFN in expert order, one chunk per expert (w1/w3 rows, w2 column blocks),
// in a version-4 container whose index keys each chunk by (matrix, expert); it decompresses to exactly
// expert_ordered() of the model; a reader that fetches only the active experts' chunks reads exactly
// their bytes, and the forward pass computed from those bytes alone is the gated forward pass bit for
// bit; the same for stories260K pruned 2:4 with w2's shuffle inside the experts (`prune --lte`), stored
// in 2:4 expert chunks; a crafted index (overlapping, out-of-range, missing experts, a 2:4 column block
// that is not whole groups of 4) is refused by name.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "codec/container_reader.hpp"
#include "codec/sparse24_chunk.hpp"
#include "hw/stream_program.hpp"
#include "container_io.hpp"
#include "llm/llama.hpp"
#include "llm/llama_io.hpp"
#include "llm/lte.hpp"
#include "ops/lte_experts.hpp"
#include "ops/prune_model.hpp"
#include "test_env.hpp"
#include "tool_run.hpp"

namespace {

using namespace wstest;

const ws::LlamaWeights& stories() {
  static const ws::LlamaWeights w = ws::load_llama(stories_path());
  return w;
}

// The k-means grouping with a random router (TB_SEED; about half the experts on at threshold 0.5).
ws::LteSide random_router_side(uint64_t seed) {
  ws::LteSide s = ws::lte_experts(stories(), ws::kLteExpertSize, 1);
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 0.3f);
  s.router.resize(size_t(s.n_layers) * size_t(s.experts()) * size_t(s.dim));
  for (float& v : s.router) v = n(rng);
  s.threshold.assign(size_t(s.n_layers), 0.5f);
  return s;
}

// What compress --lte makes of stories260K (f32: the .bin's dtype) under that side file.
struct LteContainer {
  ws::LteSide side;          // the input side file
  ws::LteSource source;      // the expert-ordered model, its cuts, its identity-order side file
  Bytes wsz;
};

const LteContainer& lte_container() {
  static const LteContainer c = [] {
    LteContainer c;
    c.side = random_router_side(seed());
    const fs::path dir = test_dir();
    const std::string side_path = (dir / "side.safetensors").string();
    ws::save_lte(c.side, side_path);
    c.source = ws::lte_source(stories_path(), side_path);
    ws::CompressOptions opt;
    opt.experts = c.source.experts;
    c.wsz = compress_bytes(c.source.bytes, opt);
    return c;
  }();
  return c;
}

size_t bit_mismatches(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

TEST(LteStorage, ContainerCutsTheFfnAtExpertBoundariesAndDecompressesToTheExpertOrderedModel) {
  const LteContainer& c = lte_container();
  const ws::ContainerReader r = ws::ContainerReader::from_memory(c.wsz.data(), c.wsz.size());
  EXPECT_EQ(r.version(), ws::kVersionExperts);
  const std::vector<int> b = c.side.bounds();  // 0, 32, ..., 160, 172
  const int L = c.side.n_layers, E = c.side.experts(), H = c.side.hidden_dim, D = c.side.dim;
  for (const char* name : {"w1", "w3", "w2"}) {
    const ws::Segment& t = r.tensor(name);
    const bool columns = std::string(name) == "w2";
    EXPECT_EQ(t.experts, columns ? ws::Segment::Experts::Columns : ws::Segment::Experts::Rows) << name;
    ASSERT_EQ(t.chunks.size(), size_t(L * E)) << name;
    for (int l = 0; l < L; ++l)
      for (int e = 0; e < E; ++e) {
        const ws::ChunkEntry& k = t.chunks[size_t(l * E + e)];
        EXPECT_EQ(k.matrix, uint32_t(l));
        EXPECT_EQ(k.expert, uint32_t(e));
        EXPECT_EQ(k.first, uint32_t(b[size_t(e)]));
        EXPECT_EQ(k.count, uint32_t(b[size_t(e) + 1] - b[size_t(e)]));
        EXPECT_EQ(k.value_count, k.count * uint32_t(D));  // [count][dim] rows or [dim][count] block
        EXPECT_EQ(ws::expert_chunk(t, uint64_t(l), uint32_t(e)), size_t(l * E + e));
      }
  }
  EXPECT_EQ(r.tensor("wq").experts, ws::Segment::Experts::None);
  // The bytes it restores are the expert-ordered model, and so are the weights they load as.
  const Bytes restored = decompress_bytes(c.wsz, 2);
  ASSERT_EQ(restored, c.source.bytes);
  const fs::path file = test_dir() / "restored.safetensors";
  write_file(file, restored);
  const ws::LlamaWeights got = ws::load_llama(file.string());
  const ws::LlamaWeights want = ws::expert_ordered(stories(), c.side);
  size_t mismatches = 0, values = 0;
  for (int k = 0; k < ws::kLayerLinears; ++k) {
    mismatches += bit_mismatches(got.linear[size_t(k)], want.linear[size_t(k)]);
    values += want.linear[size_t(k)].size();
  }
  mismatches += bit_mismatches(got.token_embedding_table, want.token_embedding_table) +
                bit_mismatches(got.rms_att_weight, want.rms_att_weight) +
                bit_mismatches(got.rms_ffn_weight, want.rms_ffn_weight) +
                bit_mismatches(got.rms_final_weight, want.rms_final_weight);
  std::printf("expert-ordered model from the container: %zu bit mismatches of %zu linear weights and the rest; "
              "%d layers x %d experts (H = %d)\n", mismatches, values, L, E, H);
  EXPECT_EQ(mismatches, 0u);
  // decode_tensor puts the column blocks back too.
  const Bytes w2 = r.decode_tensor("w2");
  ASSERT_EQ(w2.size(), want.linear[int(ws::LinearKind::w2)].size() * 4);
  EXPECT_EQ(std::memcmp(w2.data(), want.linear[int(ws::LinearKind::w2)].data(), w2.size()), 0);
  // Without cuts the same source is a version-3 container, as before.
  const Bytes plain = compress_bytes(c.source.bytes);
  EXPECT_EQ(ws::ContainerReader::from_memory(plain.data(), plain.size()).version(), ws::kContainerVersion);
  std::printf("container: %zu bytes with expert chunks, %zu without (+%zd)\n", c.wsz.size(), plain.size(),
              ssize_t(c.wsz.size()) - ssize_t(plain.size()));
}

TEST(LteStorage, TheContainersModelUnderItsSideFileGivesTheOriginalsLogits) {
  const LteContainer& c = lte_container();
  const fs::path file = test_dir() / "restored.safetensors";
  write_file(file, decompress_bytes(c.wsz));
  const ws::LlamaWeights restored = ws::load_llama(file.string());
  const ws::LlamaWeights ordered = ws::expert_ordered(stories(), c.side);  // what eval --lte runs
  ws::RouterGate gate_a(c.side), gate_b(c.source.side);
  ws::Llama a(ordered, 40), b(restored, 40);
  a.set_ffn_gate(&gate_a);
  b.set_ffn_gate(&gate_b);
  size_t mismatches = 0, logits = 0;
  const int tokens[] = {1, 365, 471, 261, 280, 2, 29, 384};  // vocabulary 512
  for (int pos = 0; pos < 40; ++pos) {
    const int tok = tokens[size_t(pos) % 8];
    const std::vector<float> la = a.forward(tok, pos);
    mismatches += bit_mismatches(la, b.forward(tok, pos));
    logits += la.size();
  }
  std::printf("logits: %zu bit mismatches of %zu; experts off %llu of %llu\n", mismatches, logits,
              static_cast<unsigned long long>(gate_a.counts().experts_off),
              static_cast<unsigned long long>(gate_a.counts().experts));
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(gate_a.counts().experts_off, gate_b.counts().experts_off);
  EXPECT_GT(gate_a.counts().experts_off, 0u);
  EXPECT_LT(gate_a.counts().experts_off, gate_a.counts().experts);
}

// A byte source that counts what is read from it and lends nothing in place (so every read counts).
class CountingSource final : public ws::ByteSource {
 public:
  explicit CountingSource(const Bytes& b) : inner_(b.data(), b.size()) {}
  uint64_t size() const override { return inner_.size(); }
  void read(uint64_t offset, uint8_t* dst, size_t n) const override {
    inner_.read(offset, dst, n);
    bytes_ += n;
  }
  const uint8_t* view(uint64_t, size_t) const override { return nullptr; }
  uint64_t bytes() const { return bytes_; }
  void reset() { bytes_ = 0; }

 private:
  ws::MemorySource inner_;
  mutable std::atomic<uint64_t> bytes_{0};
};

// A gate that remembers each layer's last decision.
class RecordingGate final : public ws::FfnGate {
 public:
  explicit RecordingGate(ws::FfnGate& inner, int layers) : inner_(inner), last_(size_t(layers)) {}
  const std::vector<int>& bounds() const override { return inner_.bounds(); }
  void route(int layer, const float* xb, uint8_t* active) override {
    inner_.route(layer, xb, active);
    last_[size_t(layer)].assign(active, active + bounds().size() - 1);
  }
  const std::vector<uint8_t>& last(int layer) const { return last_[size_t(layer)]; }

 private:
  ws::FfnGate& inner_;
  std::vector<std::vector<uint8_t>> last_;
};

std::vector<float> floats_of(const Bytes& b) {
  std::vector<float> f(b.size() / 4);
  std::memcpy(f.data(), b.data(), f.size() * 4);
  return f;
}

// The forward pass of `ordered` (the model in `side`'s expert order, the container's model) under
// side's routers, once with the model's own weights and once with its FFN weights NaN and every FFN
// product computed from expert chunks fetched from `wsz` (only the active experts'); prints and checks
// 0 bit mismatches of the logits and bytes read = the active chunks' sizes from the index.
void expect_fetched_forward_is_the_gated_forward(const Bytes& wsz, const ws::LteSide& side,
                                                 const ws::LlamaWeights& ordered, const char* what) {
  auto owned = std::make_unique<CountingSource>(wsz);
  const CountingSource& counter = *owned;
  const ws::ContainerReader reader(std::move(owned));
  const ws::Segment& w1 = reader.tensor("w1");
  const ws::Segment& w3 = reader.tensor("w3");
  const ws::Segment& w2 = reader.tensor("w2");
  // The model the hooked pass runs has no FFN weights (NaN): every FFN product must come from the fetch.
  ws::LlamaWeights hollow = ordered;
  for (ws::LinearKind k : {ws::LinearKind::w1, ws::LinearKind::w2, ws::LinearKind::w3})
    std::fill(hollow.linear[int(k)].begin(), hollow.linear[int(k)].end(), std::numeric_limits<float>::quiet_NaN());
  const int D = side.dim, H = side.hidden_dim, E = side.experts(), L = side.n_layers;
  const std::vector<int> b = side.bounds();

  ws::RouterGate router_ref(side), router(side);
  RecordingGate gate(router, L);
  uint64_t expected_bytes = 0, fetches = 0;
  const_cast<CountingSource&>(counter).reset();
  auto hook = [&](const ws::LinearView& lv, const float* x, float* y) {
    const bool ffn = lv.kind == ws::LinearKind::w1 || lv.kind == ws::LinearKind::w3 || lv.kind == ws::LinearKind::w2;
    if (!ffn) return ws::matvec(lv, x, y);
    const std::vector<uint8_t>& active = gate.last(lv.layer);
    if (lv.kind == ws::LinearKind::w2) {  // the active column blocks, gathered in expert order
      std::vector<float> m(size_t(D) * size_t(lv.in));
      int at = 0;
      for (const ws::ExpertBlock& blk : ws::fetch_experts(reader, w2, uint64_t(lv.layer), active)) {
        const std::vector<float> v = floats_of(blk.values);  // [D][count] (2:4: dense, the dropped values +0)
        for (int r = 0; r < D; ++r)
          std::copy(v.begin() + r * int(blk.count), v.begin() + (r + 1) * int(blk.count),
                    m.begin() + r * lv.in + at);
        at += int(blk.count);
        expected_bytes += blk.coded_bytes;
        ++fetches;
      }
      ASSERT_EQ(at, lv.in);
      ws::LinearView v = lv;  // lv.perm: a pruned model's expert-local shuffle over the gathered columns
      v.w = m.data();
      return ws::matvec(v, x, y);
    }
    // w1 / w3: a run of consecutive active experts; which rows, from where the view points.
    const ws::Segment& t = lv.kind == ws::LinearKind::w1 ? w1 : w3;
    const float* base = hollow.linear[int(lv.kind)].data() + size_t(lv.layer) * size_t(H) * size_t(D);
    const int row0 = int((lv.w - base) / D);
    std::vector<uint8_t> run(size_t(E), 0);
    for (int e = 0; e < E; ++e) run[size_t(e)] = b[size_t(e)] >= row0 && b[size_t(e) + 1] <= row0 + lv.out;
    std::vector<float> m;
    for (const ws::ExpertBlock& blk : ws::fetch_experts(reader, t, uint64_t(lv.layer), run)) {
      ASSERT_TRUE(active[blk.expert]) << "fetched an inactive expert";
      const std::vector<float> v = floats_of(blk.values);
      m.insert(m.end(), v.begin(), v.end());
      expected_bytes += blk.coded_bytes;
      ++fetches;
    }
    ASSERT_EQ(m.size(), size_t(lv.out) * size_t(D));
    ws::LinearView v = lv;
    v.w = m.data();
    ws::matvec(v, x, y);
  };

  ws::Llama ref(ordered, 48), fetched(hollow, 48);
  ref.set_ffn_gate(&router_ref);
  fetched.set_ffn_gate(&gate);
  fetched.set_hook(hook);
  size_t mismatches = 0, logits = 0;
  uint64_t active_chunk_bytes = 0;  // the sum of the active experts' chunk sizes, from the index
  std::mt19937 rng{uint32_t(seed())};
  std::uniform_int_distribution<int> tok(0, stories().config.vocab_size - 1);
  for (int pos = 0; pos < 48; ++pos) {
    const int t = pos == 0 ? 1 : tok(rng);
    const std::vector<float> want = ref.forward(t, pos);
    mismatches += bit_mismatches(want, fetched.forward(t, pos));
    logits += want.size();
    for (int l = 0; l < L; ++l)
      for (int e = 0; e < E; ++e)
        if (gate.last(l)[size_t(e)])
          for (const ws::Segment* s : {&w1, &w3, &w2})
            active_chunk_bytes += s->chunks[ws::expert_chunk(*s, uint64_t(l), uint32_t(e))].size;
  }
  const uint64_t all_chunk_bytes = [&] {
    uint64_t n = 0;
    for (const ws::Segment* s : {&w1, &w3, &w2})
      for (const ws::ChunkEntry& e : s->chunks) n += e.size;
    return n * 48;
  }();
  std::printf("%s, TB_SEED=%llu: %zu bit mismatches of %zu logits; read %llu bytes in %llu chunk fetches = the active "
              "chunks' %llu bytes (all FFN chunks: %llu); experts off %llu of %llu\n",
              what, static_cast<unsigned long long>(seed()), mismatches, logits,
              static_cast<unsigned long long>(counter.bytes()), static_cast<unsigned long long>(fetches),
              static_cast<unsigned long long>(active_chunk_bytes), static_cast<unsigned long long>(all_chunk_bytes),
              static_cast<unsigned long long>(router.counts().experts_off),
              static_cast<unsigned long long>(router.counts().experts));
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(counter.bytes(), active_chunk_bytes);
  EXPECT_EQ(expected_bytes, active_chunk_bytes);
  EXPECT_GT(router.counts().experts_off, 0u);
  EXPECT_LT(active_chunk_bytes, all_chunk_bytes);
  // A decision of the wrong length, a tensor without experts, a matrix out of range.
  EXPECT_NE(error_of([&] { ws::fetch_experts(reader, w1, 0, std::vector<uint8_t>(size_t(E + 1), 1)); }).find("experts"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ws::fetch_experts(reader, reader.tensor("wq"), 0, {1}); }).find("no expert chunks"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ws::fetch_experts(reader, w1, uint64_t(L), std::vector<uint8_t>(size_t(E), 1)); })
                .find("no matrix"),
            std::string::npos);
}

TEST(LteStorage, FetchReadsOnlyTheActiveExpertsAndTheirBytesGiveTheGatedForward) {
  const LteContainer& c = lte_container();
  expect_fetched_forward_is_the_gated_forward(c.wsz, c.side, ws::expert_ordered(stories(), c.side), "dense f32");
}

// 2:4 and LTE (docs/lte.md): stories260K pruned by E-Sparse with w2's channel shuffle kept inside the
// side file's experts (`prune --lte`), then `compress --lte`: w1/w3/w2 are 2:4 expert chunks (w2's
// column blocks packed 2:4 row segment by row segment).
struct PrunedLteContainer {
  ws::LteSide side;
  std::string pruned_path;
  ws::LteSource source;
  Bytes wsz;
};

const PrunedLteContainer& pruned_lte_container() {
  static const PrunedLteContainer c = [] {
    PrunedLteContainer c;
    c.side = random_router_side(seed());
    const fs::path dir = test_dir();
    const std::string side_path = (dir / "side24.safetensors").string();
    ws::save_lte(c.side, side_path);
    ws::PruneModelOptions o;  // E-Sparse, global+local shuffle, a small calibration (the test is about storage)
    o.in = stories_path();
    o.out = c.pruned_path = (dir / "pruned_lte.safetensors").string();
    o.calib = 4;
    o.calib_len = 64;
    o.threads = 2;
    o.lte = side_path;
    ws::prune_model(o);
    c.source = ws::lte_source(c.pruned_path, side_path);
    ws::CompressOptions opt;
    opt.experts = c.source.experts;
    c.wsz = compress_bytes(c.source.bytes, opt);
    return c;
  }();
  return c;
}

TEST(LteStorage, Sparse24ExpertChunksOfThePrunedModelGiveItsGatedForward) {
  const PrunedLteContainer& c = pruned_lte_container();
  const ws::ContainerReader r = ws::ContainerReader::from_memory(c.wsz.data(), c.wsz.size());
  EXPECT_EQ(r.version(), ws::kVersionSparse24Experts);
  const std::vector<int> b = c.side.bounds();
  const int L = c.side.n_layers, E = c.side.experts(), D = c.side.dim;
  for (const char* name : {"w1", "w3", "w2"}) {
    const ws::Segment& t = r.tensor(name);
    const bool columns = std::string(name) == "w2";
    EXPECT_TRUE(t.is_sparse24()) << name;
    EXPECT_EQ(t.experts, columns ? ws::Segment::Experts::Columns : ws::Segment::Experts::Rows) << name;
    ASSERT_EQ(t.chunks.size(), size_t(L * E)) << name;
    for (size_t j = 0; j < t.chunks.size(); ++j) {
      const ws::ChunkEntry& k = t.chunks[j];
      EXPECT_EQ(k.count, uint32_t(b[size_t(k.expert) + 1] - b[size_t(k.expert)]));
      EXPECT_EQ(k.value_count, k.count * uint32_t(D));
      // A column block's rows are packed with its own count of columns: S = count / 4 rounded up to even.
      const Bytes chunk = r.chunk_bytes(t, j);
      EXPECT_EQ(ws::parse_sparse24_chunk(chunk.data(), chunk.size()).groups,
                ws::sparse24_stored_groups(columns ? k.count : uint64_t(D)));
    }
  }
  EXPECT_TRUE(r.tensor("wq").is_sparse24());
  EXPECT_FALSE(r.tensor("wq").has_experts());
  // Lossless: it restores the expert-ordered pruned model byte for byte.
  ASSERT_EQ(decompress_bytes(c.wsz, 2), c.source.bytes);
  // The hardware's whole-row API refuses the column blocks by name.
  EXPECT_NE(error_of([&] { ws::sparse24_chunks(r, "w2"); }).find("expert column blocks"), std::string::npos);
  // The LTE stream program (docs/lte.md, the RTL skip) takes dense expert chunks only, and says so.
  EXPECT_NE(error_of([&] { ws::expert_matrices(r, "w1"); }).find("holds 2:4 expert chunks"), std::string::npos);

  const ws::LlamaWeights pruned = ws::load_llama(c.pruned_path);
  const ws::LlamaWeights ordered = ws::expert_ordered(pruned, c.side);
  // w2 keeps its stored (2:4) columns; its shuffle became expert-local; and the ordered model computes
  // the pruned one's function (the same products in the same order: bit for bit).
  EXPECT_EQ(ordered.linear[int(ws::LinearKind::w2)], pruned.linear[int(ws::LinearKind::w2)]);
  const std::vector<int32_t>& p2 = ordered.perm[int(ws::LinearKind::w2)];
  ASSERT_EQ(p2.size(), size_t(L) * size_t(c.side.hidden_dim));
  size_t crossing = 0, moved = 0;
  for (int l = 0; l < L; ++l)
    for (int e = 0; e < E; ++e)
      for (int j = b[size_t(e)]; j < b[size_t(e) + 1]; ++j) {
        const int32_t k = p2[size_t(l * c.side.hidden_dim + j)];
        crossing += k < b[size_t(e)] || k >= b[size_t(e) + 1];
        moved += k != j;
      }
  EXPECT_EQ(crossing, 0u);
  EXPECT_GT(moved, 0u);  // the shuffle did shuffle
  {
    ws::Llama a(pruned, 16), o(ordered, 16);
    size_t mismatches = 0;
    for (int pos = 0; pos < 16; ++pos) {
      const int tok = pos == 0 ? 1 : 100 + 7 * pos;
      mismatches += bit_mismatches(a.forward(tok, pos), o.forward(tok, pos));
    }
    // w1/w3 rows only move, and w2's stored columns stay and read the same neurons: the same products
    // summed in the same order, so bit for bit.
    std::printf("pruned model in expert order, every expert on: %zu bit mismatches of %d logits\n", mismatches,
                16 * pruned.config.vocab_size);
    EXPECT_EQ(mismatches, 0u);
  }
  expect_fetched_forward_is_the_gated_forward(c.wsz, c.side, ordered, "2:4 E-Sparse f32");

  // A shuffle that ignores the experts does not compose with the expert order, and says so.
  const fs::path dir = test_dir();  // fresh: the container's files are gone
  ws::PruneModelOptions o;
  o.in = stories_path();
  o.out = (dir / "pruned_plain.safetensors").string();
  o.calib = 4;
  o.calib_len = 64;
  o.threads = 2;
  ws::prune_model(o);
  EXPECT_NE(error_of([&] { ws::expert_ordered(ws::load_llama(o.out), c.side); }).find("crosses the side file's expert boundaries"),
            std::string::npos);
  // Experts whose size is not whole groups of 4 (experts of 6) cannot keep 2:4 groups inside them.
  o.out = (dir / "pruned_e6.safetensors").string();
  o.lte = (dir / "side_e6.safetensors").string();
  ws::save_lte(ws::lte_experts(stories(), 6, 1), o.lte);
  std::string refused;
  try {
    ws::prune_model(o);
  } catch (const ws::FileError& e) {
    refused = e.path() + ": " + e.what();
  }
  EXPECT_EQ(refused, o.lte + ": expert 0 has 6 neurons, not a multiple of 4: 2:4 groups would straddle experts");
}

// The reader's error for the container with its index edited by `edit`.
std::string index_error(const std::function<void(ws::Index&)>& edit) {
  const Bytes bad = with_index(lte_container().wsz, edit);
  return error_of([&] { ws::ContainerReader::from_memory(bad.data(), bad.size()); });
}

ws::Segment& seg(ws::Index& ix, const std::string& name) {
  for (ws::Segment& s : ix.segments)
    if (s.name == name) return s;
  throw std::logic_error("no " + name);
}

TEST(LteStorage, ACraftedExpertIndexIsRefusedByName) {
  // Untouched, it reads.
  EXPECT_EQ(index_error([](ws::Index&) {}), "");
  // Overlap: expert 1 of layer 0 starts inside expert 0 (rows 16..48), the chunk before it 0..32.
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w1").chunks[1].first = 16; }),
            "expert chunk rows 16..48 of matrix 0 overlaps the chunk before in tensor 'w1' chunk 1");
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w1").chunks[1].first = 40; }),
            "gap before expert chunk rows 40..72 of matrix 0 in tensor 'w1' chunk 1");
  // Out of range: the last expert of layer 0 reaching past the 172 rows; a matrix past the 5 layers.
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w2").chunks[5].count = 20; }),
            "expert chunk columns 160..180 of matrix 0 out of range (172 columns) in tensor 'w2' chunk 5");
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w3").chunks[29].matrix = 5; }),
            "expert chunk in matrix 5 out of range (5 matrices) in tensor 'w3' chunk 29");
  // Two chunks claiming the same expert; an expert's rows and its value count disagreeing.
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w1").chunks[2].expert = 1; }),
            "expert 1 where expert 2 comes next in tensor 'w1' chunk 2");
  EXPECT_EQ(index_error([](ws::Index& ix) {
              ws::Segment& s = seg(ix, "w1");
              s.chunks[0].count = 31;
              s.chunks[1].first = 31;
              s.chunks[1].count = 33;
            }),
            "expert chunk of 31 rows holds 2048 values, not 1984, in tensor 'w1' chunk 0");
  // A layer left short before the next begins; no expert layout byte beyond 2.
  EXPECT_EQ(index_error([](ws::Index& ix) { seg(ix, "w2").chunks[5].matrix = 1; }),
            "expert chunks leave columns 160..172 of matrix 0 uncovered before tensor 'w2' chunk 5");
  const Bytes wsz = lte_container().wsz;
  const ws::ContainerReader r = ws::ContainerReader::from_memory(wsz.data(), wsz.size());
  Bytes index = ws::serialize_index(r.index());
  // The expert layout byte of tensor 'w1' follows its chunk list: find it by re-serialising with 3.
  ws::Index ix = r.index();
  seg(ix, "w1").experts = ws::Segment::Experts(3);
  index = ws::serialize_index(ix);
  const Bytes bad = with_index_bytes(wsz, index);
  EXPECT_EQ(error_of([&] { ws::ContainerReader::from_memory(bad.data(), bad.size()); }),
            "bad expert layout 3 in tensor 'w1'");
  // A 2:4 column block whose row segments are not whole groups of 4.
  const Bytes wsz24 = with_index(pruned_lte_container().wsz, [](ws::Index& ix) {
    ws::Segment& s = seg(ix, "w2");
    s.chunks[0].count = 30;
    s.chunks[1].first = 30;
    s.chunks[1].count = 34;
  });
  EXPECT_EQ(error_of([&] { ws::ContainerReader::from_memory(wsz24.data(), wsz24.size()); }),
            "2:4 expert chunk columns 0..30 of matrix 0 is not whole groups of 4 columns in tensor 'w2' chunk 0");
  // A version-3 index has no expert fields: the same keys in a version-3 header are refused as trailing bytes.
  Bytes v3 = wsz;
  v3[4] = 3;
  EXPECT_NE(error_of([&] { ws::ContainerReader::from_memory(v3.data(), v3.size()); }), "");
}

}  // namespace
