// Bench of ws_tans_decoder (docs/tans_decoder.md): one typed test body runs against the Verilated
// RTL (with the cycle model in lock step, every output compared on every cycle) and against the
// cycle model alone; both are checked transfer by transfer against ws::tans::decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "Vws_tans_decoder_L1.h"
#include "Vws_tans_decoder_L2.h"
#include "Vws_tans_decoder_L4.h"
#include "Vws_tans_decoder_L4_ML9.h"
#include "Vws_tans_decoder_L8.h"
#include "dut.hpp"
#include "runner.hpp"
#include "stimulus.hpp"
#include "tb.hpp"

namespace tbdec {
namespace {

template <class Dut>
class TansDecoder : public ::testing::Test {
 protected:
  static int K() { return Dut::params().lanes; }
  static int ML() { return Dut::params().max_table_log; }
  static int table_log() { return std::min(ws::tans::kDefaultTableLog, ML()); }

  // Every failure message carries the seed, so that any failure replays.
  void SetUp() override {
    trace_ = std::make_unique<::testing::ScopedTrace>(__FILE__, __LINE__, tb::seed_text());
  }

  std::string test_name() const {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return std::string(info->test_suite_name()) + "." + info->name();
  }

  // Runs prog, prints the totals, and fails on any mismatch or missed error.
  Stats run(const Program& prog, tb::Rng& rng, const Patterns& pat, const std::string& what) {
    uint64_t symbols = 0;
    for (const auto& c : prog.chunks) symbols += c.desc.count + c.word_count();
    const std::string wave = test_name() + (runs_ ? "." + std::to_string(runs_) : "");
    ++runs_;
    Runner<Dut> r(prog, rng, pat, tb::waves_path(wave));
    Stats s = r.run(40 * symbols + 20 * prog.chunks.size() * 4096 + 100000);
    std::printf(
        "[%s] %s: chunks %zu, symbols checked %llu, transfers compared %llu, lockstep cycles "
        "%llu, mismatches %llu, errors flagged/injected %llu/%llu, cycles %llu (%s; %s)\n",
        Dut::name().c_str(), what.c_str(), prog.chunks.size(), (unsigned long long)s.symbols,
        (unsigned long long)s.transfers, (unsigned long long)s.lockstep_cycles,
        (unsigned long long)s.mismatches, (unsigned long long)s.errors_flagged,
        (unsigned long long)s.errors_injected, (unsigned long long)s.cycles, pat.describe().c_str(),
        tb::seed_text().c_str());
    for (const auto& n : s.notes) ADD_FAILURE() << what << ": " << n;
    EXPECT_EQ(s.mismatches, 0u) << what;
    EXPECT_EQ(s.errors_flagged, s.errors_injected) << what;
    if (Dut::kRtl) EXPECT_EQ(s.lockstep_cycles, s.cycles) << what;
    total_.add(s);
    return s;
  }

  void TearDown() override {
    std::printf(
        "[%s] TOTAL: symbols checked %llu, transfers compared %llu, mismatches %llu, "
        "errors flagged/injected %llu/%llu, cycles %llu, %s\n",
        Dut::name().c_str(), (unsigned long long)total_.symbols,
        (unsigned long long)total_.transfers, (unsigned long long)total_.mismatches,
        (unsigned long long)total_.errors_flagged, (unsigned long long)total_.errors_injected,
        (unsigned long long)total_.cycles, tb::seed_text().c_str());
  }

  // Real values cut into chunks of chunk_values, each with its own table, all in one program.
  void add_real_chunks(Program& prog, const std::string& name, const std::vector<uint8_t>& values,
                       ws::DType dtype, size_t chunk_values, size_t max_chunks) {
    const size_t width = ws::dtype_size(dtype);
    const size_t n = values.size() / width;
    for (size_t at = 0, i = 0; at < n && i < max_chunks; at += chunk_values, ++i) {
      const size_t count = std::min(chunk_values, n - at);
      Table t;
      Chunk c = make_real_chunk(name + "#" + std::to_string(i), int(prog.tables.size()), t,
                                values.data() + at * width, count, dtype, K(), ML(), table_log());
      ASSERT_EQ(c.expect_err, 0) << c.name << " does not decode in the functional model";
      prog.load(prog.add_table(t));
      prog.run(c);
    }
  }

