// One Verilated top under test, the same way in every bench and in the pipeline driver: a context of
// its own in which registers and memories without a reset start at 0 (as in the cycle models) and a
// failed assertion is counted instead of ending the process, the clock, reset, and an FST waveform.
//
//   tb::VerilatedDut<Vtop> dut(wsenv::waves_path("Suite.Test"));  // "" (TRACE unset): no waveform
//   dut.reset();                      // rst_ni low over one rising edge (tops with rst_ni only)
//   dut.top().x_i = ...; dut.eval();  // inputs, then the outputs they give
//   dut.tick();                       // one clock: rising edge, then falling edge
//
// A block's adapter is a VerilatedPins: its pin structure on the top, with drive() and sample().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "verilated.h"
#include "verilated_fst_c.h"

namespace tb {

template <class V>
class VerilatedDut {
 public:
  explicit VerilatedDut(const std::string& fst_path = "") : ctx_(new VerilatedContext) {
    ctx_->fatalOnError(false);  // a failed assertion is counted (assertion_errors()) and fails the test
    ctx_->errorLimit(1 << 30);
    ctx_->randReset(0);  // set before the model is built: it initialises the registers
    if (!fst_path.empty()) ctx_->traceEverOn(true);
    top_.reset(new V{ctx_.get()});
    if (!fst_path.empty()) {
      fst_.reset(new VerilatedFstC);
      top_->trace(fst_.get(), 99);
      fst_->open(fst_path.c_str());
    }
    top_->clk_i = 0;
    top_->eval();
  }
  ~VerilatedDut() {
    if (fst_) fst_->close();
    top_->final();
  }
  VerilatedDut(const VerilatedDut&) = delete;
  VerilatedDut& operator=(const VerilatedDut&) = delete;

  V& top() { return *top_; }
  const V& top() const { return *top_; }

  void eval() { top_->eval(); }

  // One clock cycle with the inputs as they are: the rising edge, then the falling edge.
  void tick() {
    top_->clk_i = 1;
    top_->eval();
    if (fst_) fst_->dump(cycles_ * 10 + 5);
    top_->clk_i = 0;
    top_->eval();
    ++cycles_;
    if (fst_) fst_->dump(cycles_ * 10);
  }

  // rst_ni low over `cycles` rising edges, then high again.
  void reset(int cycles = 1) {
    top_->rst_ni = 0;
    top_->eval();
    for (int i = 0; i < cycles; ++i) tick();
    top_->rst_ni = 1;
    top_->eval();
  }

  uint64_t cycles() const { return cycles_; }
  // Failed assertions ($error under --assert) since construction.
  uint64_t assertion_errors() const { return uint64_t(ctx_->errorCount()); }
  bool assertion_failed() const { return ctx_->errorCount() > 0 || ctx_->gotError(); }

 private:
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> fst_;
  uint64_t cycles_ = 0;
};

// The adapter of one block: the block's pin structure (Pins: `in`, `out`, as its cycle model has them)
// on a Verilated top V, with the cycle model's use: set `in`; eval(); read `out`; tick(). Derived
// supplies drive(V&) (in -> the top's ports) and sample(const V&) (the top's ports -> out).
template <class Derived, class V, class Pins>
class VerilatedPins : public Pins {
 public:
  explicit VerilatedPins(const std::string& fst_path) : dut_(fst_path) {}
  void eval() {
    self().drive(dut_.top());
    dut_.eval();
    self().sample(dut_.top());
  }
  void tick() {
    self().drive(dut_.top());
    dut_.tick();
    self().sample(dut_.top());
  }
  bool assertion_failed() const { return dut_.assertion_failed(); }
  uint64_t assertion_errors() const { return dut_.assertion_errors(); }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  VerilatedDut<V> dut_;
};

// Verilator stores a port in the smallest of these that holds it: vectors of 32-bit words (bit i in
// bit i % 32 of word i / 32) in and out of any of them.
inline void set_words(CData& s, const std::vector<uint32_t>& w) { s = CData(w.empty() ? 0 : w[0]); }
inline void set_words(SData& s, const std::vector<uint32_t>& w) { s = SData(w.empty() ? 0 : w[0]); }
inline void set_words(IData& s, const std::vector<uint32_t>& w) { s = w.empty() ? 0 : w[0]; }
inline void set_words(QData& s, const std::vector<uint32_t>& w) {
  s = QData(w.empty() ? 0 : w[0]) | (w.size() > 1 ? QData(w[1]) << 32 : 0);
}
template <std::size_t N>
void set_words(VlWide<N>& s, const std::vector<uint32_t>& w) {
  for (std::size_t i = 0; i < N; ++i) s[i] = i < w.size() ? w[i] : 0;
}
// Word i of a port (0 beyond its width).
inline uint32_t word_of(uint64_t port, int i) { return i < 2 ? uint32_t(port >> (32 * i)) : 0; }
template <std::size_t N>
uint32_t word_of(const VlWide<N>& port, int i) {
  return size_t(i) < N ? port[size_t(i)] : 0;
}

}  // namespace tb
