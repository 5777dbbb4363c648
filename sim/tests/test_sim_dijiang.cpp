// A token's attention as the KV cache or as DiJiang's state (docs/token_factory.md section 8), on the
// real stories260K: the bytes each processor's KV port moves per token, counted by the DRAM model,
// equal the formula from the model's shape read from the .bin's own header (not from the simulator's
// workload): the KV cache's grow linearly with the context, the state's are its size read and
// written whatever the context, and none when it fits the processor's SRAM. The simulation stays
// within 2% of the roofline with the state's traffic.
#include <gtest/gtest.h>

#include <cmath>

#include "files/llama2c.hpp"
#include "harness.hpp"

namespace wsim::test {
namespace {

struct Shape {
  uint64_t layers, heads, head_size, kv_dim;
};
Shape shape() {
  const ws::Llama2cConfig c = ws::read_llama2c(model_path()).config;
  return {uint64_t(c.n_layers), uint64_t(c.n_heads), uint64_t(c.head_size()), uint64_t(c.kv_dim())};
}

Config config(Attention a, int context, int bytes_per_value = 4) {
  Config c = smoke_config(Mode::Compressed, 2);
  c.tokens = 4;
  c.attention = a;
  c.context = context;
  c.state_bytes_per_value = bytes_per_value;
  return c;
}

// The KV port's bytes as the DRAM counted them, per token.
uint64_t read_per_token(const Report& r, const Config& c) { return r.kv.read_bytes / uint64_t(c.processors * c.tokens); }
uint64_t write_per_token(const Report& r, const Config& c) { return r.kv.write_bytes / uint64_t(c.processors * c.tokens); }

TEST(SimDiJiang, StateTrafficIsItsSizeReadAndWrittenWhateverTheContext) {
  const Shape s = shape();
  EXPECT_EQ(s.layers, 5u);  // stories260K: 5 layers, 8 heads of 8, 4 KV heads
  EXPECT_EQ(s.heads, 8u);
  EXPECT_EQ(s.head_size, 8u);
  for (int bytes : {4, 2}) {
    const uint64_t state = s.layers * s.heads * s.head_size * s.head_size * uint64_t(bytes);
    for (int context : {128, 1024}) {
      const Config c = config(Attention::DiJiang, context, bytes);
      const Report r = simulate(c);
      std::printf("DiJiang %d-byte state, context %d: %llu B read, %llu B written per token (state %llu B)\n", bytes,
                  context, (unsigned long long)read_per_token(r, c), (unsigned long long)write_per_token(r, c),
                  (unsigned long long)state);
      EXPECT_EQ(r.kv.read_bytes % uint64_t(c.processors * c.tokens), 0u);
      EXPECT_EQ(read_per_token(r, c), state);
      EXPECT_EQ(write_per_token(r, c), state);
      EXPECT_EQ(r.kv_read_per_token, state);
      EXPECT_EQ(r.model.state_bytes, state);
      EXPECT_EQ(r.errors(), 0u);
    }
  }
}

TEST(SimDiJiang, KvTrafficGrowsLinearlyWithTheContext) {
  const Shape s = shape();
  for (int context : {128, 1024}) {
    const Config c = config(Attention::Kv, context);
    const Report r = simulate(c);
    // context positions of K and V per layer read, one written, bf16.
    EXPECT_EQ(read_per_token(r, c), s.layers * uint64_t(context) * s.kv_dim * 2 * 2) << "context " << context;
    EXPECT_EQ(write_per_token(r, c), s.layers * s.kv_dim * 2 * 2) << "context " << context;
    EXPECT_EQ(r.errors(), 0u);
  }
}

TEST(SimDiJiang, StateThatFitsTheSramMovesNoDramBytes) {
  const Shape s = shape();
  const uint64_t state = s.layers * s.heads * s.head_size * s.head_size * 4;
  Config c = config(Attention::DiJiang, 512);
  c.state_sram_bytes = state;
  Report r = simulate(c);
  EXPECT_TRUE(r.state_on_chip);
  EXPECT_EQ(r.kv.read_bytes + r.kv.write_bytes, 0u);
  EXPECT_EQ(r.errors(), 0u);
  c.state_sram_bytes = state - 1;  // a byte short: back in DRAM
  r = simulate(c);
  EXPECT_FALSE(r.state_on_chip);
  EXPECT_EQ(read_per_token(r, c), state);
}

// With 4 decoders every N is DRAM-bound, so the state's traffic is what the check is about (with 2,
// stories260K's small state leaves N = 1 decoder-bound, where the dispatcher is up to 2.3% off whatever
// the attention: docs/token_factory.md section 6).
TEST(SimDiJiang, SimulationAgreesWithTheRooflineWithinTwoPercent) {
  for (int n : {1, 8, 32}) {
    Config c = config(Attention::DiJiang, 2048);
    c.processors = n;
    c.tokens = 9;
    c.decoders = 4;
    const Report r = simulate(c);
    const double ratio = r.tokens_per_s / r.roof.tokens_per_s;
    std::printf("DiJiang fp32 N=%d: simulated %.1f tokens/s, roofline %.1f (%s-bound), ratio %.4f\n", n, r.tokens_per_s,
                r.roof.tokens_per_s, r.roof.bound.c_str(), ratio);
    EXPECT_EQ(r.roof.bound, "dram");
    EXPECT_LT(std::fabs(ratio - 1), 0.02);
    EXPECT_EQ(r.errors(), 0u);
  }
}

TEST(SimDiJiang, BadOptionsAreRefused) {
  Config c = config(Attention::DiJiang, 128, 3);
  EXPECT_THROW(c.validate(), std::invalid_argument);
  EXPECT_THROW(parse_attention("softmax"), std::invalid_argument);
  EXPECT_EQ(parse_attention("dijiang"), Attention::DiJiang);
}

}  // namespace
}  // namespace wsim::test
