// The decoder implementations agree cycle for cycle. With nothing stalling it, each chunk takes the
// clocks of the documented decoder timing (DecoderTiming: tables behind the previous chunk into the
// other bank, then ceil(n / lanes) beats) in the functional engine, the C++ cycle model and the
// Verilated RTL; under the same random backpressure
// the cycle model and the RTL give the same clocks for every chunk and the same token timing.
// Prints simulated decoder clocks per host second of each.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "roofline.hpp"

namespace wsim::test {
namespace {

std::vector<Engine> engines() {
#ifdef WS_SIM_RTL
  return {Engine::Functional, Engine::CycleModel, Engine::Rtl};
#else
  return {Engine::Functional, Engine::CycleModel};
#endif
}

void print(const Config& c, const Report& r) {
  std::printf("%s, engine %s: %llu decoder clocks, %llu symbols checked against the functional decode, %llu "
              "mismatches, %.3g simulated decoder clocks per host second\n",
              mode_name(c.mode), engine_name(c.engine), (unsigned long long)r.decoder_cycles,
              (unsigned long long)r.symbols_checked, (unsigned long long)r.symbol_mismatches,
              r.dec_cycles_per_host_s);
}

TEST(SimEngines, EveryEngineTakesTheClocksOfTheDecoderFormula) {
  for (Mode mode : {Mode::Compressed, Mode::Sparse}) {
    Config c = smoke_config(mode, 1);
    c.tokens = 1;
    c.context = 0;
    c.decoders = 1;
    c.bus_values = 64;  // nothing downstream stalls the decoder
    c.array = 64;
    const Workload w = load_workload(c);
    const std::vector<uint64_t> want = decoder_chunk_cycles(w.chunks, c);
    for (Engine e : engines()) {
      c.engine = e;
      const Report r = simulate(c);
      EXPECT_EQ(r.chunk_cycles, want) << mode_name(mode) << ", engine " << engine_name(e);
      EXPECT_EQ(r.errors(), 0u);
      EXPECT_EQ(r.symbol_mismatches, 0u);
      if (e != Engine::Functional) {
        EXPECT_EQ(r.symbols_checked, w.stream_values) << "every symbol checked";
      }
      print(c, r);
    }
  }
}

TEST(SimEngines, CycleModelAndRtlAgreeUnderBackpressure) {
#ifndef WS_SIM_RTL
  GTEST_SKIP() << "built without the Verilated RTL (WS_SIM_RTL=OFF)";
#endif
  for (Mode mode : {Mode::Compressed, Mode::Sparse}) {
    Config c = smoke_config(mode, 2);
    c.tokens = long_depth() ? 4 : 2;
    c.decoders = 2;
    c.fifo_beats = 2;
    c.dec_fifo_beats = 4;  // small: the backpressure reaches the decoders
    c.stall_prob = 0.3;
    c.stall_max = 8;
    c.engine = Engine::CycleModel;
    const Report model = simulate(c);
    c.engine = Engine::Rtl;
    const Report rtl = simulate(c);
    print(c, rtl);
    EXPECT_EQ(model.chunk_cycles, rtl.chunk_cycles) << mode_name(mode);
    ASSERT_EQ(model.processors.size(), rtl.processors.size());
    for (size_t i = 0; i < rtl.processors.size(); ++i) {
      EXPECT_EQ(model.processors[i].pass_end_s, rtl.processors[i].pass_end_s) << "processor " << i;
      EXPECT_EQ(rtl.processors[i].errors, 0u) << rtl.processors[i].first_error;
    }
    EXPECT_EQ(model.symbol_mismatches + rtl.symbol_mismatches, 0u);
    const Workload w = load_workload(c);
    EXPECT_EQ(rtl.symbols_checked, w.stream_values * uint64_t(c.tokens));
    EXPECT_EQ(model.symbols_checked, rtl.symbols_checked);
    EXPECT_GT(rtl.bus_full_cycles, 0u);  // the decoders did see backpressure
    // ... and it changed their timing: the formula no longer holds for every chunk.
    std::vector<StreamChunk> all;
    for (int t = 0; t < c.tokens; ++t) all.insert(all.end(), w.chunks.begin(), w.chunks.end());
    uint64_t formula = 0;
    for (uint64_t clocks : decoder_chunk_cycles(all, c)) formula += clocks;
    EXPECT_GT(rtl.decoder_cycles, formula);
  }
}

}  // namespace
}  // namespace wsim::test
