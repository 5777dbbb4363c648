// Bench of ws_num_unpacker (docs/numfmt.md section 7).
//
// Every test drives the Verilated unpacker and the cycle model (ws::NumUnpackerModel) with the same
// inputs, the same random valid gaps on the symbol, raw-word and configuration streams and the same
// backpressure, and compares every output signal every cycle. Every output beat is also checked bit
// for bit against the functional model (ws::numfmt::decode_tensor) through a scoreboard that must
// end empty. Data: real weights (stories260K, MiniLM) as bf16, fp8 E4M3 and posit16 (rounded), and
// random tables with random codes; then malformed streams, whose error cause must be the one the
// functional model names.
//
// The same typed test bodies also run with the cycle model alone as the device (ModelDut), checked
// against the functional model only. Harness: tb/common/tb.hpp. TB_SEED (default 1) drives
// everything and is printed; WS_DEPTH=long runs every stories260K weight and 4M MiniLM weights per
// format; TRACE=1 writes one FST per test under build/waves/.
#include <gtest/gtest.h>
#include <verilated.h>
#include <verilated_fst_c.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "Vnum_convert.h"
#include "Vnum_unpacker_L1.h"
#include "Vnum_unpacker_L4.h"
#include "Vnum_unpacker_L8.h"
#include "core/bf16.hpp"
#include "core/bitstream.hpp"
#include "core/error.hpp"
#include "files/safetensors.hpp"
#include "hw/num_unpacker_model.hpp"
#include "numfmt/numfmt.hpp"
#include "tb.hpp"

namespace {

using ws::NumUnpackerInputs;
using ws::NumUnpackerModel;
using ws::NumUnpackerOutputs;
using ws::numfmt::Class;
using ws::numfmt::Code;
using ws::numfmt::Entry;
using ws::numfmt::Format;
using ws::numfmt::Kind;
using ws::numfmt::Sign;

// ---------------------------------------------------------------------------------------------
// Environment

uint64_t tb_seed() {
  std::printf("%s\n", tb::seed_text().c_str());
  return tb::seed();
}
std::string test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string n = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(n.begin(), n.end(), '/', '_');
  return n;
}

// ---------------------------------------------------------------------------------------------
// The Verilated unpacker: ports up to 64 bits are C integers, wider ones VlWide.

template <class T>
void put_syms(T& port, const std::array<uint8_t, ws::kNumMaxLanes>& s, int k) {
  uint64_t v = 0;
  for (int j = 0; j < k; ++j) v |= uint64_t(s[size_t(j)]) << (8 * j);
  port = T(v);
}
template <class T>
uint32_t out_word(const T& port, int j) {
  if constexpr (std::is_integral_v<T>)
    return uint32_t(uint64_t(port) >> (32 * j));
  else
    return port[size_t(j)];
}

