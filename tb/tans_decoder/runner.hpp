// Runs a program (table loads, chunks, error checks) through a decoder implementation, cycle by
// cycle, with random valid gaps and ready backpressure. For the RTL it runs the cycle model in
// lock step on the same inputs and compares every output on every cycle; for both it checks every
// output transfer against the expected beats from the functional model.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "dut.hpp"
#include "hw/error_text.hpp"
#include "stimulus.hpp"
#include "tb.hpp"

namespace tbdec {

struct Op {
  enum Kind { Load, Run, Check } kind = Run;
  int index = -1;                     // Load: table; Run: chunk
  std::vector<ws::CfgWrite> extra;    // Load: raw writes after the table
  uint8_t expect = 0;  // Check: the sticky error cause expected now (0: none)
};

struct Program {
  std::vector<Table> tables;
  std::vector<Chunk> chunks;
  std::vector<Op> ops;

  int add_table(Table t) {
    tables.push_back(std::move(t));
    return int(tables.size()) - 1;
  }
  void load(int table, std::vector<ws::CfgWrite> extra = {}) {
    Op o;
    o.kind = Op::Load;
    o.index = table;
    o.extra = std::move(extra);
    ops.push_back(o);
  }
  void run(Chunk c) {
    chunks.push_back(std::move(c));
    Op o;
    o.kind = Op::Run;
    o.index = int(chunks.size()) - 1;
    ops.push_back(o);
  }
  void check(uint8_t expect) {
    Op o;
    o.kind = Op::Check;
    o.expect = expect;
    ops.push_back(o);
  }
};

struct Patterns {
  tb::Pattern cfg, desc, word, ready;
  static Patterns always() {
    return {tb::Pattern::always(), tb::Pattern::always(), tb::Pattern::always(),
            tb::Pattern::always()};
  }
  static Patterns pick(tb::Rng& r) {
    return {tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r), tb::Pattern::pick(r)};
  }
  std::string describe() const {
    return "cfg " + cfg.describe() + ", desc " + desc.describe() + ", words " + word.describe() +
           ", ready " + ready.describe();
  }
};

struct ChunkTiming {
  uint64_t accepted = 0, first_beat = 0, last_beat = 0, symbols = 0, beats = 0;
};

struct Stats {
  uint64_t cycles = 0;
  uint64_t symbols = 0;             // symbols compared with the functional model
  uint64_t transfers = 0;           // output transfers compared
  uint64_t lockstep_cycles = 0;     // cycles on which RTL and cycle model outputs were compared
  uint64_t mismatches = 0;          // any difference: RTL vs model, output vs expected, error cause
  uint64_t errors_injected = 0;     // checks that expected an error
  uint64_t errors_flagged = 0;      // ... and saw exactly that cause
  std::vector<ChunkTiming> timing;  // per chunk, in program order
  std::vector<std::string> notes;   // the first mismatches, for the failure message

  void add(const Stats& o) {
    cycles += o.cycles;
    symbols += o.symbols;
    transfers += o.transfers;
    lockstep_cycles += o.lockstep_cycles;
    mismatches += o.mismatches;
    errors_injected += o.errors_injected;
    errors_flagged += o.errors_flagged;
    for (const auto& n : o.notes)
      if (notes.size() < 20) notes.push_back(n);
  }
};

inline std::string beat_text(int count, bool last, const std::array<uint8_t, 8>& s) {
  std::ostringstream o;
  o << "{count " << count << (last ? ", last" : "") << ":";
  for (int j = 0; j < count; ++j) o << " " << int(s[size_t(j)]);
  o << "}";
  return o.str();
}

template <class Dut>
class Runner {
 public:
  Runner(const Program& prog, tb::Rng& rng, Patterns pat, const std::string& waves)
      : prog_(prog), rng_(rng), pat_(pat), dut_(waves), ref_(Dut::params()) {
    for (const auto& op : prog.ops)
      if (op.kind == Op::Run) {
        const Chunk& c = prog.chunks[size_t(op.index)];
        const std::vector<ws::StreamWord> w = ws::stream_words(c.stream.data(), c.stream.size());
        words_.insert(words_.end(), w.begin(), w.end());
      }
    stats_.timing.resize(prog.chunks.size());
  }

