// Bench of ws_weight_pipeline, the errors (docs/weight_pipeline.md section 4): malformed streams and
// bad configuration writes must each raise the sticky error with the expected block and cause, the
// RTL and the model in lock step; err_clear between layers recovers without a reset.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "checks.hpp"
#include "driver.hpp"
#include "stimulus.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "core/ws_pkg.hpp"

namespace tbwp {
namespace {

// ---------------------------------------------------------------------------------------------------
// Malformed streams: each must raise the sticky error with the expected block and cause, and the run
// must end (the top drains its streams after an error), within the cycle bound.

TEST(WeightPipelineErrors, MalformedStreamsRaiseStickyErrors) {
  std::mt19937_64 rng(tb::seed() ^ 0xbad);
  wp::Driver drv(tb::waves_path("WeightPipelineErrors.MalformedStreamsRaiseStickyErrors"));
  Totals tot;
  const ws::Sparse24 L = real_layer(1, rng);  // wk[0], 32 x 64
  const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
  const int reps = int(tb::depth(1, 6));
  uint64_t flagged = 0, cases = 0;
  auto run_case = [&](const ErrCase& c, ws::PipelineLayer layer) {
    drv.reset();
    const wp::Result r = drv.run({layer}, random_traffic(rng));
    expect_error(r, c, tot);
    ++cases;
    flagged += r.err;
    // After a reset the next good layer runs.
    drv.reset();
    auto s = make_streams(L);
    check_layers(drv.run({layer_of(L, *s, x)}, random_traffic(rng)), {&L}, {x}, tot, c.name + " (good layer after)");
  };
  for (int rep = 0; rep < reps; ++rep) {
    {  // a bad metadata nibble (idx0 >= idx1): the MAC array's cause 1
      ws::Sparse24 B = L;
      B.meta[rng() % B.meta.size()] = uint8_t(rng() % 2 ? 0x3 : 0x0);
      auto s = make_streams(B);
      run_case({"bad metadata nibble", ws::pkg::WP_BLK_MAC, ws::pkg::MAC_ERR_META}, layer_of(B, *s, x));
    }
    {  // a metadata symbol above 15
      ws::Sparse24 B = L;
      auto s = make_streams(B);
      std::vector<uint8_t> nib = B.meta;
      nib[rng() % nib.size()] = 0x14;
      s->meta[0] = make_meta_chunk(nib.data(), nib.size(), 6);
      s->meta_v[0] = s->meta[0].view;
      run_case({"metadata symbol above 15", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_SYMBOL}, layer_of(B, *s, x));
    }
    {  // a partial value beat: the value chunk 2 values short (its decoder ends cleanly on a partial beat)
      auto s = make_streams(L);
      s->set_values(0, std::vector<uint16_t>(L.values.begin(), L.values.end() - 2));
      run_case({"partial value beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_VALUE_PARTIAL}, layer_of(L, *s, x));
    }
    {  // a partial metadata beat: the metadata chunk one nibble short
      auto s = make_streams(L);
      s->meta[0] = make_meta_chunk(L.meta.data(), L.meta.size() - 1, 6);
      s->meta_v[0] = s->meta[0].view;
      run_case({"partial metadata beat", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_META_PARTIAL}, layer_of(L, *s, x));
    }
    {  // value and metadata chunks of different beat counts: the value chunk one beat longer
      auto s = make_streams(L);
      std::vector<uint16_t> v = L.values;
      for (int i = 0; i < 4; ++i) v.push_back(0x3f80);
      s->set_values(0, v);
      run_case({"value chunk one beat longer than metadata", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
    }
    {  // value chunks of 8 rows, metadata chunks of 16: chunk pairs that do not cover the same rows
      auto s = make_streams(L, 8, 6, 16);
      run_case({"value and metadata chunks of different rows", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
    }
    {  // a value chunk one beat short: its end meets a metadata beat that does not end its chunk
      auto s = make_streams(L);
      s->set_values(0, std::vector<uint16_t>(L.values.begin(), L.values.end() - 4));
      run_case({"value chunk one beat shorter than metadata", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_CHUNK_ENDS}, layer_of(L, *s, x));
    }
    {  // LAYER_BEATS short of the chunks: the layer ends inside its chunks
      auto s = make_streams(L);
      ws::PipelineLayer l = layer_of(L, *s, x);
      l.rows = L.rows - 1;
      run_case({"layer ends inside its chunks", ws::pkg::WP_BLK_TOP, ws::pkg::WP_ERR_LAYER_END}, l);
    }
    {  // a bit flipped in the value symbol stream: the decoder's cause, as ws::tans::decode names it
      auto s = make_streams(L);
      std::vector<uint8_t>& b = s->value_bytes[0];
      ws::ChunkView v = ws::parse_chunk(b.data(), b.size());
      const size_t at = size_t(v.symbol_stream - b.data()) + rng() % v.symbol_bytes;
      b[at] ^= uint8_t(1u << (rng() % 8));
      v = ws::parse_chunk(b.data(), b.size());
      const int cause = tans_cause_of(v);
      s->values_v[0] = v;
      if (cause > 0) run_case({"value stream bit flip", ws::pkg::WP_BLK_VALUE_DEC, cause}, layer_of(L, *s, x));
    }
    {  // a value state stream cut by its last unit: the cause the functional model names
      auto s = make_streams(L);
      s->values_v[0] = cut_one_unit(s->values_v[0], int(rng() % 8));
      run_case({"value state stream truncated", ws::pkg::WP_BLK_VALUE_DEC, tans_cause_of(s->values_v[0])},
               layer_of(L, *s, x));
    }
    {  // an initial state >= 2^L on a value state port (layout 2 sends them as units): bad descriptor
      auto s = make_streams(L);
      ws::ChunkView& v = s->values_v[0];
      v.initial_states[rng() % 8] = uint16_t((1u << v.counts.table_log) + rng() % 16);
      run_case({"value initial state >= 2^L", ws::pkg::WP_BLK_VALUE_DEC, tans_cause_of(v)}, layer_of(L, *s, x));
    }
    {  // the raw stream cut by its last word: the unpacker runs out
      auto s = make_streams(L);
      s->values_v[0].raw_bytes -= 4;
      run_case({"raw stream truncated", ws::pkg::WP_BLK_UNPACKER, ws::pkg::UNP_ERR_RUNS_OUT}, layer_of(L, *s, x));
    }
    {  // a word flipped in the metadata stream
      auto s = make_streams(L);
      std::vector<uint8_t>& b = s->meta[0].stream;
      b[rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
      const int cause = tans_cause_of(s->meta_v[0]);
      if (cause > 0) run_case({"metadata stream bit flip", ws::pkg::WP_BLK_META_DEC, cause}, layer_of(L, *s, x));
    }
    {  // a metadata state stream cut by its last unit
      auto s = make_streams(L);
      s->meta_v[0] = cut_one_unit(s->meta_v[0], int(rng() % 4));
      run_case({"metadata state stream truncated", ws::pkg::WP_BLK_META_DEC, tans_cause_of(s->meta_v[0])},
               layer_of(L, *s, x));
    }
  }
  std::printf("%s errors: %llu malformed layers, %llu flagged with the expected cause\n", tb::seed_text().c_str(),
              (unsigned long long)cases, (unsigned long long)flagged);
  EXPECT_EQ(flagged, cases);
  EXPECT_EQ(tot.cycle_mismatches, 0u);
  EXPECT_EQ(tot.value_mismatches, 0u);
}

// Configuration writes the pipeline refuses, with the block and cause each must raise.
struct BadWrite {
  const char* name;
  ws::CfgWrite write;
  int block, cause;
};
std::vector<BadWrite> bad_writes() {
  using namespace ws::pkg;
  const uint32_t layer_beats = wp_cfg_addr(WP_CFG_TOP, WP_TOP_LAYER_BEATS);
  return {
      {"MAC offset past 2 MaxK", {wp_cfg_addr(WP_CFG_MAC, 2 * 256), 1}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"unknown top register", {wp_cfg_addr(WP_CFG_TOP, 2), 1}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"LAYER_DENSE 2", {wp_cfg_addr(WP_CFG_TOP, WP_TOP_LAYER_DENSE), 2}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"LAYER_BEATS 0", {layer_beats, 0}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"LAYER_BEATS too large", {layer_beats, 1u << 24}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"region 7, last offset", {wp_cfg_addr(wp_cfg_region_e(7), 0x1fff), 0}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"meta table offset past 2^8", {wp_cfg_addr(WP_CFG_META_TABLE, 0x100), 0}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"meta table bank 1 offset past 2^8", {wp_cfg_addr(WP_CFG_META_TABLE1, 0x100), 0}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"unpacker offset 257", {wp_cfg_addr(WP_CFG_UNPACKER, UNP_CFG_MODE + 1), 0}, WP_BLK_TOP, WP_ERR_CONFIG},
      {"unpacker entry class 7", {wp_cfg_addr(WP_CFG_UNPACKER, 9), uint32_t(unp_entry_t::cls.put(7))}, WP_BLK_UNPACKER,
       UNP_ERR_BAD_CFG},
      {"MAC address 1", {wp_cfg_addr(WP_CFG_MAC, 1), 0}, WP_BLK_MAC, MAC_ERR_CONFIG},
      {"value table entry nb_bits 13", {wp_cfg_addr(WP_CFG_VALUE_TABLE, 3), uint32_t(tans_entry_t::nb_bits.put(13))},
       WP_BLK_VALUE_DEC, TANS_ERR_BAD_ENTRY},
      {"meta table bank 1 entry nb_bits 9", {wp_cfg_addr(WP_CFG_META_TABLE1, 5), uint32_t(tans_entry_t::nb_bits.put(9))},
       WP_BLK_META_DEC, TANS_ERR_BAD_ENTRY},
  };
}

TEST(WeightPipelineErrors, BadConfigurationWrites) {
  // Unknown addresses, LAYER_BEATS 0, and a format entry the unpacker refuses.
  std::mt19937_64 rng(tb::seed() ^ 0xcf9);
  wp::Driver drv(tb::waves_path("WeightPipelineErrors.BadConfigurationWrites"));
  Totals tot;
  const ws::Sparse24 L = random_layer(3, 16, rng);
  const std::vector<uint16_t> x = gaussian_x(16, rng);
  for (const BadWrite& c : bad_writes()) {
    drv.reset();
    auto s = make_streams(L);
    const wp::Result good = drv.run({layer_of(L, *s, x)}, wp::Traffic{});  // loads the format table
    check_layers(good, {&L}, {x}, tot, c.name);
    // The write alone, then a layer: the error is sticky and the layer's streams drain.
    ws::PipelineLayer l = layer_of(L, *s, x);
    l.cfg_before.push_back(c.write);
    const wp::Result r = drv.run({l}, random_traffic(rng));
    expect_error(r, {c.name, c.block, c.cause}, tot);
  }
  EXPECT_EQ(tot.cycle_mismatches, 0u);
}

TEST(WeightPipelineErrors, ErrClearBetweenLayers) {
  // Errors raised between layers (a write to an unknown address, a refused decoder table entry, a bad
  // MAC address), each followed by one err_clear cycle and no reset: the next layer must come out bit
  // for bit, the RTL and the model in lock step. Then a cause that arrives on the clearing cycle is
  // kept. (An error inside a layer leaves the layer open: that needs a reset, docs section 4.)
  std::mt19937_64 rng(tb::seed() ^ 0xc1ea);
  wp::Driver drv(tb::waves_path("WeightPipelineErrors.ErrClearBetweenLayers"));
  Totals tot;
  const ws::Sparse24 L = real_layer(2, rng);  // wv[0], 32 x 64
  auto good_layer = [&](const std::string& what) {
    const std::vector<uint16_t> x = gaussian_x(L.cols, rng);
    auto s = make_streams(L, int(1 + rng() % 8), int(5 + rng() % 4));
    const wp::Result r = drv.run({layer_of(L, *s, x)}, random_traffic(rng));
    check_layers(r, {&L}, {x}, tot, what);
    EXPECT_FALSE(r.reset_after) << what;
  };
  // Between layers: the unknown region, the refused value table entry, the bad MAC address.
  const std::vector<BadWrite> all_bad = bad_writes();
  auto named = [&](const std::string& name) {
    for (const BadWrite& b : all_bad)
      if (name == b.name) return b;
    throw std::logic_error("no bad write " + name);
  };
  const BadWrite cases[] = {named("region 7, last offset"), named("value table entry nb_bits 13"), named("MAC address 1")};
  good_layer("first layer");
  uint64_t cleared = 0;
  for (const BadWrite& c : cases) {
    expect_error(drv.configure({c.write}), {c.name, c.block, c.cause}, tot);
    const wp::Result cl = drv.clear_error();
    tot.add(cl);
    EXPECT_FALSE(cl.err) << c.name << ": " << ws::weight_pipeline_error_text(cl.err_cause);
    cleared += !cl.err;
    good_layer(std::string("layer after ") + c.name + " and err_clear");
  }
  // A cause on the clearing cycle wins over the clear.
  const ws::CfgWrite unknown = cases[0].write;
  const wp::Result kept = drv.clear_error(&unknown);
  EXPECT_TRUE(kept.inputs_drained) << "the write reaching the top on the clearing cycle was not taken";
  expect_error(kept, {"a cause on the clearing cycle", cases[0].block, cases[0].cause}, tot);
  const wp::Result cl = drv.clear_error();
  tot.add(cl);
  EXPECT_FALSE(cl.err);
  good_layer("layer after the second clear");
  tot.print("err_clear between layers");
  std::printf("%s err_clear: %llu of 3 errors cleared without reset, a cause on the clearing cycle %s\n",
              tb::seed_text().c_str(), (unsigned long long)cleared, kept.err ? "kept" : "lost");
  tot.expect_clean();
}

}  // namespace
}  // namespace tbwp
