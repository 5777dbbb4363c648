// The two implementations of the tANS decoder behind one interface: the Verilated RTL and the cycle
// model. Both take the same DecIn each cycle and give the same DecOut, or the bench says where not.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "verilated.h"
#include "verilated_fst_c.h"
#include "hw/tans_decoder_model.hpp"

namespace tbdec {

struct DecIn {
  bool rst_n = true;
  bool cfg_valid = false;
  uint32_t cfg_addr = 0, cfg_data = 0;
  bool desc_valid = false;
  ws::TansDescriptor desc;
  bool in_valid = false;
  uint32_t in_data = 0;
  bool in_last = false;
  bool out_ready = false;
  bool err_clear = false;
};

struct DecOut {
  bool cfg_ready = false, desc_ready = false, in_ready = false, out_valid = false;
  std::array<uint8_t, 8> out_data{};
  int out_count = 0;
  bool out_last = false;
  bool err = false;
  int err_cause = 0;
};

// Verilator stores a port in the smallest of these that holds it.
inline void set_bits(CData& s, const std::vector<uint32_t>& w) { s = CData(w[0]); }
inline void set_bits(SData& s, const std::vector<uint32_t>& w) { s = SData(w[0]); }
inline void set_bits(IData& s, const std::vector<uint32_t>& w) { s = w[0]; }
inline void set_bits(QData& s, const std::vector<uint32_t>& w) {
  s = QData(w[0]) | (w.size() > 1 ? QData(w[1]) << 32 : 0);
}
template <std::size_t N>
void set_bits(VlWide<N>& s, const std::vector<uint32_t>& w) {
  for (std::size_t i = 0; i < N; ++i) s[i] = i < w.size() ? w[i] : 0;
}
inline uint64_t get_bits(uint64_t v) { return v; }

// The cycle model.
template <int Lanes, int MaxTableLog = 12>
class ModelDut {
 public:
  static constexpr bool kRtl = false;
  static ws::TansDecoderParams params() {
    ws::TansDecoderParams p;
    p.lanes = Lanes;
    p.max_table_log = MaxTableLog;
    return p;
  }
  static std::string name() {
    return "model_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog);
  }

  explicit ModelDut(const std::string& /*waves*/) : m_(params()) {}
  void set(const DecIn& in) {
    m_.rst_n = in.rst_n;
    m_.cfg_valid = in.cfg_valid;
    m_.cfg_addr = in.cfg_addr;
    m_.cfg_data = in.cfg_data;
    m_.desc_valid = in.desc_valid;
    m_.desc = in.desc;
    m_.in_valid = in.in_valid;
    m_.in_data = in.in_data;
    m_.in_last = in.in_last;
    m_.out_ready = in.out_ready;
    m_.err_clear = in.err_clear;
  }
  DecOut eval() {
    m_.eval();
    DecOut o;
    o.cfg_ready = m_.cfg_ready;
    o.desc_ready = m_.desc_ready;
    o.in_ready = m_.in_ready;
    o.out_valid = m_.out_valid;
    o.out_data = m_.out_data;
    o.out_count = m_.out_count;
    o.out_last = m_.out_last;
    o.err = m_.err;
    o.err_cause = int(m_.err_cause);
    return o;
  }
  void tick() { m_.tick(); }
  bool assertion_failed() const { return false; }

 private:
  ws::TansDecoderModel m_;
};

// The Verilated RTL, V = Vws_tans_decoder_<config>.
template <class V, int Lanes, int MaxTableLog = 12>
class RtlDut {
 public:
  static constexpr bool kRtl = true;
  static ws::TansDecoderParams params() { return ModelDut<Lanes, MaxTableLog>::params(); }
  static std::string name() {
    return "rtl_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog);
  }

  explicit RtlDut(const std::string& waves) : ctx_(new VerilatedContext) {
    ctx_->fatalOnError(false);  // a failed assertion is counted and fails the test, with context
    ctx_->errorLimit(1 << 30);
    ctx_->randReset(0);  // memories and registers without reset start at 0, as in the model
    if (!waves.empty()) ctx_->traceEverOn(true);
    top_.reset(new V{ctx_.get()});
    if (!waves.empty()) {
      fst_.reset(new VerilatedFstC);
      top_->trace(fst_.get(), 99);
      fst_->open(waves.c_str());
    }
    top_->clk_i = 0;
    top_->eval();
  }
  ~RtlDut() {
    if (fst_) fst_->close();
    top_->final();
  }
  void set(const DecIn& in) {
    top_->rst_ni = in.rst_n;
    top_->cfg_valid_i = in.cfg_valid;
    top_->cfg_addr_i = in.cfg_addr;
    top_->cfg_data_i = in.cfg_data;
    top_->desc_valid_i = in.desc_valid;
    set_bits(top_->desc_data_i, in.desc.pack(params()));
    top_->in_valid_i = in.in_valid;
    top_->in_data_i = in.in_data;
    top_->in_last_i = in.in_last;
    top_->out_ready_i = in.out_ready;
    top_->err_clear_i = in.err_clear;
  }
  DecOut eval() {
    top_->eval();
    DecOut o;
    o.cfg_ready = top_->cfg_ready_o;
    o.desc_ready = top_->desc_ready_o;
    o.in_ready = top_->in_ready_o;
    o.out_valid = top_->out_valid_o;
    const uint64_t d = get_bits(top_->out_data_o);
    for (int j = 0; j < Lanes; ++j) o.out_data[size_t(j)] = uint8_t(d >> (8 * j));
    o.out_count = top_->out_count_o;
    o.out_last = top_->out_last_o;
    o.err = top_->err_o;
    o.err_cause = top_->err_cause_o;
    return o;
  }
  void tick() {
    top_->clk_i = 1;
    top_->eval();
    if (fst_) fst_->dump(time_ * 10 + 5);
    top_->clk_i = 0;
    top_->eval();
    ++time_;
    if (fst_) fst_->dump(time_ * 10);
  }
  bool assertion_failed() const { return ctx_->errorCount() > 0 || ctx_->gotError(); }

 private:
  std::unique_ptr<VerilatedContext> ctx_;
  std::unique_ptr<V> top_;
  std::unique_ptr<VerilatedFstC> fst_;
  uint64_t time_ = 0;
};

}  // namespace tbdec