  Stats run(uint64_t max_cycles) {
    ws::TansDecoderInputs in;
    uint64_t idle = 0;
    size_t op = 0, write = 0, word = 0;
    bool cfg_on = false, desc_on = false, word_on = false;
    int check_wait = -1;  // cycles left before a Check samples
    bool clear_next = false;
    std::vector<Beat> expect;  // flat scoreboard of expected beats
    std::vector<int> expect_chunk;
    size_t expect_head = 0;

    for (uint64_t cyc = 0; cyc < max_cycles; ++cyc) {
      const bool reset = cyc < 3;
      in.rst_n = !reset;
      in.err_clear = clear_next;
      clear_next = false;
      // Control channel: table writes and descriptors, in program order.
      if (!reset && op < prog_.ops.size()) {
        const Op& o = prog_.ops[op];
        if (o.kind == Op::Load && !cfg_on) {
          const Table& t = prog_.tables[size_t(o.index)];
          const size_t n = t.writes.size() + o.extra.size();
          if (write < n && pat_.cfg.next(rng_)) {
            cfg_on = true;
            const ws::CfgWrite& w = write < t.writes.size() ? t.writes[write] : o.extra[write - t.writes.size()];
            in.cfg_addr = w.addr;
            in.cfg_data = w.data;
          }
        } else if (o.kind == Op::Run && !desc_on && pat_.desc.next(rng_)) {
          desc_on = true;
          in.desc = prog_.chunks[size_t(o.index)].desc;
        }
      }
      in.cfg_valid = cfg_on;
      in.desc_valid = desc_on;
      // Word channel: every chunk's words in order, independent of the control channel.
      if (!reset && !word_on && word < words_.size() && pat_.word.next(rng_)) {
        word_on = true;
        in.in_data = words_[word].data;
        in.in_last = words_[word].last;
      }
      in.in_valid = word_on;
      in.out_ready = !reset && pat_.ready.next(rng_);

      dut_.in = in;
      dut_.eval();
      const ws::TansDecoderOutputs out = dut_.out;
      if (Dut::kRtl) {
        ref_.in = in;
        ref_.eval();
        ++stats_.lockstep_cycles;
        std::string diff = compare(out, ref_.out);
        if (!diff.empty()) note(cyc, "RTL and cycle model differ: " + diff);
      }

      bool moved = false;
      if (in.cfg_valid && out.cfg_ready) {
        cfg_on = false;
        ++write;
        moved = true;
      }
      if (in.desc_valid && out.desc_ready) {
        desc_on = false;
        moved = true;
        const int ci = prog_.ops[op].index;
        if (std::getenv("TB_VERBOSE"))
          std::printf(
              "cycle %llu: chunk '%s' accepted: %u symbols, %zu words, %zu beats, error %d\n",
              (unsigned long long)cyc, prog_.chunks[size_t(ci)].name.c_str(),
              prog_.chunks[size_t(ci)].desc.count, prog_.chunks[size_t(ci)].word_count(),
              prog_.chunks[size_t(ci)].expect.size(), prog_.chunks[size_t(ci)].expect_err);
        for (const Beat& b : prog_.chunks[size_t(ci)].expect) {
          expect.push_back(b);
          expect_chunk.push_back(ci);
        }
        stats_.timing[size_t(ci)].accepted = cyc;
        ++op;
      }
      if (in.in_valid && out.in_ready) {
        word_on = false;
        ++word;
        moved = true;
      }
      if (out.out_valid && in.out_ready) {
        moved = true;
        ++stats_.transfers;
        if (expect_head >= expect.size()) {
          note(cyc,
               "unexpected output beat " + beat_text(out.out_count, out.out_last, out.out_data));
        } else {
          const Beat& e = expect[expect_head];
          const int ci = expect_chunk[expect_head];
          ++expect_head;
          bool same = e.count == out.out_count && e.last == out.out_last;
          for (int j = 0; same && j < e.count; ++j)
            same = e.sym[size_t(j)] == out.out_data[size_t(j)];
          stats_.symbols += uint64_t(e.count);
          if (!same)
            note(cyc, "chunk '" + prog_.chunks[size_t(ci)].name + "': expected " +
                          beat_text(e.count, e.last, e.sym) + ", got " +
                          beat_text(out.out_count, out.out_last, out.out_data));
          ChunkTiming& t = stats_.timing[size_t(ci)];
          if (t.beats++ == 0) t.first_beat = cyc;
          t.last_beat = cyc;
          t.symbols += uint64_t(out.out_count);
        }
      }
      // Error checks: once every earlier chunk is out, wait for the error to settle, then look.
      if (!reset && op < prog_.ops.size() && prog_.ops[op].kind == Op::Check &&
          expect_head == expect.size()) {
        if (check_wait < 0) check_wait = 3;
        if (check_wait-- == 0) {
          const uint8_t want = prog_.ops[op].expect;
          const int got = out.err ? int(out.err_cause) : 0;
          if (want != 0) ++stats_.errors_injected;
          if (want != 0 && got == want) ++stats_.errors_flagged;
          if (got != want)
            note(cyc, std::string("error check: expected '") + ws::error_text(ws::pkg::tans_err_e(want)) +
                          "', got '" + ws::error_text(ws::pkg::tans_err_e(got)) + "'");
          clear_next = true;
          check_wait = -1;
          ++op;
          moved = true;
        }
      }
      if (!reset && op < prog_.ops.size() && prog_.ops[op].kind == Op::Load && !cfg_on) {
        const Op& o = prog_.ops[op];
        if (write == prog_.tables[size_t(o.index)].writes.size() + o.extra.size()) {
          write = 0;
          ++op;
        }
      }

      dut_.tick();
      if (Dut::kRtl) ref_.tick();
      if (dut_.assertion_failed()) {
        note(cyc, "an RTL assertion failed (see the %Error line above)");
        break;
      }
      stats_.cycles = cyc + 1;
      const bool done = op == prog_.ops.size() && word == words_.size() &&
                        expect_head == expect.size() && !cfg_on && !desc_on && !word_on;
      if (done) {
        if (++drain_ > 8) break;  // let the last checks land
      }
      idle = moved ? 0 : idle + 1;
      if (idle > 20000) {
        note(cyc, "no transfer for 20000 cycles: the decoder hangs (op " + std::to_string(op) +
                      "/" + std::to_string(prog_.ops.size()) + ", word " + std::to_string(word) +
                      "/" + std::to_string(words_.size()) + ", beat " +
                      std::to_string(expect_head) + "/" + std::to_string(expect.size()) + ")");
        break;
      }
      if (cyc + 1 == max_cycles) note(cyc, "cycle limit reached");
    }
    dut_.eval();
    final_out_ = dut_.out;
    return stats_;
  }