template <class V, int K>
class Rtl {
 public:
  static constexpr int kLanes = K;
  Rtl() : ctx_(new VerilatedContext), top_(new V(ctx_.get(), "top")) {
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
  void set(const NumUnpackerInputs& in) {
    top_->cfg_valid_i = in.cfg_valid;
    top_->cfg_addr_i = in.cfg_addr;
    top_->cfg_data_i = in.cfg_data;
    top_->sym_valid_i = in.sym_valid;
    put_syms(top_->sym_data_i, in.sym, K);
    top_->sym_count_i = in.sym_count;
    top_->sym_last_i = in.sym_last;
    top_->raw_valid_i = in.raw_valid;
    top_->raw_data_i = in.raw_data;
    top_->raw_last_i = in.raw_last;
    top_->out_ready_i = in.out_ready;
    top_->err_clear_i = in.err_clear;
    top_->eval();
  }
  NumUnpackerOutputs outputs() const {
    NumUnpackerOutputs o;
    o.cfg_ready = top_->cfg_ready_o;
    o.sym_ready = top_->sym_ready_o;
    o.raw_ready = top_->raw_ready_o;
    o.out_valid = top_->out_valid_o;
    for (int j = 0; j < K; ++j) o.out_data[size_t(j)] = out_word(top_->out_data_o, j);
    o.out_count = top_->out_count_o;
    o.out_last = top_->out_last_o;
    o.err = top_->err_o;
    o.err_cause = top_->err_cause_o;
    return o;
  }
  void tick() {
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
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> trace_;
  uint64_t time_ = 0;
};

// The cycle model as the device: the same bodies then check it against the functional model alone.
template <int K>
class ModelDut {
 public:
  static constexpr int kLanes = K;
  void set(const NumUnpackerInputs& in) { in_ = in; }
  NumUnpackerOutputs outputs() const { return m_.outputs(in_); }
  void tick() { m_.tick(in_); }

 private:
  NumUnpackerModel m_{K};
  NumUnpackerInputs in_;
};

// ---------------------------------------------------------------------------------------------
// Jobs: a table, then chunks as symbol beats and raw words, with the expected output beats.

struct Beat {
  std::array<uint8_t, ws::kNumMaxLanes> sym{};
  int count = 0;
  bool last = false;
};
struct OutBeat {
  std::array<uint32_t, ws::kNumMaxLanes> data{};
  int count = 0;
  bool last = false;
  bool check = true;  // false from the first malformed chunk on
};
struct Job {
  std::vector<std::pair<uint32_t, uint32_t>> cfg;  // (addr, data)
  std::vector<Beat> beats;
  std::vector<std::pair<uint32_t, bool>> words;    // raw words, last
  std::vector<OutBeat> expect;                     // the functional model's beats
  bool check_values = true;                        // false once a chunk is malformed
  uint8_t expect_cause = ws::kNumErrNone;          // named by the functional model
  uint64_t values = 0;
};

Job start_job(const Format& f) {
  Job job;
  const auto words = f.config_words();
  for (uint32_t s = 0; s < 256; ++s) job.cfg.push_back({s, words[s]});
  job.cfg.push_back({ws::kNumCfgModeAddr, f.kind() == Kind::Int ? 1u : 0u});
  return job;
}

uint8_t cause_of(const std::string& what) {
  if (what == "raw stream runs out") return ws::kNumErrRunsOut;
  if (what.rfind("unknown symbol", 0) == 0) return ws::kNumErrUnknown;
  if (what == "raw bits left over") return ws::kNumErrLeftOver;
  return 0xff;
}

// One chunk: its symbols in beats of K, its raw stream as words (none when it is empty). Expected
// beats come from the functional model; once a chunk is malformed, the rest is not value-checked and
// the model's error becomes the expected cause.
void add_chunk(Job& job, int k, const Format& f, const std::vector<uint8_t>& syms, const std::vector<uint8_t>& raw) {
  const size_t n = syms.size();
  std::vector<uint32_t> out;
  if (job.check_values) {
    try {
      out = ws::numfmt::decode_tensor(f, syms.data(), n, raw.data(), raw.size());
    } catch (const ws::FormatError& e) {
      job.check_values = false;
      job.expect_cause = cause_of(e.what());
    }
  }
  for (size_t i = 0; i < n; i += size_t(k)) {
    Beat b;
    OutBeat o;
    b.count = o.count = int(std::min(n - i, size_t(k)));
    b.last = o.last = i + size_t(k) >= n;
    o.check = job.check_values;
    for (int j = 0; j < b.count; ++j) {
      b.sym[size_t(j)] = syms[i + size_t(j)];
      if (job.check_values) o.data[size_t(j)] = out[i + size_t(j)];
    }
    job.beats.push_back(b);
    job.expect.push_back(o);
  }
  for (size_t w = 0; w < raw.size(); w += 4) {
    uint32_t v;
    std::memcpy(&v, raw.data() + w, 4);
    job.words.push_back({v, w + 4 == raw.size()});
  }
  if (job.check_values) job.values += n;
}

// Codes -> symbols and raw stream (as the encoder writes them).
void add_codes(Job& job, int k, const Format& f, const std::vector<Code>& codes) {
  std::vector<uint8_t> syms, raw;
  ws::BitWriter w(raw);
  for (const Code& c : codes) {
    syms.push_back(c.symbol);
    w.write(c.raw, f.entry(c.symbol).raw_bits);
  }
  w.pad_to_words();
  add_chunk(job, k, f, syms, raw);
}

// fp32 values encoded (rounded) under f, in chunks.
void add_values(Job& job, int k, const Format& f, const float* v, size_t n, size_t chunk) {
  for (size_t i = 0; i < n; i += chunk) {
    const size_t m = std::min(chunk, n - i);
    const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, v + i, m, true);
    add_chunk(job, k, f, t.symbols, t.raw);
  }
}

// ---------------------------------------------------------------------------------------------
// Running a job

// When each source offers its next item and when the sink is ready (tb::Pattern: always, random
// gaps, bursts).
struct Traffic {
  tb::Pattern cfg, sym, raw, ready;
  static Traffic always() { return {tb::Pattern::always(), tb::Pattern::always(), tb::Pattern::always(), tb::Pattern::always()}; }
  static Traffic pick(tb::Rng& r) { return {tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r)}; }
  std::string describe() const {
    return "cfg " + cfg.describe() + " sym " + sym.describe() + " raw " + raw.describe() + " ready " + ready.describe();
  }
};

