// Bench of ws_sparse_mac_array and ws_dense_mac_array (docs/mac_array.md section 6).
//
// Every test drives the Verilated array and the cycle model (ws::MacArrayModel) with the same inputs
// and the same random valid gaps and backpressure, and compares every output signal every cycle;
// every output transfer is also checked bit for bit against the functional model (ws::sparse_matvec,
// ws::dense_matvec) through a scoreboard that must end empty. The fp32 adder and the bf16
// multiplier are also checked alone against the bit-level model.
//
// TB_SEED (default 1) drives everything and is printed; WS_DEPTH=long runs >= 10^6 output values per
// mode and array; TRACE=1 writes one FST per test under build/waves/ (tb/common/tb.hpp).
#include <gtest/gtest.h>
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "Vbf16_mul.h"
#include "Vdense_A.h"
#include "Vdense_B.h"
#include "Vfp32_add.h"
#include "Vsparse_A.h"
#include "Vsparse_B.h"
#include "tb.hpp"
#include "codec/sparse24.hpp"
#include "core/bf16.hpp"
#include "hw/mac_arith.hpp"
#include "hw/mac_array_model.hpp"
#include "prune/magnitude.hpp"
#include "prune/shuffle.hpp"

namespace {

using ws::Bits;
using ws::MacArrayInputs;
using ws::MacArrayKind;
using ws::MacArrayModel;
using ws::MacArrayOutputs;
using ws::MacArrayParams;
using ws::MacMode;

// ---------------------------------------------------------------------------------------------
// Environment

std::string test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return std::string(info->test_suite_name()) + "." + info->name();
}

// The parameters each Verilated configuration was built with (tb/mac_array/CMakeLists.txt).
MacArrayParams params_A(MacArrayKind k) { return {k, 4, 2, 256}; }
MacArrayParams params_B(MacArrayKind k) { return {k, 3, 1, 64}; }

// ---------------------------------------------------------------------------------------------
// Port adapters: Verilator stores ports up to 8/16/32/64 bits in C integers, wider ones in VlWide.

template <std::size_t N>
void put(VlWide<N>& port, const Bits& v) {
  for (std::size_t i = 0; i < N; ++i) port[i] = i < v.size() ? v[i] : 0u;
}
inline void put(QData& port, const Bits& v) {
  port = (v.size() > 0 ? v[0] : 0u) | (v.size() > 1 ? uint64_t(v[1]) << 32 : 0u);
}
inline void put(IData& port, const Bits& v) { port = v.empty() ? 0u : v[0]; }
template <std::size_t N>
Bits get(const VlWide<N>& port) {
  Bits v(N);
  for (std::size_t i = 0; i < N; ++i) v[i] = port[i];
  return v;
}
inline Bits get(QData port) { return {uint32_t(port), uint32_t(port >> 32)}; }
inline Bits get(IData port) { return {port}; }

// One Verilated array: inputs in, outputs out, one clock edge per tick(), optional FST trace.
template <class V>
class Rtl {
 public:
  explicit Rtl(const MacArrayParams& p) : p_(p), ctx_(new VerilatedContext), top_(new V(ctx_.get(), "top")) {
    const std::string waves = tb::waves_path(test_name());
    if (!waves.empty()) {
      ctx_->traceEverOn(true);
      trace_.reset(new VerilatedFstC);
      top_->trace(trace_.get(), 99);
      trace_->open(waves.c_str());
    }
    top_->clk_i = 0;
    top_->rst_ni = 0;
    top_->eval();
    dump();
    ++time_;
    top_->clk_i = 1;
    top_->eval();
    top_->clk_i = 0;
    top_->rst_ni = 1;
    top_->eval();
  }
  ~Rtl() {
    if (trace_) trace_->close();
    top_->final();
  }
  void set(const MacArrayInputs& in) {
    top_->cfg_valid_i = in.cfg_valid;
    top_->cfg_addr_i = in.cfg_addr;
    top_->cfg_data_i = in.cfg_data;
    top_->act_valid_i = in.act_valid;
    top_->act_data_i = in.act_data;
    top_->act_last_i = in.act_last;
    top_->w_valid_i = in.w_valid;
    put(top_->w_data_i, in.w_data);
    top_->w_last_i = in.w_last;
    top_->out_ready_i = in.out_ready;
    top_->err_clear_i = in.err_clear;
    top_->eval();
  }
  MacArrayOutputs get_outputs() const {
    MacArrayOutputs o;
    o.cfg_ready = top_->cfg_ready_o;
    o.act_ready = top_->act_ready_o;
    o.w_ready = top_->w_ready_o;
    o.out_valid = top_->out_valid_o;
    o.out_data = get(top_->out_data_o);
    o.out_data.resize(size_t(p_.rows));
    o.out_last = top_->out_last_o;
    o.err = top_->err_o;
    o.err_cause = top_->err_cause_o;
    return o;
  }
  void tick() {  // rising edge, then the falling edge where the bench changes inputs
    dump();
    top_->clk_i = 1;
    top_->eval();
    ++time_;
    dump();
    top_->clk_i = 0;
    top_->eval();
    ++time_;
  }