  Stats total_;
  std::unique_ptr<::testing::ScopedTrace> trace_;
  int runs_ = 0;  // programs run so far: each writes its own waveform
};

struct DutNames {
  template <class T>
  static std::string GetName(int) {
    return T::name();
  }
};

using Duts = ::testing::Types<RtlDut<Vws_tans_decoder_L1, 1>, RtlDut<Vws_tans_decoder_L2, 2>,
                              RtlDut<Vws_tans_decoder_L4, 4>, RtlDut<Vws_tans_decoder_L8, 8>,
                              RtlDut<Vws_tans_decoder_L4_ML9, 4, 9>, ModelDut<1>, ModelDut<2>,
                              ModelDut<4>, ModelDut<8>, ModelDut<4, 9>>;
TYPED_TEST_SUITE(TansDecoder, Duts, DutNames);

// ------------------------------------------------------------------------------------------------
// Real data: stories260K rounded to bf16 (round to nearest even) and as fp32, whole file, chunked
// as the tool does; random gaps and backpressure.

TYPED_TEST(TansDecoder, RealStoriesBf16) {
  tb::Rng rng(tb::seed());
  const std::vector<uint8_t> bf16 = to_bf16(stories_fp32());
  const uint64_t rounds = tb::depth(1, 12);
  for (uint64_t round = 0; round < rounds; ++round) {
    Program prog;
    const size_t chunk = round == 0 ? 16384 : size_t(rng.range(1000, 70000));
    this->add_real_chunks(prog, "stories-bf16", bf16, ws::DType::BF16, chunk, 1000);
    this->run(prog, rng, Patterns::pick(rng),
              "stories260K bf16, chunks of " + std::to_string(chunk));
  }
}

TYPED_TEST(TansDecoder, RealStoriesF32) {
  tb::Rng rng(tb::seed() + 1);
  const std::vector<uint8_t> fp32 = stories_fp32();
  const uint64_t rounds = tb::depth(1, 12);
  for (uint64_t round = 0; round < rounds; ++round) {
    Program prog;
    const size_t chunk = round == 0 ? 16384 : size_t(rng.range(1000, 70000));
    this->add_real_chunks(prog, "stories-fp32", fp32, ws::DType::F32, chunk, 1000);
    this->run(prog, rng, Patterns::pick(rng),
              "stories260K fp32, chunks of " + std::to_string(chunk));
  }
}

// MiniLM (all-MiniLM-L6-v2, fp32 safetensors) rounded to bf16: a few chunks per tensor.
TYPED_TEST(TansDecoder, RealMiniLMBf16) {
  tb::Rng rng(tb::seed() + 2);
  const auto tensors = minilm_tensors(tb::depth(3, 40), 65536);
  ASSERT_FALSE(tensors.empty()) << "no F32 tensor of 65536 values in MiniLM";
  Program prog;
  for (const auto& [name, fp32] : tensors)
    this->add_real_chunks(prog, "minilm:" + name, to_bf16(fp32), ws::DType::BF16, 65536,
                          tb::depth(1, 100));
  this->run(prog, rng, Patterns::pick(rng),
            "MiniLM bf16, " + std::to_string(tensors.size()) + " tensors");
}

// ------------------------------------------------------------------------------------------------
// Random tables: every table log 5..MaxTableLog, alphabets uniform, extremely skewed, single symbol
// (an empty stream), all 256 symbols, random; chunk sizes from 1 symbol up; random table reloads.

TYPED_TEST(TansDecoder, RandomTables) {
  tb::Rng rng(tb::seed() + 3);
  const Alphabet kinds[] = {Alphabet::Uniform, Alphabet::Skewed, Alphabet::Single,
                            Alphabet::Full256, Alphabet::Random};
  const uint64_t rounds = tb::depth(2, 60);
  for (uint64_t round = 0; round < rounds; ++round) {
    Program prog;
    for (int log = 5; log <= this->ML(); ++log) {
      for (Alphabet a : kinds) {
        if (a == Alphabet::Full256 && log < 8) continue;  // 256 symbols need 256 slots
        const auto nc = random_counts(rng, log, a);
        const int t = prog.add_table(make_table(nc));
        prog.load(t);
        for (int i = 0; i < 2; ++i) {
          size_t n = 0;
          switch (rng.range(0, 3)) {
            case 0:
              n = size_t(rng.range(1, 2 * this->K() + 1));
              break;  // shorter than two steps
            case 1:
              n = size_t(rng.range(1, 300));
              break;
            default:
              n = size_t(rng.range(300, tb::depth(3000, 20000)));
              break;
          }
          const std::string name =
              std::string(alphabet_name(a)) + " L" + std::to_string(log) + " n" + std::to_string(n);
          prog.run(make_chunk(name, t, prog.tables[size_t(t)], nc, random_symbols(rng, nc, n),
                              this->K(), this->ML()));
        }
      }
    }
    this->run(prog, rng, Patterns::pick(rng), "random tables, round " + std::to_string(round));
  }
}

// ------------------------------------------------------------------------------------------------
// Back to back: chunks that share one table, queued without gaps; empty and tiny chunks among them.
// With no backpressure and real data, the decoder must not lose a cycle between chunks.

TYPED_TEST(TansDecoder, BackToBack) {
  tb::Rng rng(tb::seed() + 4);
  const std::vector<uint8_t> bf16 = to_bf16(stories_fp32());
  const size_t chunks = tb::depth(8, 30), per = 8192;
  std::vector<std::vector<uint8_t>> syms(chunks);
  ws::tans::Histogram hist{};
  for (size_t c = 0; c < chunks; ++c) {
    const size_t base = (c * per * 7) % (bf16.size() / 2 - per);
    for (size_t i = 0; i < per; ++i) {
      const uint8_t e =
          uint8_t(((bf16[2 * (base + i) + 1] << 1) | (bf16[2 * (base + i)] >> 7)) & 0xff);
      syms[c].push_back(e);
      ++hist[e];
    }
  }
  const auto nc = ws::tans::normalize(hist, this->table_log());
  // 1. Long real chunks, no gaps: count the cycles lost between chunks.
  {
    Program prog;
    const int t = prog.add_table(make_table(nc));
    prog.load(t);
    for (size_t c = 0; c < chunks; ++c)
      prog.run(make_chunk("shared#" + std::to_string(c), t, prog.tables[0], nc, syms[c], this->K(),
                          this->ML()));
    const Stats s = this->run(prog, rng, Patterns::always(), "back to back, one table, no gaps");
    uint64_t lost = 0;
    for (size_t c = 1; c < chunks; ++c)
      lost += s.timing[c].first_beat - s.timing[c - 1].last_beat - 1;
    const uint64_t beats = s.timing.back().last_beat - s.timing.front().first_beat + 1;
    std::printf(
        "[%s] back to back: %zu chunks, %llu cycles from first to last beat, %llu lost "
        "between chunks\n",
        TypeParam::name().c_str(), chunks, (unsigned long long)beats, (unsigned long long)lost);
    EXPECT_EQ(lost, 0u) << "bubbles between back-to-back chunks";
  }
  // 2. Mixed sizes (0, 1 .. K, long) with random gaps and backpressure.
  {
    Program prog;
    const int t = prog.add_table(make_table(nc));
    prog.load(t);
    for (size_t c = 0; c < tb::depth(40, 400); ++c) {
      size_t n = 0;
      switch (rng.range(0, 3)) {
        case 0:
          n = 0;
          break;
        case 1:
          n = size_t(rng.range(1, this->K()));
          break;
        case 2:
          n = size_t(rng.range(1, 200));
          break;
        default:
          n = size_t(rng.range(200, 3000));
          break;
      }
      const auto& src = syms[size_t(rng.range(0, chunks - 1))];
      std::vector<uint8_t> s(src.begin(), src.begin() + long(n));
      prog.run(make_chunk("mixed#" + std::to_string(c), t, prog.tables[0], nc, s, this->K(),
                          this->ML()));
    }
    this->run(prog, rng, Patterns::pick(rng), "back to back, mixed sizes");
  }
}

// ------------------------------------------------------------------------------------------------
// Throughput: long real chunks, no gaps, no backpressure: symbols per cycle from the descriptor to
// the chunk's last beat. Must be at least 0.98 * Lanes (a cycle count, not a timing measurement).

TYPED_TEST(TansDecoder, Throughput) {
  tb::Rng rng(tb::seed() + 5);
  const std::vector<uint8_t> fp32 = stories_fp32();
  const std::vector<uint8_t> bf16 = to_bf16(fp32);
  struct Source {
    std::string name;
    std::vector<uint8_t> values;
    ws::DType dtype;
  };
  std::vector<Source> sources = {{"stories-bf16", bf16, ws::DType::BF16},
                                 {"stories-fp32", fp32, ws::DType::F32}};
  for (auto& [name, data] : minilm_tensors(1, 65536))
    sources.push_back({"minilm-bf16:" + name, to_bf16(data), ws::DType::BF16});
  for (const auto& src : sources) {
    Program prog;
    this->add_real_chunks(prog, src.name, src.values, src.dtype, 65536, tb::depth(2, 4));
    const Stats s = this->run(prog, rng, Patterns::always(), "throughput " + src.name);
    uint64_t syms = 0, cycles = 0;
    for (size_t c = 0; c < prog.chunks.size(); ++c) {
      const ChunkTiming& t = s.timing[c];
      if (prog.chunks[c].desc.count < 16384) continue;  // only long chunks count
      const double rate = double(t.symbols) / double(t.last_beat - t.accepted + 1);
      std::printf(
          "[%s] throughput %s: %llu symbols in %llu cycles = %.4f symbols/cycle (%.4f of %d)\n",
          TypeParam::name().c_str(), prog.chunks[c].name.c_str(), (unsigned long long)t.symbols,
          (unsigned long long)(t.last_beat - t.accepted + 1), rate, rate / this->K(), this->K());
      EXPECT_GE(rate, 0.98 * this->K()) << prog.chunks[c].name;
      syms += t.symbols;
      cycles += t.last_beat - t.accepted + 1;
    }
    ASSERT_GT(cycles, 0u);
    std::printf("[%s] throughput %s: %.4f symbols/cycle sustained (Lanes %d)\n",
                TypeParam::name().c_str(), src.name.c_str(), double(syms) / double(cycles),
                this->K());
    // One machine-readable line per source for scripts/bench_hw.py (a cycle count, not a timing).
    std::printf("WS_BENCH {\"bench\":\"tans_decoder\",\"dut\":\"%s\",\"rtl\":%s,\"lanes\":%d,"
                "\"max_table_log\":%d,\"source\":\"%s\",\"chunk_values\":65536,\"symbols\":%llu,"
                "\"cycles\":%llu,\"mismatches\":%llu}\n",
                TypeParam::name().c_str(), TypeParam::kRtl ? "true" : "false", this->K(), this->ML(),
                src.name.c_str(), (unsigned long long)syms, (unsigned long long)cycles,
                (unsigned long long)(s.mismatches));
  }
}

// ------------------------------------------------------------------------------------------------
// Errors: a chunk before any table write, corrupted and truncated streams, bad descriptors and bad
// table entries. Each must raise exactly the expected sticky cause (for stream errors: the one the
// functional model reports), and the good chunk after it must decode correctly.

enum class Corrupt {
  BitFlip,
  Truncate,
  ExtraWord,
  Padding,
  WrongState,
  StateTooBig,
  BadLog,
  Count
};

TYPED_TEST(TansDecoder, Errors) {
  tb::Rng rng(tb::seed() + 6);
  const int K = this->K(), ML = this->ML();
  Program prog;
  // A chunk before any table write since reset.
  auto nc0 = random_counts(rng, ML, Alphabet::Random);
  const int t0 = prog.add_table(make_table(nc0));
  Chunk first = make_chunk("before any table", t0, prog.tables[size_t(t0)], nc0,
                           random_symbols(rng, nc0, 500), K, ML);
  const Chunk good0 = first;
  first.expect_err = ws::pkg::TANS_ERR_NO_TABLE;
  first.expect = {Beat{0, true, {}}};
  first.expect_symbols = 0;
  prog.run(first);
  prog.check(ws::pkg::TANS_ERR_NO_TABLE);
  prog.load(t0);
  prog.run(good0);
  prog.check(0);

  uint64_t benign = 0;
  const uint64_t cases = tb::depth(60, 3000);
  for (uint64_t i = 0; i < cases; ++i) {
    const int log = int(rng.range(5, uint64_t(ML)));
    const auto nc = random_counts(rng, log, rng.chance(0.5) ? Alphabet::Random : Alphabet::Uniform);
    const int t = prog.add_table(make_table(nc));
    const Table& table = prog.tables[size_t(t)];
    prog.load(t);
    const size_t n = size_t(rng.range(1, rng.chance(0.3) ? 40 : 3000));
    Chunk c = make_chunk("", t, table, nc, random_symbols(rng, nc, n), K, ML);
    const Chunk good = make_chunk("good after #" + std::to_string(i), t, table, nc,
                                  random_symbols(rng, nc, size_t(rng.range(1, 2000))), K, ML);
    // A bad table entry now and then: flagged, then the table is loaded again.
    if (rng.chance(0.15)) {
      using Entry = ws::pkg::tans_entry_t;
      const uint32_t addr = uint32_t(rng.range(0, (1u << log) - 1));
      uint64_t bad = table.writes[addr].data;
      if (rng.chance(0.5)) {
        bad = (bad & ~Entry::nb_bits.put(~0ull)) | Entry::nb_bits.put(rng.range(uint64_t(ML) + 1, 15));  // nb_bits too big
      } else {
        bad = Entry::symbol.put(Entry::symbol.get(bad)) | Entry::nb_bits.put(2) |
              Entry::next_base.put(1);  // next_base not a multiple of 2^nb_bits
      }
      prog.load(t, {{addr, uint32_t(bad)}});
      prog.check(ws::pkg::TANS_ERR_BAD_ENTRY);
      prog.load(t);
    }
    Corrupt kind = Corrupt(rng.range(0, 7));
    if (kind == Corrupt::Padding && c.bits % 32 == 0) kind = Corrupt::ExtraWord;
    if ((kind == Corrupt::BitFlip || kind == Corrupt::Truncate) && c.stream.empty())
      kind = Corrupt::ExtraWord;
    std::string what;
    switch (kind) {  // on the stream's bytes: bit b is bit b % 8 of byte b / 8 (LSB-first)
      case Corrupt::BitFlip: {
        const uint64_t b = rng.range(0, c.bits - 1);
        c.stream[size_t(b / 8)] ^= uint8_t(1u << (b % 8));
        what = "bit " + std::to_string(b) + " flipped";
        break;
      }
      case Corrupt::Truncate: {
        const size_t drop = size_t(rng.range(1, std::min<uint64_t>(3, c.word_count())));
        c.stream.resize(c.stream.size() - 4 * drop);
        c.desc.no_stream = c.stream.empty();
        what = std::to_string(drop) + " words cut";
        break;
      }
      case Corrupt::ExtraWord: {
        const uint32_t w = rng.chance(0.5) ? 0u : uint32_t(rng.next());
        for (int i = 0; i < 4; ++i) c.stream.push_back(uint8_t(w >> (8 * i)));
        c.desc.no_stream = false;
        what = "a word appended";
        break;
      }
      case Corrupt::Padding: {
        const uint64_t b = rng.range(c.bits, 8 * c.stream.size() - 1);
        c.stream[size_t(b / 8)] |= uint8_t(1u << (b % 8));
        what = "padding bit " + std::to_string(b) + " set";
        break;
      }
      case Corrupt::WrongState: {
        const int j = int(rng.range(0, uint64_t(K) - 1));
        c.desc.states[size_t(j)] = uint16_t(
            (c.desc.states[size_t(j)] + rng.range(1, (1u << log) - 1)) & ((1u << log) - 1));
        what = "lane " + std::to_string(j) + " initial state changed";
        break;
      }
      case Corrupt::StateTooBig: {
        const int j = int(rng.range(0, uint64_t(K) - 1));
        c.desc.states[size_t(j)] = uint16_t(rng.range(1u << log, 0xffff));
        what = "lane " + std::to_string(j) + " initial state >= 2^L";
        break;
      }
      case Corrupt::BadLog:
        c.desc.table_log = uint32_t(rng.chance(0.5) || ML == 12 ? rng.range(0, 4)
                                                                : rng.range(uint64_t(ML) + 1, 15));
        what = "table log " + std::to_string(c.desc.table_log);
        break;
      case Corrupt::Count:
        c.desc.count = uint32_t(rng.chance(0.5) ? c.desc.count + rng.range(1, 2 * uint64_t(K))
                                                : rng.range(1, c.desc.count));
        if (c.desc.count == n) c.desc.count = uint32_t(n + 1);
        what = "symbol count " + std::to_string(n) + " -> " + std::to_string(c.desc.count);
        break;
    }
    expect_from_golden(c, table, K, ML);
    c.name = "#" + std::to_string(i) + " " + what;
    if (c.expect_err == 0) ++benign;
    prog.run(c);
    prog.check(c.expect_err);
    prog.run(good);
    prog.check(0);
  }
  const Stats s = this->run(prog, rng, Patterns::pick(rng), "errors");
  std::printf(
      "[%s] errors: %llu corruptions that the functional model accepts (decoded and "
      "checked as good chunks)\n",
      TypeParam::name().c_str(), (unsigned long long)benign);
  EXPECT_GT(s.errors_injected, cases / 2);
}

}  // namespace
}  // namespace tbdec

namespace tbdec {
namespace {

// The AXI-Stream assertions are compiled in (--assert) and fire: a descriptor that changes while
// the decoder holds it off must be reported by the RTL.
TEST(TansDecoderAssertions, DescriptorChangedWhileStalledIsCaught) {
  RtlDut<Vws_tans_decoder_L4, 4> dut(tb::waves_path("TansDecoderAssertions"));
  dut.in.rst_n = false;
  dut.eval();
  dut.tick();
  dut.in.rst_n = true;
  // A table write is pending, so the descriptor waits (desc_ready is low while cfg_valid is high).
  dut.in.cfg_valid = true;
  dut.in.desc_valid = true;
  dut.in.desc.table_log = 5;
  dut.in.desc.count = 10;
  dut.eval();
  EXPECT_FALSE(dut.out.desc_ready);
  dut.tick();
  EXPECT_FALSE(dut.assertion_failed());
  dut.in.desc.count = 11;  // breaks the rule
  dut.eval();
  dut.tick();
  EXPECT_TRUE(dut.assertion_failed())
      << "the RTL did not flag a descriptor that changed while stalled";
}

}  // namespace
}  // namespace tbdec
