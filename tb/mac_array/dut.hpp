// The two implementations of a MAC array behind its one pin structure, ws::MacArrayPins: the cycle
// model itself, and the Verilated RTL through its adapter (tb/common/verilated_dut.hpp). A bench
// written against the pins (set `in`, eval(), read `out`, tick()) runs on either; both start out of
// reset.
#pragma once

#include <cstdint>
#include <string>

#include "hw/mac_array_model.hpp"
#include "verilated_dut.hpp"

namespace tbmac {

// One array configuration: the parameters a Verilated model was built with (tb/mac_array/CMakeLists.txt).
template <ws::MacArrayKind Kind, int Rows, int Groups, int MaxK>
struct Config {
  static ws::MacArrayParams params() { return {Kind, Rows, Groups, MaxK}; }
  static std::string name() {
    return std::string(Kind == ws::MacArrayKind::Sparse ? "sparse" : "dense") + "_R" + std::to_string(Rows) +
           "G" + std::to_string(Groups) + "K" + std::to_string(MaxK);
  }
};

// The cycle model as the device: the same bodies then check it against the functional model alone.
template <class Cfg>
class ModelDut : public ws::MacArrayModel {
 public:
  static constexpr bool kRtl = false;
  static ws::MacArrayParams params() { return Cfg::params(); }
  static std::string name() { return "model_" + Cfg::name(); }
  explicit ModelDut(const std::string& /*waves*/ = "") : ws::MacArrayModel(params()) {}
  bool assertion_failed() const { return false; }
};

// The Verilated RTL, V = V<kind>_<config>: the pins to and from V's ports; reset during construction.
template <class V, class Cfg>
class RtlDut : public tb::VerilatedPins<RtlDut<V, Cfg>, V, ws::MacArrayPins> {
 public:
  static constexpr bool kRtl = true;
  static ws::MacArrayParams params() { return Cfg::params(); }
  static std::string name() { return "rtl_" + Cfg::name(); }
  explicit RtlDut(const std::string& waves = "") : RtlDut::VerilatedPins(waves) {
    this->in.rst_n = false;
    this->tick();
    this->in.rst_n = true;
    this->eval();
  }

  void drive(V& t) const {
    const ws::MacArrayInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.act_valid_i = in.act_valid;
    t.act_data_i = in.act_data;
    t.act_last_i = in.act_last;
    t.w_valid_i = in.w_valid;
    tb::set_words(t.w_data_i, in.w_data);
    t.w_last_i = in.w_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::MacArrayOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.act_ready = t.act_ready_o;
    out.w_ready = t.w_ready_o;
    out.out_valid = t.out_valid_o;
    out.out_data.resize(size_t(params().rows));
    for (int r = 0; r < params().rows; ++r) out.out_data[size_t(r)] = tb::word_of(t.out_data_o, r);
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = t.err_cause_o;
  }
};

}  // namespace tbmac