 private:
  void dump() {
    if (trace_) trace_->dump(time_ * 5);
  }
  MacArrayParams p_;
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  uint64_t time_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Jobs: one matrix on the array, with its configuration and activations.

struct Job {
  MacMode mode = MacMode::Int8;
  int row_beats = 1;
  std::vector<std::pair<uint32_t, uint32_t>> cfg;  // (addr, data) writes before the matrix
  std::vector<uint16_t> x;                         // activations, act_last on the final one
  std::vector<Bits> beats;                         // weight beats, w_last on the final one
  std::vector<Bits> expect;                        // output beats (rows words each)
  bool check_values = true;                        // false: error tests, compared with the cycle model only
  bool clear_error = false;                        // pulse err_clear_i when the job starts
  int w_last_at = -1;                              // >= 0: w_last on this beat instead (frame error)
};

// Valid gaps (each source runs its own copy of `valid`) and backpressure (`ready`).
struct Traffic {
  tb::Pattern valid = tb::Pattern::always();
  tb::Pattern ready = tb::Pattern::always();
};
Traffic random_pattern(double p_valid, double p_ready) {
  return {tb::Pattern(tb::Pattern::Random, p_valid), tb::Pattern(tb::Pattern::Random, p_ready)};
}

struct RunStats {
  uint64_t cycles = 0;
  uint64_t values = 0;            // output values checked against the functional model
  uint64_t value_mismatches = 0;
  uint64_t cycle_mismatches = 0;  // cycles where any RTL output differs from the cycle model
  uint64_t outputs = 0;           // output transfers
  uint64_t first_w = 0, last_out = 0;  // cycle of the first weight transfer and of the last output transfer
  bool finished = false;
  MacArrayOutputs final_out;
};

std::string hex_bits(const Bits& v) {
  std::string s;
  char buf[16];
  for (size_t i = v.size(); i-- > 0;) {
    std::snprintf(buf, sizeof buf, "%08x%s", v[i], i ? "_" : "");
    s += buf;
  }
  return s;
}

std::string show(const MacArrayOutputs& o) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "cfg_ready=%d act_ready=%d w_ready=%d out_valid=%d out_last=%d err=%d cause=%d data=",
                o.cfg_ready, o.act_ready, o.w_ready, o.out_valid, o.out_last, o.err, o.err_cause);
  return buf + hex_bits(o.out_data);
}

bool same(const MacArrayOutputs& a, const MacArrayOutputs& b) {
  return a.cfg_ready == b.cfg_ready && a.act_ready == b.act_ready && a.w_ready == b.w_ready &&
         a.out_valid == b.out_valid && a.err == b.err && a.err_cause == b.err_cause &&
         (!a.out_valid || (a.out_last == b.out_last && a.out_data == b.out_data));
}

// Runs jobs back to back on the RTL and the cycle model in lock step.
template <class V>
RunStats run(const MacArrayParams& p, const std::vector<Job>& jobs, const Traffic& t, uint64_t seed) {
  Rtl<V> rtl(p);
  MacArrayModel model(p);
  tb::Rng rng(seed);
  tb::Pattern cfg_pat = t.valid, act_pat = t.valid, w_pat = t.valid, ready_pat = t.ready;
  RunStats st;

  // Scoreboard: the functional model's output beats in order (error jobs add none).
  struct Expect { Bits data; bool last; };
  tb::Scoreboard<Expect> sb;
  for (const Job& j : jobs) {
    if (j.check_values) {
      for (size_t i = 0; i < j.expect.size(); ++i) sb.push({j.expect[i], i + 1 == j.expect.size()});
    }
  }

  size_t job = 0, cfg_i = 0, act_i = 0, w_i = 0;
  bool cfg_on = false, act_on = false, w_on = false, cleared = false;
  uint64_t budget = 2000;
  for (const Job& j : jobs) budget += 40 * (j.beats.size() + j.cfg.size() + j.x.size() + 10);
  budget *= 12;  // generous for the slowest patterns; a hang still ends the run

  for (uint64_t cyc = 0; cyc < budget; ++cyc) {
    MacArrayInputs in;
    const Job* J = job < jobs.size() ? &jobs[job] : nullptr;
    if (J && J->clear_error && !cleared) {
      in.err_clear = true;
      cleared = true;
    }
    // Sources: an idle source offers its next beat with probability p_valid; an offered beat is held.
    const bool setup_done = J && cfg_i == J->cfg.size() && act_i == J->x.size();
    if (J && cfg_i < J->cfg.size() && (cfg_on || cfg_pat.next(rng))) {
      cfg_on = true;
      in.cfg_valid = true;
      in.cfg_addr = J->cfg[cfg_i].first;
      in.cfg_data = J->cfg[cfg_i].second;
    }
    if (J && act_i < J->x.size() && (act_on || act_pat.next(rng))) {
      act_on = true;
      in.act_valid = true;
      in.act_data = J->x[act_i];
      in.act_last = act_i + 1 == J->x.size();
    }
    if (J && setup_done && w_i < J->beats.size() && (w_on || w_pat.next(rng))) {
      w_on = true;
      in.w_valid = true;
      in.w_data = J->beats[w_i];
      in.w_last = J->w_last_at >= 0 ? int(w_i) == J->w_last_at : w_i + 1 == J->beats.size();
    } else {
      in.w_data.assign(size_t((p.weight_bits() + 31) / 32), 0);
    }
    in.out_ready = ready_pat.next(rng);

    rtl.set(in);
    const MacArrayOutputs o = rtl.get_outputs();
    const MacArrayOutputs m = model.outputs(in.out_ready);
    if (!same(o, m) && ++st.cycle_mismatches <= 5)
      ADD_FAILURE() << "cycle " << cyc << " TB_SEED=" << tb::seed() << "\n  rtl:   " << show(o) << "\n  model: " << show(m);

    // Transfers as the RTL sees them.
    if (o.out_valid && in.out_ready) {
      ++st.outputs;
      st.last_out = cyc;
      if (!sb.empty()) {
        const Expect e = sb.pop();
        st.values += size_t(p.rows);
        for (int r = 0; r < p.rows; ++r)
          if (o.out_data[size_t(r)] != e.data[size_t(r)] && ++st.value_mismatches <= 10)
            ADD_FAILURE() << "output " << st.outputs << " row " << r << ": rtl 0x" << std::hex << o.out_data[size_t(r)]
                          << ", functional model 0x" << e.data[size_t(r)] << std::dec << " (TB_SEED=" << tb::seed() << ")";
        if (o.out_last != e.last && ++st.value_mismatches <= 10)
          ADD_FAILURE() << "output " << st.outputs << ": out_last " << o.out_last << ", expected " << e.last;
      }
    }
    if (in.cfg_valid && o.cfg_ready) {
      ++cfg_i;
      cfg_on = false;
    }
    if (in.act_valid && o.act_ready) {
      ++act_i;
      act_on = false;
    }
    if (in.w_valid && o.w_ready) {
      if (st.first_w == 0 && w_i == 0 && job == 0) st.first_w = cyc;
      ++w_i;
      w_on = false;
    }
    rtl.tick();
    model.tick(in);
    st.cycles = cyc + 1;

    if (J && setup_done && w_i == J->beats.size()) {  // next job
      ++job;
      cfg_i = act_i = w_i = 0;
      cleared = false;
    }
    // Done: every job sent, the scoreboard empty and the array idle with nothing to show.
    const MacArrayOutputs after = model.outputs(true);
    if (job == jobs.size() && sb.empty() && after.cfg_ready && !after.out_valid) {
      st.finished = true;
      st.final_out = after;
      break;
    }
  }
  EXPECT_TRUE(st.finished) << "no finish within " << budget << " cycles (hang?), " << sb.size()
                           << " outputs outstanding, TB_SEED=" << tb::seed();
  EXPECT_TRUE(sb.empty());
  return st;
}