  ws::TansDecoderOutputs final_out() const { return final_out_; }

 private:
  static std::string compare(const ws::TansDecoderOutputs& a, const ws::TansDecoderOutputs& b) {
    std::ostringstream o;
    if (a.cfg_ready != b.cfg_ready) o << " cfg_ready " << a.cfg_ready << "/" << b.cfg_ready;
    if (a.desc_ready != b.desc_ready) o << " desc_ready " << a.desc_ready << "/" << b.desc_ready;
    if (a.in_ready != b.in_ready) o << " in_ready " << a.in_ready << "/" << b.in_ready;
    if (a.out_valid != b.out_valid) o << " out_valid " << a.out_valid << "/" << b.out_valid;
    if (a.out_valid && b.out_valid) {
      bool same = a.out_count == b.out_count && a.out_last == b.out_last;
      for (int j = 0; same && j < a.out_count; ++j)
        same = a.out_data[size_t(j)] == b.out_data[size_t(j)];
      if (!same)
        o << " beat " << beat_text(a.out_count, a.out_last, a.out_data) << "/"
          << beat_text(b.out_count, b.out_last, b.out_data);
    }
    if (a.err != b.err || a.err_cause != b.err_cause)
      o << " err " << a.err << ":" << int(a.err_cause) << "/" << b.err << ":" << int(b.err_cause);
    return o.str().empty() ? "" : o.str() + " (RTL/model)";
  }

  void note(uint64_t cyc, const std::string& what) {
    ++stats_.mismatches;
    if (stats_.notes.size() < 20)
      stats_.notes.push_back("cycle " + std::to_string(cyc) + ": " + what);
  }

  const Program& prog_;
  tb::Rng& rng_;
  Patterns pat_;
  Dut dut_;
  ws::TansDecoderModel ref_;  // the cycle model in lock step with an RTL device
  std::vector<ws::StreamWord> words_;  // every chunk's words in program order
  Stats stats_;
  ws::TansDecoderOutputs final_out_;
  int drain_ = 0;
};

}  // namespace tbdec