struct Stats {
  uint64_t cycles = 0, values = 0, value_mismatches = 0, cycle_mismatches = 0, beats_out = 0;
  bool hung = false;
  bool err = false;
  uint8_t cause = 0;
  Stats& operator+=(const Stats& o) {
    cycles += o.cycles, values += o.values, value_mismatches += o.value_mismatches;
    cycle_mismatches += o.cycle_mismatches, beats_out += o.beats_out, hung = hung || o.hung;
    return *this;
  }
};

std::string describe(const NumUnpackerOutputs& o) {
  char b[160];
  std::snprintf(b, sizeof b, "cfg_rdy %d sym_rdy %d raw_rdy %d out_v %d cnt %d last %d err %d cause %d data0 %08x",
                o.cfg_ready, o.sym_ready, o.raw_ready, o.out_valid, o.out_count, o.out_last, o.err, o.err_cause,
                unsigned(o.out_data[0]));
  return b;
}

bool same(const NumUnpackerOutputs& a, const NumUnpackerOutputs& b, int k) {
  if (a.cfg_ready != b.cfg_ready || a.sym_ready != b.sym_ready || a.raw_ready != b.raw_ready ||
      a.out_valid != b.out_valid || a.err != b.err || a.err_cause != b.err_cause)
    return false;
  if (!a.out_valid) return true;  // data registers are not reset: only compared when valid
  if (a.out_count != b.out_count || a.out_last != b.out_last) return false;
  for (int j = 0; j < k; ++j)
    if (a.out_data[size_t(j)] != b.out_data[size_t(j)]) return false;
  return true;
}