// ---------------------------------------------------------------------------------------------
// Stimulus

float f32(uint32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint32_t bits32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Value flavours: 0 ordinary, 1 extremes (any bits, +-0, +-inf, NaN, subnormals, max finite, near
// overflow, near underflow), 2 cancellation-prone (a few magnitudes, both signs).
uint16_t rand_bf16(std::mt19937_64& rng, int flavour) {
  const uint16_t sign = uint16_t((rng() & 1u) << 15);
  if (flavour == 2) {
    static const uint16_t mags[] = {0x3F80, 0x4000, 0x3F81, 0x3F7F, 0x4B00, 0x3400};
    return sign | mags[rng() % 6];
  }
  if (flavour == 1) {
    switch (rng() % 10) {
      case 0: return uint16_t(rng());
      case 1: return sign;                                          // +-0
      case 2: return sign | 0x7F80;                                 // +-inf
      case 3: return uint16_t(0x7F80 | (1 + rng() % 127)) | sign;   // NaN, any payload
      case 4: return sign | uint16_t(rng() % 128);                  // subnormal
      case 5: return sign | 0x7F7F;                                 // max finite
      case 6: return sign | uint16_t((240 + rng() % 15) << 7 | (rng() % 128));  // near overflow
      case 7: return sign | uint16_t((1 + rng() % 40) << 7 | (rng() % 128));    // near underflow
      default: break;
    }
  }
  return sign | uint16_t((118 + rng() % 20) << 7 | (rng() % 128));
}

uint16_t rand_int8(std::mt19937_64& rng, int flavour) {
  const uint16_t junk = uint16_t((rng() & 0xFFu) << 8);  // bits 15:8 must be ignored
  if (flavour == 1) {
    static const int ext[] = {-128, 127, -127, -1, 0, 1};
    return junk | uint16_t(ext[rng() % 6] & 0xFF);
  }
  return junk | uint16_t(rng() & 0xFFu);
}

uint16_t rand_lane(std::mt19937_64& rng, MacMode mode, int flavour) {
  return mode == MacMode::Bf16 ? rand_bf16(rng, flavour) : rand_int8(rng, flavour);
}

std::vector<Bits> result_beats(const std::vector<uint32_t>& y, int rows) {
  std::vector<Bits> out;
  for (size_t r = 0; r < y.size(); r += size_t(rows)) out.emplace_back(y.begin() + long(r), y.begin() + long(r) + rows);
  return out;
}

uint32_t perm_addr(const MacArrayParams& p, int j) { return (1u << p.k_bits()) | uint32_t(j); }

// A sparse job: weights 2:4 under perm (built from the original channel order), optional permutation.
Job sparse_job(const MacArrayParams& p, MacMode mode, int rows, int cols, const std::vector<uint16_t>& w_orig,
               const std::vector<int32_t>& perm, const std::vector<uint16_t>& x) {
  Job j;
  j.mode = mode;
  j.row_beats = cols / p.cols_per_beat();
  const ws::Sparse24 L = ws::pack_sparse24(w_orig, rows, cols, mode, perm);
  j.cfg.push_back({0u, ws::mac_ctrl_word(mode, j.row_beats)});
  for (int c = 0; c < cols; ++c) j.cfg.push_back({perm_addr(p, c), uint32_t(L.perm[size_t(c)])});
  j.x = x;
  j.beats = ws::sparse_weight_beats(L, p);
  j.expect = result_beats(ws::sparse_matvec(L, x, mode, p.groups_per_cycle), p.rows);
  return j;
}

Job dense_job(const MacArrayParams& p, MacMode mode, int rows, int cols, const std::vector<uint16_t>& w,
              const std::vector<uint16_t>& x) {
  Job j;
  j.mode = mode;
  j.row_beats = cols / p.cols_per_beat();
  j.cfg.push_back({0u, ws::mac_ctrl_word(mode, j.row_beats)});
  j.x = x;
  j.beats = ws::dense_weight_beats(w, rows, cols, p);
  j.expect = result_beats(ws::dense_matvec(w, rows, cols, x, mode, p.lanes()), p.rows);
  return j;
}

// A random job for the array p: random shape within the array's limits, random values.
Job random_job(const MacArrayParams& p, MacMode mode, std::mt19937_64& rng) {
  const int flavour = int(rng() % 3);
  const int max_beats = p.max_k / p.cols_per_beat();
  const int beats = (rng() % 4 == 0) ? max_beats : 1 + int(rng() % uint64_t(std::min(max_beats, 8)));
  const int cols = beats * p.cols_per_beat();
  const int rows = p.rows * (1 + int(rng() % 4));
  std::vector<uint16_t> x(static_cast<size_t>(cols));
  for (auto& v : x) v = rand_lane(rng, mode, flavour);
  std::vector<uint16_t> w(size_t(rows) * cols, 0);
  if (p.kind == MacArrayKind::Dense) {
    for (auto& v : w) v = rng() % 4 == 0 ? 0 : rand_lane(rng, mode, flavour);
    return dense_job(p, mode, rows, cols, w, x);
  }
  std::vector<int32_t> perm(static_cast<size_t>(cols));
  for (int c = 0; c < cols; ++c) perm[size_t(c)] = c;
  if (rng() % 2) std::shuffle(perm.begin(), perm.end(), rng);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < cols / 4; ++g) {
      int pos[4] = {0, 1, 2, 3};
      std::shuffle(pos, pos + 4, rng);
      const int nz = rng() % 8 == 0 ? int(rng() % 2) : 2;
      for (int k = 0; k < nz; ++k)
        w[size_t(r) * cols + size_t(perm[size_t(4 * g + pos[k])])] = rand_lane(rng, mode, flavour);
    }
  return sparse_job(p, mode, rows, cols, w, perm, x);
}

Traffic random_traffic(std::mt19937_64& rng) {
  tb::Rng r(rng());
  return {tb::Pattern::pick(r), tb::Pattern::pick(r)};
}

void report(const char* what, const MacArrayParams& p, MacMode mode, const RunStats& s) {
  std::printf("%s %s R%dG%d %s: TB_SEED=%llu, %llu values checked, %llu value mismatches, %llu cycle mismatches, "
              "%llu cycles\n",
              what, p.kind == MacArrayKind::Sparse ? "sparse" : "dense", p.rows, p.groups_per_cycle,
              mode == MacMode::Bf16 ? "BF16" : "INT8", (unsigned long long)tb::seed(), (unsigned long long)s.values,
              (unsigned long long)s.value_mismatches, (unsigned long long)s.cycle_mismatches,
              (unsigned long long)s.cycles);
}

// Random jobs in batches (each batch one traffic pattern, one reset) until `target` values are checked.
template <class V>
void random_campaign(const MacArrayParams& p, MacMode mode, uint64_t target, uint64_t salt) {
  std::mt19937_64 rng(tb::seed() * 0x9E3779B97F4A7C15ull + salt);
  RunStats total;
  while (total.values < target && !::testing::Test::HasFailure()) {
    std::vector<Job> jobs;
    for (int k = 0; k < 12; ++k) jobs.push_back(random_job(p, mode, rng));
    const Traffic t = random_traffic(rng);
    const RunStats s = run<V>(p, jobs, t, rng());
    total.values += s.values;
    total.value_mismatches += s.value_mismatches;
    total.cycle_mismatches += s.cycle_mismatches;
    total.cycles += s.cycles;
  }
  report("random", p, mode, total);
  EXPECT_EQ(total.value_mismatches, 0u);
  EXPECT_EQ(total.cycle_mismatches, 0u);
  EXPECT_GE(total.values, target);
}

uint64_t random_target() { return tb::long_run() ? 1000000ull : 12000ull; }

// ---------------------------------------------------------------------------------------------
// Leaf modules against the bit-level model

TEST(MacLeaf, Fp32AdderMatchesModel) {
  Vfp32_add dut;
  std::mt19937_64 rng(tb::seed() ^ 0xADD);
  const uint64_t n = tb::long_run() ? 50000000ull : 1000000ull;
  uint64_t mismatches = 0;
  auto one = [&](uint32_t a, uint32_t b) {
    dut.a_i = a;
    dut.b_i = b;
    dut.eval();
    if (dut.sum_o != ws::fp32_add(a, b) && ++mismatches <= 10)
      ADD_FAILURE() << std::hex << "ws_fp32_add(0x" << a << ", 0x" << b << ") = 0x" << dut.sum_o << ", model 0x"
                    << ws::fp32_add(a, b);
  };
  static const uint32_t special[] = {0x00000000u, 0x80000000u, 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u,
                                     0x7F7FFFFFu, 0xFF7FFFFFu, 0x00000001u, 0x807FFFFFu, 0x00800000u, 0x3F800000u};
  for (uint32_t a : special)
    for (uint32_t b : special) one(a, b);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t a = uint32_t(rng()), b = uint32_t(rng());
    switch (i % 4) {
      case 1: b = (b & 0x807FFFFFu) | (std::min<uint32_t>(254u, (a >> 23 & 0xFFu) + uint32_t(rng() % 3)) << 23) ; break;
      case 2: a &= 0x80FFFFFFu; b &= 0x80FFFFFFu; break;  // subnormal and smallest normal range
      case 3: b = (a ^ 0x80000000u) + uint32_t(rng() % 5) - 2u; break;  // near cancellation
      default: break;
    }
    one(a, b);
  }
  std::printf("ws_fp32_add vs model: TB_SEED=%llu, %llu pairs, %llu mismatches\n", (unsigned long long)tb::seed(),
              (unsigned long long)(n + 144), (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(MacLeaf, Bf16MultiplierMatchesModel) {
  // Every a against 16 random b (smoke) or 1024 (long), plus all pairs of the exponent-edge values.
  Vbf16_mul dut;
  std::mt19937_64 rng(tb::seed() ^ 0xB16);
  const int per_a = tb::long_run() ? 1024 : 16;
  uint64_t mismatches = 0, n = 0;
  auto one = [&](uint16_t a, uint16_t b) {
    dut.a_i = a;
    dut.b_i = b;
    dut.eval();
    ++n;
    if (dut.p_o != ws::bf16_mul(a, b) && ++mismatches <= 10)
      ADD_FAILURE() << std::hex << "ws_bf16_mul(0x" << a << ", 0x" << b << ") = 0x" << dut.p_o << ", model 0x"
                    << ws::bf16_mul(a, b);
  };
  for (uint32_t a = 0; a < 65536; ++a)
    for (int k = 0; k < per_a; ++k) one(uint16_t(a), uint16_t(rng()));
  std::vector<uint16_t> edge;
  for (uint32_t e : {0u, 1u, 2u, 62u, 63u, 64u, 126u, 127u, 128u, 190u, 191u, 192u, 254u, 255u})
    for (uint32_t m = 0; m < 128; m += 3)
      for (uint32_t s = 0; s < 2; ++s) edge.push_back(uint16_t(s << 15 | e << 7 | m));
  for (uint16_t a : edge)
    for (uint16_t b : edge) one(a, b);
  std::printf("ws_bf16_mul vs model: TB_SEED=%llu, %llu pairs, %llu mismatches\n", (unsigned long long)tb::seed(),
              (unsigned long long)n, (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

// ---------------------------------------------------------------------------------------------
// Directed tests

// A hand-checked 2:4 product: y = W x for 4 rows, K = 16, through a non-trivial permutation.
TEST(MacArrayDirected, SparseHandCheckedInt8) {
  const MacArrayParams p = params_A(MacArrayKind::Sparse);
  const int rows = 4, cols = 16;
  std::vector<int32_t> perm = {3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14};
  std::vector<uint16_t> x(cols);
  for (int c = 0; c < cols; ++c) x[size_t(c)] = uint16_t((c + 1) & 0xFF);  // x = 1 .. 16
  // Row r keeps channels perm[4g] and perm[4g+2] of each group, with weight r+1 and -1.
  std::vector<uint16_t> w(size_t(rows) * cols, 0);
  std::vector<int64_t> want(rows, 0);
  for (int r = 0; r < rows; ++r)
    for (int g = 0; g < 4; ++g) {
      const int c0 = perm[size_t(4 * g)], c1 = perm[size_t(4 * g + 2)];
      w[size_t(r) * cols + size_t(c0)] = uint16_t((r + 1) & 0xFF);
      w[size_t(r) * cols + size_t(c1)] = uint16_t(-1 & 0xFF);
      want[size_t(r)] += int64_t(r + 1) * (c0 + 1) - (c1 + 1);
    }
  const Job j = sparse_job(p, MacMode::Int8, rows, cols, w, perm, x);
  ASSERT_EQ(j.expect.size(), 1u);
  for (int r = 0; r < rows; ++r) ASSERT_EQ(int32_t(j.expect[0][size_t(r)]), want[size_t(r)]) << "row " << r;
  const RunStats s = run<Vsparse_A>(p, {j}, Traffic{}, tb::seed());
  report("directed", p, MacMode::Int8, s);
  EXPECT_EQ(s.values, 4u);
  EXPECT_EQ(s.value_mismatches + s.cycle_mismatches, 0u);
  EXPECT_FALSE(s.final_out.err);
  // Full speed: one beat per cycle, the result 3 + log2(lanes) cycles after the last beat.
  EXPECT_EQ(s.last_out - s.first_w, uint64_t(j.beats.size() - 1 + p.latency()));
}

// Errors: each cause is raised, sticky, cleared by err_clear_i, and the array never hangs: the RTL
// keeps matching the cycle model cycle for cycle through and after the error.
template <class V>
MacArrayOutputs run_error_case(const MacArrayParams& p, std::vector<Job> jobs, const Traffic& t) {
  for (Job& j : jobs) j.check_values = false;
  const RunStats s = run<V>(p, jobs, t, tb::seed());
  EXPECT_EQ(s.cycle_mismatches, 0u);
  return s.final_out;
}

TEST(MacArrayDirected, SparseErrors) {
  const MacArrayParams p = params_A(MacArrayKind::Sparse);
  std::mt19937_64 rng(tb::seed());
  const Traffic slow = random_pattern(0.6, 0.6);
  {  // bad metadata: idx0 == idx1 in row 2, group 1 of the second beat
    Job j = random_job(p, MacMode::Int8, rng);
    while (j.beats.size() < 2) j = random_job(p, MacMode::Int8, rng);
    ws::bits_put(j.beats[1], (2 * p.groups_per_cycle + 1) * 36 + 32, 4, 0x5);
    const MacArrayOutputs o = run_error_case<Vsparse_A>(p, {j}, slow);
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrMeta);
  }
  {  // w_last in the middle of a row; then a clean job with err_clear: the error goes away
    Job j = random_job(p, MacMode::Bf16, rng);
    while (j.row_beats < 2) j = random_job(p, MacMode::Bf16, rng);
    j.w_last_at = 0;
    j.beats.resize(1);
    const MacArrayOutputs o = run_error_case<Vsparse_A>(p, {j}, slow);
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrFrame);
    Job clean = random_job(p, MacMode::Int8, rng);
    clean.clear_error = true;
    const MacArrayOutputs o2 = run_error_case<Vsparse_A>(p, {j, clean}, slow);
    EXPECT_FALSE(o2.err);
    EXPECT_EQ(o2.err_cause, ws::kMacErrNone);
  }
  {  // config: row_beats 0, then too many, then a perm value >= MaxK; the first cause sticks
    Job j = random_job(p, MacMode::Int8, rng);
    j.cfg.insert(j.cfg.begin(), {perm_addr(p, 0), uint32_t(p.max_k)});
    j.cfg.insert(j.cfg.begin(), {0u, ws::mac_ctrl_word(MacMode::Bf16, 0)});
    j.cfg.push_back({1u, 0u});  // unknown register
    const MacArrayOutputs o = run_error_case<Vsparse_A>(p, {j}, slow);
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrConfig);
  }
  {  // more than MaxK activations without act_last
    Job j = random_job(p, MacMode::Int8, rng);
    j.x.assign(size_t(p.max_k + 3), 0x11);
    const MacArrayOutputs o = run_error_case<Vsparse_A>(p, {j}, slow);
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrAct);
  }
}

TEST(MacArrayDirected, DenseErrors) {
  const MacArrayParams p = params_A(MacArrayKind::Dense);
  std::mt19937_64 rng(tb::seed());
  {  // a perm write is a config error on the dense array (it has no table)
    Job j = random_job(p, MacMode::Bf16, rng);
    j.cfg.push_back({perm_addr(p, 3), 1u});
    const MacArrayOutputs o = run_error_case<Vdense_A>(p, {j}, random_pattern(0.7, 0.5));
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrConfig);
  }
  {
    Job j = random_job(p, MacMode::Int8, rng);
    while (j.row_beats < 2) j = random_job(p, MacMode::Int8, rng);
    j.w_last_at = 1;
    j.beats.resize(2);
    const MacArrayOutputs o = run_error_case<Vdense_A>(p, {j}, Traffic{});
    EXPECT_TRUE(o.err);
    EXPECT_EQ(o.err_cause, ws::kMacErrFrame);
  }
}

// ---------------------------------------------------------------------------------------------
// Random campaigns: random shapes, values with extremes, random gaps and backpressure.

TEST(MacArrayRandom, SparseA_Int8) { random_campaign<Vsparse_A>(params_A(MacArrayKind::Sparse), MacMode::Int8, random_target(), 1); }
TEST(MacArrayRandom, SparseA_Bf16) { random_campaign<Vsparse_A>(params_A(MacArrayKind::Sparse), MacMode::Bf16, random_target(), 2); }
TEST(MacArrayRandom, DenseA_Int8) { random_campaign<Vdense_A>(params_A(MacArrayKind::Dense), MacMode::Int8, random_target(), 3); }
TEST(MacArrayRandom, DenseA_Bf16) { random_campaign<Vdense_A>(params_A(MacArrayKind::Dense), MacMode::Bf16, random_target(), 4); }
TEST(MacArrayRandom, SparseB_Int8) { random_campaign<Vsparse_B>(params_B(MacArrayKind::Sparse), MacMode::Int8, random_target() / 4, 5); }
TEST(MacArrayRandom, SparseB_Bf16) { random_campaign<Vsparse_B>(params_B(MacArrayKind::Sparse), MacMode::Bf16, random_target() / 4, 6); }
TEST(MacArrayRandom, DenseB_Int8) { random_campaign<Vdense_B>(params_B(MacArrayKind::Dense), MacMode::Int8, random_target() / 4, 7); }
TEST(MacArrayRandom, DenseB_Bf16) { random_campaign<Vdense_B>(params_B(MacArrayKind::Dense), MacMode::Bf16, random_target() / 4, 8); }

// ---------------------------------------------------------------------------------------------
// Real layers of stories260K

struct Stories {
  int dim = 0, hidden = 0, layers = 0, kv_dim = 0, vocab = 0;
  std::vector<float> all;
  size_t emb = 0, rms_att = 0, wq = 0, wk = 0, wv = 0, wo = 0, rms_ffn = 0, w1 = 0, w2 = 0, w3 = 0;
};

const Stories& stories() {
  static Stories s = [] {
    Stories m;
    const std::string path = std::string(WS_DATA_DIR) + "/stories260K.bin";
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("missing " + path);
    int32_t h[7];
    f.read(reinterpret_cast<char*>(h), sizeof h);
    m.dim = h[0];
    m.hidden = h[1];
    m.layers = h[2];
    m.kv_dim = h[0] * h[4] / h[3];
    m.vocab = std::abs(h[5]);
    f.seekg(0, std::ios::end);
    const size_t n = (size_t(f.tellg()) - sizeof h) / 4;
    f.seekg(sizeof h);
    m.all.resize(n);
    f.read(reinterpret_cast<char*>(m.all.data()), std::streamsize(n * 4));
    size_t at = 0;
    auto take = [&](size_t count) {
      const size_t here = at;
      at += count;
      return here;
    };
    const size_t L = size_t(m.layers), D = size_t(m.dim), H = size_t(m.hidden), KV = size_t(m.kv_dim);
    m.emb = take(size_t(m.vocab) * D);
    m.rms_att = take(L * D);
    m.wq = take(L * D * D);
    m.wk = take(L * KV * D);
    m.wv = take(L * KV * D);
    m.wo = take(L * D * D);
    m.rms_ffn = take(L * D);
    m.w1 = take(L * H * D);
    m.w2 = take(L * D * H);
    m.w3 = take(L * H * D);
    if (at > n) throw std::runtime_error("stories260K.bin is too short");
    return m;
  }();
  return s;
}

struct RealLayer {
  std::string name;
  int rows, cols;
  std::vector<float> w;  // [rows][cols]
  std::vector<float> x;  // a real input vector of the layer
};

// Activations from the model itself: the RMS-normalised embedding of a token (the input of wq, wk,
// wv, w1, w3), and silu(w1 h) * (w3 h) for w2; wo gets the normalised embedding too.
std::vector<RealLayer> real_layers(int token) {
  const Stories& m = stories();
  const int D = m.dim, H = m.hidden;
  std::vector<RealLayer> out;
  for (int l = 0; l < m.layers; ++l) {
    std::vector<float> h(static_cast<size_t>(D));
    double ss = 0;
    for (int i = 0; i < D; ++i) ss += double(m.all[m.emb + size_t(token) * D + size_t(i)]) * m.all[m.emb + size_t(token) * D + size_t(i)];
    const float inv = float(1.0 / std::sqrt(ss / D + 1e-5));
    for (int i = 0; i < D; ++i)
      h[size_t(i)] = m.all[m.emb + size_t(token) * D + size_t(i)] * inv * m.all[m.rms_ffn + size_t(l) * D + size_t(i)];
    auto mat = [&](const char* n, size_t base, int rows, int cols, const std::vector<float>& x) {
      RealLayer r{std::string(n) + "[" + std::to_string(l) + "]", rows, cols,
                  std::vector<float>(m.all.begin() + long(base + size_t(l) * rows * cols),
                                     m.all.begin() + long(base + size_t(l + 1) * rows * cols)),
                  x};
      out.push_back(r);
    };
    mat("wq", m.wq, D, D, h);
    mat("wk", m.wk, m.kv_dim, D, h);
    mat("wv", m.wv, m.kv_dim, D, h);
    mat("wo", m.wo, D, D, h);
    mat("w1", m.w1, H, D, h);
    mat("w3", m.w3, H, D, h);
    std::vector<float> a(static_cast<size_t>(H));
    for (int i = 0; i < H; ++i) {
      double g = 0, u = 0;
      for (int k = 0; k < D; ++k) {
        g += double(m.all[m.w1 + size_t(l) * H * D + size_t(i) * D + size_t(k)]) * h[size_t(k)];
        u += double(m.all[m.w3 + size_t(l) * H * D + size_t(i) * D + size_t(k)]) * h[size_t(k)];
      }
      a[size_t(i)] = float(g / (1.0 + std::exp(-g)) * u);
    }
    mat("w2", m.w2, D, H, a);
  }
  return out;
}

// A real layer as lanes for one mode: pruned 2:4 by magnitude under perm, then bf16 (RNE) or int8 with
// a symmetric per-row scale (weights) and one per-tensor scale (activations). Rows padded to the
// array's rows and columns to whole beats, with zero weights and zero activations.
struct Lanes {
  int rows = 0, cols = 0;
  std::vector<uint16_t> w;  // pruned, original channel order, padded
  std::vector<int32_t> perm;
  std::vector<uint16_t> x;
};

Lanes quantise(const RealLayer& L, MacMode mode, const std::vector<int32_t>& perm, int row_mult, int col_mult) {
  const std::vector<float> pruned = ws::prune24_magnitude(L.w, L.rows, L.cols, perm);
  Lanes q;
  q.rows = (L.rows + row_mult - 1) / row_mult * row_mult;
  q.cols = (L.cols + col_mult - 1) / col_mult * col_mult;
  q.w.assign(size_t(q.rows) * q.cols, 0);
  q.x.assign(size_t(q.cols), 0);
  q.perm = perm;
  for (int c = L.cols; c < q.cols; ++c) q.perm.push_back(c);
  float xmax = 0;
  for (float v : L.x) xmax = std::max(xmax, std::fabs(v));
  for (int c = 0; c < L.cols; ++c) {
    const float v = L.x[size_t(c)];
    q.x[size_t(c)] = mode == MacMode::Bf16 ? ws::fp32_bits_to_bf16(bits32(v))
                                           : uint16_t(int(std::lround(v / xmax * 127.0f)) & 0xFF);
  }
  for (int r = 0; r < L.rows; ++r) {
    float wmax = 0;
    for (int c = 0; c < L.cols; ++c) wmax = std::max(wmax, std::fabs(pruned[size_t(r) * L.cols + size_t(c)]));
    for (int c = 0; c < L.cols; ++c) {
      const float v = pruned[size_t(r) * L.cols + size_t(c)];
      q.w[size_t(r) * q.cols + size_t(c)] =
          mode == MacMode::Bf16 ? ws::fp32_bits_to_bf16(bits32(v))
                                : uint16_t(wmax > 0 ? int(std::lround(v / wmax * 127.0f)) & 0xFF : 0);
    }
  }
  return q;
}

TEST(MacArrayReal, Stories260KBothArraysBothModes) {
  // Every weight matrix of stories260K (35), each with a real input vector, pruned 2:4 (magnitude,
  // random channel permutation), on the sparse and the dense array in both modes, with random
  // gaps and backpressure. INT8 sums are exact modulo 2^32, so there the two arrays must also agree
  // with each other.
  const MacArrayParams ps = params_A(MacArrayKind::Sparse), pd = params_A(MacArrayKind::Dense);
  std::mt19937_64 rng(tb::seed() ^ 0x260);
  const int tokens = tb::long_run() ? 8 : 1;
  for (MacMode mode : {MacMode::Int8, MacMode::Bf16}) {
    RunStats tot_s, tot_d;
    uint64_t cross = 0, cross_mismatch = 0;
    for (int t = 0; t < tokens; ++t) {
      std::vector<Job> js, jd;
      for (const RealLayer& L : real_layers(int(1 + rng() % 511))) {
        std::vector<int32_t> perm(static_cast<size_t>(L.cols));
        for (int c = 0; c < L.cols; ++c) perm[size_t(c)] = c;
        std::shuffle(perm.begin(), perm.end(), rng);
        const Lanes q = quantise(L, mode, perm, ps.rows, ps.cols_per_beat());
        js.push_back(sparse_job(ps, mode, q.rows, q.cols, q.w, q.perm, q.x));
        jd.push_back(dense_job(pd, mode, q.rows, q.cols, q.w, q.x));
        if (mode == MacMode::Int8) {
          for (size_t b = 0; b < js.back().expect.size(); ++b)
            for (int r = 0; r < ps.rows; ++r, ++cross)
              cross_mismatch += js.back().expect[b][size_t(r)] != jd.back().expect[b][size_t(r)];
        }
      }
      const Traffic tr = random_traffic(rng);
      const RunStats s = run<Vsparse_A>(ps, js, tr, rng());
      const RunStats d = run<Vdense_A>(pd, jd, tr, rng());
      for (auto [tot, x] : {std::pair<RunStats*, const RunStats*>{&tot_s, &s}, {&tot_d, &d}}) {
        tot->values += x->values;
        tot->value_mismatches += x->value_mismatches;
        tot->cycle_mismatches += x->cycle_mismatches;
        tot->cycles += x->cycles;
      }
    }
    report("stories260K", ps, mode, tot_s);
    report("stories260K", pd, mode, tot_d);
    EXPECT_EQ(tot_s.value_mismatches + tot_s.cycle_mismatches, 0u);
    EXPECT_EQ(tot_d.value_mismatches + tot_d.cycle_mismatches, 0u);
    EXPECT_GT(tot_s.values, 0u);
    if (mode == MacMode::Int8) {
      std::printf("stories260K INT8 sparse vs dense array: %llu values, %llu differ\n", (unsigned long long)cross,
                  (unsigned long long)cross_mismatch);
      EXPECT_EQ(cross_mismatch, 0u);
    }
  }
}

// The same pruned real layers at full speed (no gaps, no backpressure) on a sparse and a dense array of
// equal multiplier count: cycles from the first weight transfer to the last result, and
// dense-equivalent MACs (rows x K of the layer) per cycle. Besides the human-readable line, each layer
// gives one "WS_BENCH {json}" line that scripts/bench_hw.py collects (a cycle count, not a timing).
template <class VS, class VD>
void cycle_count_sparse_vs_dense(const char* config, const MacArrayParams& ps, const MacArrayParams& pd) {
  int measured = 0;
  for (const char* want : {"w1[0]", "w2[0]", "wq[0]"}) {
    for (const RealLayer& L : real_layers(7)) {
      if (L.name != want) continue;
      const Lanes q = quantise(L, MacMode::Bf16, ws::identity_perm(L.cols), ps.rows, ps.cols_per_beat());
      if (q.cols > ps.max_k) continue;  // the layer does not fit this configuration's MaxK
      const RunStats s = run<VS>(ps, {sparse_job(ps, MacMode::Bf16, q.rows, q.cols, q.w, q.perm, q.x)}, Traffic{}, 1);
      const RunStats d = run<VD>(pd, {dense_job(pd, MacMode::Bf16, q.rows, q.cols, q.w, q.x)}, Traffic{}, 1);
      const uint64_t cs = s.last_out - s.first_w + 1, cd = d.last_out - d.first_w + 1;
      const double macs = double(L.rows) * L.cols;
      const int mults = ps.rows * ps.lanes();
      std::printf("cycles %s (%dx%d) on R%dG%d (%d multipliers each): sparse %llu (%.2f dense-equivalent MAC/cycle), "
                  "dense %llu (%.2f MAC/cycle), speed-up %.3f\n",
                  want, L.rows, L.cols, ps.rows, ps.groups_per_cycle, mults, (unsigned long long)cs,
                  macs / double(cs), (unsigned long long)cd, macs / double(cd), double(cd) / double(cs));
      std::printf("WS_BENCH {\"bench\":\"mac_array\",\"config\":\"%s\",\"rows\":%d,\"groups_per_cycle\":%d,"
                  "\"max_k\":%d,\"multipliers\":%d,\"layer\":\"%s\",\"layer_rows\":%d,\"layer_cols\":%d,"
                  "\"padded_cols\":%d,\"mode\":\"bf16\",\"macs\":%.0f,\"sparse_cycles\":%llu,\"dense_cycles\":%llu,"
                  "\"mismatches\":%llu}\n",
                  config, ps.rows, ps.groups_per_cycle, ps.max_k, mults, want, L.rows, L.cols, q.cols, macs,
                  (unsigned long long)cs, (unsigned long long)cd,
                  (unsigned long long)(s.value_mismatches + s.cycle_mismatches + d.value_mismatches +
                                       d.cycle_mismatches));
      EXPECT_EQ(s.value_mismatches + s.cycle_mismatches + d.value_mismatches + d.cycle_mismatches, 0u);
      EXPECT_GT(double(cd) / double(cs), 1.8);  // 2x fewer beats, minus the fixed pipeline latency
      ++measured;
    }
  }
  EXPECT_GT(measured, 0);
}

TEST(MacArrayReal, CycleCountSparseVsDense) {
  // Configuration A (Rows 4, G 2: 16 multipliers) and B (Rows 3, G 1: 6 multipliers; layers with K <= 64).
  cycle_count_sparse_vs_dense<Vsparse_A, Vdense_A>("A", params_A(MacArrayKind::Sparse), params_A(MacArrayKind::Dense));
  cycle_count_sparse_vs_dense<Vsparse_B, Vdense_B>("B", params_B(MacArrayKind::Sparse), params_B(MacArrayKind::Dense));
}

}  // namespace
