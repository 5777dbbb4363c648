// What every weight-pipeline test checks: a good run's y bit for bit against ws::sparse_matvec (at the
// built top's GroupsPerCycle = MetaLanes) and
// its cycles against the cycle model (the driver compares every output every cycle), a malformed
// run's sticky error; and the totals each test prints.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "driver.hpp"
#include "tb.hpp"
#include "codec/chunk.hpp"
#include "codec/sparse24.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "hw/error_text.hpp"
#include "hw/mac_array_model.hpp"

namespace tbwp {

struct Totals {
  uint64_t layers = 0, values = 0, value_mismatches = 0, cycles = 0, cycle_mismatches = 0, signals = 0,
           transfer_mismatches = 0, y_transfers = 0, assertion_errors = 0;
  void add(const wp::Result& r) {
    cycles += r.cycles;
    cycle_mismatches += r.cycle_mismatches;
    signals += r.signals_compared;
    transfer_mismatches += r.transfer_mismatches;
    y_transfers += r.y_transfers;
    assertion_errors += r.assertion_errors;
  }
  void print(const char* what, const char* golden = "ws::sparse_matvec") const {
    std::printf("%s %s: %llu layers, %llu y values compared with %s, %llu value mismatches; "
                "%llu cycles, %llu signals compared RTL vs model, %llu cycle mismatches, %llu transfer mismatches, "
                "%llu assertion errors\n",
                tb::seed_text().c_str(), what, (unsigned long long)layers, (unsigned long long)values, golden,
                (unsigned long long)value_mismatches, (unsigned long long)cycles, (unsigned long long)signals,
                (unsigned long long)cycle_mismatches, (unsigned long long)transfer_mismatches,
                (unsigned long long)assertion_errors);
  }
  void expect_clean() const {
    EXPECT_EQ(value_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(cycle_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(transfer_mismatches, 0u) << tb::seed_text();
    EXPECT_EQ(assertion_errors, 0u) << tb::seed_text();
    EXPECT_GT(values, 0u);
  }
};

// A good run: complete, no error, no timeout, inputs drained, RTL and model in lock step.
inline void check_run(const wp::Result& r, const std::string& what, Totals& tot) {
  EXPECT_TRUE(r.complete) << what << " " << tb::seed_text();
  EXPECT_FALSE(r.err) << what << ": " << ws::weight_pipeline_error_text(r.err_cause) << " " << tb::seed_text();
  EXPECT_FALSE(r.timed_out) << what << " " << tb::seed_text();
  EXPECT_TRUE(r.inputs_drained) << what << " " << tb::seed_text();
  EXPECT_EQ(r.cycle_mismatches, 0u) << what << " " << r.first_mismatch << " " << tb::seed_text();
  tot.add(r);
}

// One layer's y (fp32 bits) against the golden model's, counted into tot.
inline void check_y(const std::vector<uint32_t>& y, const std::vector<uint32_t>& gold, const std::string& what,
                    Totals& tot) {
  ++tot.layers;
  tot.values += gold.size();
  for (size_t j = 0; j < gold.size(); ++j) {
    const uint32_t got = j < y.size() ? y[j] : 0xdeadbeef;
    if (got != gold[j]) {
      if (tot.value_mismatches < 5)
        ADD_FAILURE() << what << " row " << j << ": rtl " << std::hex << got << " golden " << gold[j] << std::dec
                      << " " << tb::seed_text();
      ++tot.value_mismatches;
    }
  }
}

// Checks one good run's 2:4 layers against the golden model.
inline void check_layers(const wp::Result& r, const std::vector<const ws::Sparse24*>& Ls,
                         const std::vector<std::vector<uint16_t>>& xs, Totals& tot, const std::string& what) {
  check_run(r, what, tot);
  for (size_t i = 0; i < Ls.size(); ++i)
    check_y(i < r.layers.size() ? r.layers[i].y : std::vector<uint32_t>{},
            ws::sparse_matvec(*Ls[i], xs[i], ws::MacMode::Bf16, wp::Driver::built_params().meta_lanes), what + " layer " + std::to_string(i), tot);
}

struct ErrCase {
  std::string name;
  int expect_block = 0;  // 0: any block (checked with the functional model where known)
  int expect_cause = -1;
};

inline void expect_error(const wp::Result& r, const ErrCase& c, Totals& tot) {
  tot.add(r);
  EXPECT_TRUE(r.err) << c.name << " " << tb::seed_text();
  EXPECT_FALSE(r.timed_out) << c.name << " " << tb::seed_text();
  EXPECT_EQ(r.cycle_mismatches, 0u) << c.name << ": " << r.first_mismatch << " " << tb::seed_text();
  const int block = int(ws::pkg::wp_cause_t::block.get(r.err_cause)), cause = int(ws::pkg::wp_cause_t::cause.get(r.err_cause));
  if (c.expect_block) EXPECT_EQ(block, c.expect_block) << c.name << ": " << ws::weight_pipeline_error_text(r.err_cause);
  if (c.expect_cause >= 0) EXPECT_EQ(cause, c.expect_cause) << c.name << ": " << ws::weight_pipeline_error_text(r.err_cause);
  std::printf("  %-44s -> %s, %llu cycles%s\n", c.name.c_str(), ws::weight_pipeline_error_text(r.err_cause).c_str(),
              (unsigned long long)r.cycles, r.inputs_drained ? ", inputs drained" : "");
}

// The decoder's cause for a ws::tans::decode error message, -1 for none it names.
inline int tans_cause(const std::string& what) {
  if (what.find("ends early") != std::string::npos) return ws::pkg::TANS_ERR_ENDS_EARLY;
  if (what.find("left over") != std::string::npos) return ws::pkg::TANS_ERR_LEFT_OVER;
  if (what.find("final state") != std::string::npos) return ws::pkg::TANS_ERR_FINAL_STATE;
  if (what.find("is not below 2^L") != std::string::npos) return ws::pkg::TANS_ERR_BAD_DESC;
  return -1;
}

// What the functional model (ws::tans::decode) says of a layout-2 chunk's symbol streams as the view
// holds them: 0 when they decode, else the decoder's cause (-1: a message it does not name).
inline int tans_cause_of(const ws::ChunkView& v) {
  std::vector<uint8_t> out(v.value_count);
  try {
    ws::tans::decode(v.layout, v.streams.data(), ws::tans::build_decode_table(v.counts), v.counts.table_log, v.lanes,
                     v.initial_states.data(), out.data(), out.size());
  } catch (const ws::FormatError& e) {
    return tans_cause(e.what());
  }
  return 0;
}

// A view whose state s stream is one 16-bit unit short (the first state with a unit, from s on).
inline ws::ChunkView cut_one_unit(ws::ChunkView v, int s) {
  for (int k = 0; k < v.states(); ++k) {
    ws::tans::StreamView& st = v.streams[size_t((s + k) % v.states())];
    if (st.bytes >= 2) {
      st.bytes -= 2;
      return v;
    }
  }
  return v;
}

}  // namespace tbwp