template <class R>
Stats run(const Job& job, Traffic t, tb::Rng& rng) {
  constexpr int K = R::kLanes;
  R dut;
  NumUnpackerModel model(K);
  Stats st;
  tb::Scoreboard<OutBeat> expect;
  for (const OutBeat& b : job.expect) expect.push(b);
  size_t ci = 0, bi = 0, wi = 0;
  bool cv = false, sv = false, rv = false;
  uint64_t since_progress = 0;
  while (!expect.empty() || wi < job.words.size() || ci < job.cfg.size()) {
    // Sources: an idle one may offer its next item; an offered one holds it until taken. Symbols
    // follow the table load (a beat would otherwise meet a half-written table).
    if (!cv && ci < job.cfg.size()) cv = t.cfg.next(rng);
    if (!sv && bi < job.beats.size() && ci == job.cfg.size()) sv = t.sym.next(rng);
    if (!rv && wi < job.words.size()) rv = t.raw.next(rng);
    NumUnpackerInputs in;
    in.cfg_valid = cv;
    in.cfg_addr = cv ? job.cfg[ci].first : uint32_t(rng.next() & 0x1ff);  // junk while not valid
    in.cfg_data = cv ? job.cfg[ci].second : uint32_t(rng.next() & 0x1fffff);
    in.sym_valid = sv;
    if (sv) {
      in.sym = job.beats[bi].sym;
      in.sym_count = job.beats[bi].count;
      in.sym_last = job.beats[bi].last;
    } else {
      for (auto& s : in.sym) s = uint8_t(rng.next());
      in.sym_count = int(rng.range(0, K));
      in.sym_last = rng.chance(0.5);
    }
    in.raw_valid = rv;
    in.raw_data = rv ? job.words[wi].first : uint32_t(rng.next());
    in.raw_last = rv ? job.words[wi].second : rng.chance(0.5);
    in.out_ready = t.ready.next(rng);

    dut.set(in);
    const NumUnpackerOutputs ro = dut.outputs();
    const NumUnpackerOutputs mo = model.outputs(in);
    if (!same(ro, mo, K) && st.cycle_mismatches++ < 5)
      ADD_FAILURE() << tb::seed_text() << " cycle " << st.cycles << " (" << t.describe() << ")\n  rtl   "
                    << describe(ro) << "\n  model " << describe(mo);

    bool progress = false;
    if (ro.out_valid && in.out_ready) {
      if (expect.empty()) {
        if (st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " extra output beat";
      } else {
        const OutBeat e = expect.pop();
        if (ro.out_last != e.last || (e.check && ro.out_count != e.count)) {
          if (st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " beat framing differs";
        }
        for (int j = 0; e.check && j < e.count; ++j) {
          ++st.values;
          if (ro.out_data[size_t(j)] != e.data[size_t(j)] && st.value_mismatches++ < 5)
            ADD_FAILURE() << tb::seed_text() << " lane " << j << ": rtl " << std::hex << ro.out_data[size_t(j)]
                          << " expected " << e.data[size_t(j)];
        }
      }
      ++st.beats_out;
      progress = true;
    }
    if (cv && ro.cfg_ready) cv = false, ++ci, progress = true;
    if (sv && ro.sym_ready) sv = false, ++bi, progress = true;
    if (rv && ro.raw_ready) rv = false, ++wi, progress = true;
    dut.tick();
    model.tick(in);
    ++st.cycles;
    since_progress = progress ? 0 : since_progress + 1;
    if (since_progress > 5000) {
      st.hung = true;
      ADD_FAILURE() << tb::seed_text() << " no progress for 5000 cycles: beats in " << bi << "/" << job.beats.size()
                    << ", out " << st.beats_out << ", words " << wi << "/" << job.words.size() << ", cfg " << ci
                    << "/" << job.cfg.size() << " (" << t.describe() << ")";
      break;
    }
  }
  // A few idle cycles: nothing more may come out.
  for (int i = 0; i < 8; ++i) {
    NumUnpackerInputs in;
    in.out_ready = true;
    dut.set(in);
    const NumUnpackerOutputs ro = dut.outputs(), mo = model.outputs(in);
    if (!same(ro, mo, K)) ++st.cycle_mismatches;
    if (ro.out_valid && st.value_mismatches++ < 5) ADD_FAILURE() << tb::seed_text() << " output beat after the last one";
    st.err = ro.err;
    st.cause = ro.err_cause;
    dut.tick();
    model.tick(in);
  }
  EXPECT_TRUE(expect.empty()) << tb::seed_text() << ": " << expect.size() << " beats never came out";
  return st;
}

// Full speed, then three random traffic mixes.
template <class R>
Stats run_all_traffic(const Job& job, tb::Rng& rng) {
  Stats total;
  for (int i = 0; i < 4; ++i) {
    const Stats s = run<R>(job, i == 0 ? Traffic::always() : Traffic::pick(rng), rng);
    EXPECT_EQ(s.err, job.expect_cause != ws::kNumErrNone) << tb::seed_text() << " cause " << int(s.cause);
    EXPECT_EQ(s.cause, job.expect_cause) << tb::seed_text();
    EXPECT_EQ(s.beats_out, job.beats.size()) << tb::seed_text();
    total += s;
  }
  return total;
}

void report(const char* what, const Stats& s) {
  std::printf("%s: cycles %llu, values checked %llu, value mismatches %llu, cycle mismatches %llu\n", what,
              (unsigned long long)s.cycles, (unsigned long long)s.values, (unsigned long long)s.value_mismatches,
              (unsigned long long)s.cycle_mismatches);
  EXPECT_EQ(s.value_mismatches, 0u);
  EXPECT_EQ(s.cycle_mismatches, 0u);
  EXPECT_FALSE(s.hung);
}

// ---------------------------------------------------------------------------------------------
// Data

std::vector<float> stories_weights() {
  std::ifstream in(std::string(WS_DATA_DIR) + "/stories260K.bin", std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 28) return {};
  std::vector<float> w((bytes.size() - 28) / 4);  // after the 7-int32 header
  std::memcpy(w.data(), bytes.data() + 28, w.size() * 4);
  return w;
}

// The MiniLM path from scripts/minilm.sh (retried: a parallel test may be extracting it).
std::string minilm_path() {
  const std::string cmd = std::string("bash ") + WS_SOURCE_DIR + "/scripts/minilm.sh " + WS_BUILD_DIR + "/data";
  for (int attempt = 0; attempt < 5; ++attempt) {
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    if (p && pclose(p) == 0) {
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
      return out;
    }
    std::system("sleep 2");
  }
  return "";
}

// Up to n fp32 weights of MiniLM's F32 tensors, in file order, at most per_tensor from each.
std::vector<float> minilm_weights(size_t n, size_t per_tensor) {
  const std::string path = minilm_path();
  if (path.empty()) return {};
  const ws::SafetensorsFile f = ws::read_safetensors(path);
  std::ifstream in(path, std::ios::binary);
  std::vector<float> out;
  for (const auto& t : f.tensors) {
    if (t.dtype != "F32" || out.size() >= n) continue;
    const size_t m = std::min({size_t(t.value_count), per_tensor, n - out.size()});
    std::vector<float> v(m);
    in.seekg(std::streamoff(t.offset));
    in.read(reinterpret_cast<char*>(v.data()), std::streamsize(m * 4));
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// A random valid table: float or integer, classes, signs, raw widths 0..24 and scales over their
// whole valid range (fp32 subnormal results included), plus a few zero-raw-bit symbols.
Format random_format(std::mt19937_64& rng, Kind kind) {
  std::array<Entry, 256> t{};
  const int nsym = 1 + int(rng() % 48);
  auto pick = [&](int n) { return int(rng() % uint64_t(n)); };
  for (int i = 0; i < nsym; ++i) {
    Entry e;
    e.sign = pick(10) < 7 ? Sign::Raw : pick(2) ? Sign::Plus : Sign::Minus;
    const int rs = e.sign == Sign::Raw ? 1 : 0;
    const Class float_classes[] = {Class::Zero, Class::Finite, Class::Finite, Class::Finite,
                                   Class::FiniteNanMax, Class::Inf, Class::NaN, Class::InfNaN};
    e.cls = kind == Kind::Int ? (pick(6) ? Class::Finite : Class::Zero) : float_classes[pick(8)];
    if (e.cls == Class::Zero || e.cls == Class::Inf || e.cls == Class::NaN) {
      e.raw_bits = rs;
    } else if (e.cls == Class::InfNaN) {
      e.raw_bits = 1 + pick(23) + rs;
    } else {
      const int fb = e.cls == Class::FiniteNanMax ? 1 + pick(23) : pick(24);
      e.raw_bits = fb + rs;
      e.implicit_one = pick(4) != 0;
      if (kind == Kind::Int) {
        e.scale = fb + pick(31 - fb);                        // fb .. 30
      } else {
        const int lo = fb - 149, hi = 127;
        e.scale = pick(3) == 0 ? (pick(2) ? lo + pick(4) : hi - pick(4)) : lo + pick(hi - lo + 1);
      }
    }
    t[size_t(pick(256))] = e;
  }
  t[size_t(pick(256))] = Entry{Class::Zero, Sign::Plus, true, 0, 0};  // a symbol without raw bits
  return Format::custom("random", kind, t);
}

std::vector<uint8_t> defined_symbols(const Format& f) {
  std::vector<uint8_t> v;
  for (int s = 0; s < 256; ++s)
    if (f.entry(unsigned(s)).cls != Class::None) v.push_back(uint8_t(s));
  return v;
}

std::vector<Code> random_codes(std::mt19937_64& rng, const Format& f, size_t n, bool no_raw_only) {
  const std::vector<uint8_t> syms = defined_symbols(f);
  std::vector<uint8_t> pool;
  for (uint8_t s : syms)
    if (!no_raw_only || f.entry(s).raw_bits == 0) pool.push_back(s);
  std::vector<Code> codes;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t s = pool[rng() % pool.size()];
    const int rb = f.entry(s).raw_bits;
    codes.push_back({s, rb ? uint32_t(rng()) & ((rb >= 32 ? 0u : (1u << rb)) - 1) : 0u});
  }
  return codes;
}

Job random_job(std::mt19937_64& rng, int k, int chunks) {
  const Format f = random_format(rng, rng() % 4 == 0 ? Kind::Int : Kind::Float);
  Job job = start_job(f);
  for (int c = 0; c < chunks; ++c) {
    const size_t n = 1 + rng() % 200;
    add_codes(job, k, f, random_codes(rng, f, n, rng() % 8 == 0));  // some chunks have no raw stream
  }
  return job;
}

// ---------------------------------------------------------------------------------------------
// Tests: typed over the lane counts

template <class R>
class NumUnpacker : public ::testing::Test {};
using Configs = ::testing::Types<Rtl<Vnum_unpacker_L4, 4>, Rtl<Vnum_unpacker_L1, 1>, Rtl<Vnum_unpacker_L8, 8>,
                                 ModelDut<4>, ModelDut<8>>;
TYPED_TEST_SUITE(NumUnpacker, Configs);

TYPED_TEST(NumUnpacker, RandomTablesAndCodes) {
  tb::Rng rng(tb_seed());
  const int jobs = int(tb::depth(6, 200));
  Stats total;
  for (int i = 0; i < jobs; ++i) total += run_all_traffic<TypeParam>(random_job(rng.engine(), TypeParam::kLanes, 24), rng);
  report("random tables", total);
}

TYPED_TEST(NumUnpacker, MalformedStreams) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  Stats total;
  const int rounds = int(tb::depth(2, 40));
  for (int r = 0; r < rounds; ++r) {
    const Format f = Format::builtin(r % 2 ? "e4m3" : "posit16");  // symbol 255 has no entry in either
    std::vector<float> v(1000);
    for (float& x : v) x = float(std::normal_distribution<double>(0, 0.05)(rng.engine()));
    // Four chunks of 250 values; the second is broken in one of five ways, the rest are well formed.
    for (int kind = 0; kind < 5; ++kind) {
      Job job = start_job(f);
      uint8_t cause = 0;
      if (kind == 4) {  // a table entry with 25 raw bits: refused, stored as "no entry"
        job.cfg.push_back({3, Entry{Class::Finite, Sign::Raw, true, 0, 25}.pack()});
        job.check_values = false;
        job.expect_cause = cause = ws::kNumErrBadCfg;
      }
      for (int c = 0; c < 4; ++c) {
        const ws::numfmt::SplitTensor t = ws::numfmt::encode_tensor(f, v.data() + c * 250, 250, true);
        std::vector<uint8_t> syms = t.symbols, raw = t.raw;
        if (c == 1) {
          if (kind == 0) syms[size_t(rng.range(0, 249))] = 255, cause = ws::kNumErrUnknown;
          if (kind == 1) raw.resize(raw.size() - 4), cause = ws::kNumErrRunsOut;
          if (kind == 2 || (kind == 3 && t.raw_bit_count % 32 == 0)) raw.insert(raw.end(), 4, 0);
          if (kind == 3 && t.raw_bit_count % 32 != 0) raw.back() |= 0x80;  // a padding bit set
          if (kind == 2 || kind == 3) cause = ws::kNumErrLeftOver;
        }
        add_chunk(job, K, f, syms, raw);
      }
      EXPECT_EQ(job.expect_cause, cause) << "kind " << kind;  // the functional model names the same
      total += run_all_traffic<TypeParam>(job, rng);
    }
  }
  report("malformed streams", total);
}

// Real weights: stories260K (and MiniLM on the 4-lane build) in bf16, fp8 E4M3 and posit16.
TYPED_TEST(NumUnpacker, RealWeights) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  const std::vector<float> stories = stories_weights();
  ASSERT_EQ(stories.size(), 264128u) << "stories260K.bin missing from " << WS_DATA_DIR;
  // Smoke: 24K weights from across the file (embedding, attention, FFN); long: all of them.
  std::vector<float> sw;
  if (tb::long_run()) {
    sw = stories;
  } else {
    for (size_t at : {size_t(0), size_t(40000), size_t(120000)})
      sw.insert(sw.end(), stories.begin() + long(at), stories.begin() + long(at + 8192));
  }
  std::vector<float> mw;
  if (K == 4) {
    mw = minilm_weights(tb::long_run() ? 4000000 : 16384, tb::long_run() ? 400000 : 2048);
    ASSERT_FALSE(mw.empty()) << "MiniLM missing (scripts/minilm.sh, make deps)";
  }
  for (const char* name : {"bf16", "e4m3", "posit16"}) {
    const Format f = Format::builtin(name);
    for (const auto* data : {&sw, &mw}) {
      if (data->empty()) continue;
      Job job = start_job(f);
      add_values(job, K, f, data->data(), data->size(), 4096);
      // The functional model itself, by another route for bf16: the widened rounded pattern.
      if (std::string(name) == "bf16") {
        uint64_t bad = 0;
        for (size_t i = 0; i < data->size(); ++i)
          bad += job.expect[i / K].data[i % K] != uint32_t(ws::fp32_to_bf16((*data)[i])) << 16;
        EXPECT_EQ(bad, 0u);
      }
      const Stats s = run<TypeParam>(job, Traffic::pick(rng), rng);
      EXPECT_FALSE(s.err) << "cause " << int(s.cause);
      EXPECT_EQ(s.values, data->size());
      report((std::string(name) + (data == &sw ? " stories260K" : " MiniLM")).c_str(), s);
    }
  }
}

// ws_num_convert alone (one clock through its two halves): random valid entries of every class
// (float and int tables, scales over their whole range, all-ones fractions) against
// ws::numfmt::output_word, many more corners than whole chunks reach.
TEST(NumConvert, MatchesFunctionalModel) {
  tb::Rng rng(tb_seed());
  VerilatedContext ctx;  // a context of its own, as every model here
  Vnum_convert d(&ctx, "conv");
  const Class float_classes[] = {Class::Zero, Class::Finite, Class::FiniteNanMax, Class::Inf, Class::NaN, Class::InfNaN};
  const uint64_t n = tb::depth(1000000, 50000000);
  uint64_t mismatches = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const bool int_mode = rng.chance(0.25);
    Entry e;
    e.sign = rng.chance(0.6) ? Sign::Raw : rng.chance(0.5) ? Sign::Plus : Sign::Minus;
    const int rs = e.sign == Sign::Raw ? 1 : 0;
    e.cls = int_mode ? (rng.chance(0.8) ? Class::Finite : Class::Zero) : float_classes[rng.range(0, 5)];
    int fb = 0;
    if (e.cls == Class::Finite || e.cls == Class::FiniteNanMax) {
      fb = int(e.cls == Class::FiniteNanMax ? rng.range(1, 23) : rng.range(0, 23));
      e.implicit_one = rng.chance(0.5);
      if (int_mode) {
        e.scale = int(rng.range(uint64_t(fb), 30));
      } else {  // a third near the subnormal edge, the rest anywhere valid
        const int lo = fb - 149;
        e.scale = lo + int(rng.chance(0.33) ? rng.range(0, 30) : rng.range(0, uint64_t(127 - lo)));
      }
    } else if (e.cls == Class::InfNaN) {
      fb = int(rng.range(1, 23));
    }
    e.raw_bits = fb + rs;
    const uint32_t frac = rng.chance(0.1) ? (1u << fb) - 1 : uint32_t(rng.next()) & ((1u << fb) - 1);
    const bool neg = rs ? rng.chance(0.5) : e.sign == Sign::Minus;
    const uint32_t want = ws::numfmt::output_word(e, rs ? uint32_t(neg) << fb | frac : frac,
                                                   int_mode ? Kind::Int : Kind::Float);
    d.int_mode_i = int_mode;
    d.cls_i = uint8_t(e.cls);
    d.neg_i = neg;
    d.implicit_i = e.implicit_one;
    d.lsb_i = uint32_t(e.scale - fb) & 0x7ff;
    d.frac_bits_i = uint8_t(fb);
    d.frac_i = frac;
    d.en_i = 1;
    d.clk_i = 0;
    d.eval();
    d.clk_i = 1;  // the register between the halves
    d.eval();
    if (d.word_o != want && mismatches++ < 5)
      ADD_FAILURE() << tb::seed_text() << " class " << int(e.cls) << " int " << int_mode << " scale " << e.scale
                    << " frac_bits " << fb << " implicit " << e.implicit_one << " frac " << std::hex << frac
                    << ": rtl " << d.word_o << " expected " << want;
  }
  std::printf("conversions: %llu, mismatches: %llu\n", (unsigned long long)n, (unsigned long long)mismatches);
  EXPECT_EQ(mismatches, 0u);
}

// Throughput: with every source and the sink always ready, a bf16 stream (K * 8 raw bits per beat)
// runs one beat per cycle when K <= 4; the first beat appears kLatency cycles after it went in.
TYPED_TEST(NumUnpacker, FullSpeedBf16) {
  tb::Rng rng(tb_seed());
  constexpr int K = TypeParam::kLanes;
  const std::vector<float> stories = stories_weights();
  ASSERT_FALSE(stories.empty());
  const Format f = Format::builtin("bf16");
  Job job = start_job(f);
  add_values(job, K, f, stories.data(), 16384, 16384);
  const Stats s = run<TypeParam>(job, Traffic::always(), rng);
  report("bf16 full speed", s);
  // 257 config writes, latency, then one beat per cycle unless the raw words (32 bits per cycle)
  // cannot keep up: K * 8 bits per beat.
  const double beats = double(job.beats.size());
  const double bound = 257 + NumUnpackerModel::kLatency + 2 + beats * std::max(1.0, K * 8 / 32.0);
  std::printf("cycles %llu for %.0f beats (bound %.0f)\n", (unsigned long long)s.cycles, beats, bound);
  EXPECT_LE(double(s.cycles), bound);
}

}  // namespace
