// The two implementations of the tANS decoder behind its one pin structure, ws::TansDecoderPins: the
// cycle model itself, and the Verilated RTL through its adapter with the cycle model in lock step
// (the same inputs every cycle, every output compared after every eval). A test body written against
// the pins (set `in`, eval(), read `out`, tick()) runs on either.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "hw/tans_decoder_model.hpp"
#include "verilated_dut.hpp"

namespace tbdec {

template <int Lanes, int MaxTableLog>
ws::TansDecoderParams params_of() {
  ws::TansDecoderParams p;
  p.lanes = Lanes;
  p.max_table_log = MaxTableLog;
  return p;
}

// The cycle model.
template <int Lanes, int MaxTableLog>
class ModelDut : public ws::TansDecoderModel {
 public:
  static constexpr bool kRtl = false;
  static ws::TansDecoderParams params() { return params_of<Lanes, MaxTableLog>(); }
  static std::string name() { return "model_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog); }

  explicit ModelDut(const std::string& /*waves*/) : ws::TansDecoderModel(params()) {}
  bool assertion_failed() const { return false; }
  uint64_t lockstep_cycles() const { return 0; }
  uint64_t lockstep_mismatches() const { return 0; }
};

// The Verilated RTL, V = Vws_tans_decoder_<config>: the pins to and from V's ports.
template <class V, int Lanes, int MaxTableLog>
class Adapter : public tb::VerilatedPins<Adapter<V, Lanes, MaxTableLog>, V, ws::TansDecoderPins> {
 public:
  explicit Adapter(const std::string& waves) : Adapter::VerilatedPins(waves) {}

  void drive(V& t) const {
    const ws::TansDecoderInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_bank_i = in.cfg_bank;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.desc_valid_i = in.desc_valid;
    tb::set_words(t.desc_data_i, in.desc.pack(params_of<Lanes, MaxTableLog>()));
    uint32_t valid = 0, last = 0;
    std::vector<uint32_t> data(size_t((32 * Lanes + 31) / 32), 0);
    for (int s = 0; s < 2 * Lanes; ++s) {
      valid |= uint32_t(in.in_valid[size_t(s)]) << s;
      last |= uint32_t(in.in_last[size_t(s)]) << s;
      data[size_t(s / 2)] |= uint32_t(in.in_data[size_t(s)]) << (16 * (s % 2));
    }
    t.in_valid_i = valid;
    t.in_last_i = last;
    tb::set_words(t.in_data_i, data);
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::TansDecoderOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.desc_ready = t.desc_ready_o;
    out.in_ready.fill(false);
    for (int s = 0; s < 2 * Lanes; ++s) out.in_ready[size_t(s)] = (uint32_t(t.in_ready_o) >> s) & 1;
    out.out_valid = t.out_valid_o;
    const uint64_t d = t.out_data_o;  // 8 * Lanes bits
    out.out_data.fill(0);
    for (int j = 0; j < Lanes; ++j) out.out_data[size_t(j)] = uint8_t(d >> (8 * j));
    out.out_count = t.out_count_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::tans_err_e(t.err_cause_o);
  }
};

// The RTL with the cycle model beside it: `out` is the RTL's; every eval() compares the two.
template <class V, int Lanes, int MaxTableLog>
class RtlDut : public ws::TansDecoderPins {
 public:
  static constexpr bool kRtl = true;
  static ws::TansDecoderParams params() { return params_of<Lanes, MaxTableLog>(); }
  static std::string name() { return "rtl_L" + std::to_string(Lanes) + "_ML" + std::to_string(MaxTableLog); }

  explicit RtlDut(const std::string& waves) : rtl_(waves), model_(params()) { eval(); }

  void eval() {
    rtl_.in = in;
    model_.in = in;
    rtl_.eval();
    model_.eval();
    compare();
  }
  void tick() {
    rtl_.in = in;
    model_.in = in;
    rtl_.tick();
    model_.tick();
    ++cycle_;
    compare();
  }
  bool assertion_failed() const { return rtl_.assertion_failed(); }
  uint64_t lockstep_cycles() const { return cycle_; }
  uint64_t lockstep_mismatches() const { return mismatches_; }

 private:
  void compare() {
    out = rtl_.out;
    if (rtl_.out == model_.out) return;
    if (++mismatches_ <= 5) {
      const ws::TansDecoderOutputs &r = rtl_.out, &m = model_.out;
      std::string ready_r, ready_m;
      for (int s = 0; s < 2 * Lanes; ++s) ready_r += char('0' + r.in_ready[size_t(s)]), ready_m += char('0' + m.in_ready[size_t(s)]);
      std::printf("lockstep: cycle %llu: rtl cfg_ready %d desc_ready %d in_ready %s out %d/%d/%d data0 %d err %d/%d; "
                  "model %d %d %s out %d/%d/%d data0 %d err %d/%d\n",
                  (unsigned long long)cycle_, r.cfg_ready, r.desc_ready, ready_r.c_str(), r.out_valid, r.out_count,
                  r.out_last, r.out_data[0], r.err, int(r.err_cause), m.cfg_ready, m.desc_ready, ready_m.c_str(),
                  m.out_valid, m.out_count, m.out_last, m.out_data[0], m.err, int(m.err_cause));
    }
  }

  Adapter<V, Lanes, MaxTableLog> rtl_;
  ws::TansDecoderModel model_;
  uint64_t cycle_ = 0, mismatches_ = 0;
};

}  // namespace tbdec
