// The two implementations of the number unpacker behind its one pin structure, ws::NumUnpackerPins:
// the cycle model itself, and the Verilated RTL through its adapter. A bench written against the pins
// (set `in`, eval(), read `out`, tick()) runs on either; both start out of reset.
#pragma once

#include <cstdint>
#include <string>

#include "hw/bf16_unpacker_model.hpp"
#include "hw/num_unpacker_model.hpp"
#include "verilated_dut.hpp"

namespace tbnum {

// The Verilated RTL, V = Vnum_unpacker_L<K> (or Vbf16_unpacker_L<K>, the same ports): the pins to and
// from V's ports; M is the cycle model the runner checks it against.
template <class V, int K, class M = ws::NumUnpackerModel>
class Rtl : public tb::VerilatedPins<Rtl<V, K, M>, V, ws::NumUnpackerPins> {
 public:
  static constexpr int kLanes = K;
  using Model = M;
  explicit Rtl(const std::string& waves = "") : Rtl::VerilatedPins(waves) {
    this->in.rst_n = false;
    this->tick();
    this->in.rst_n = true;
    this->eval();
  }

  void drive(V& t) const {
    const ws::NumUnpackerInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.sym_valid_i = in.sym_valid;
    uint64_t sym = 0;  // lane 0 in the low byte
    for (int j = 0; j < K; ++j) sym |= uint64_t(in.sym[size_t(j)]) << (8 * j);
    t.sym_data_i = decltype(t.sym_data_i)(sym);
    t.sym_count_i = in.sym_count;
    t.sym_last_i = in.sym_last;
    t.raw_valid_i = in.raw_valid;
    t.raw_data_i = decltype(t.raw_data_i)(in.raw_data);  // ws::pkg::raw_word_bits(K) bits
    t.raw_last_i = in.raw_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::NumUnpackerOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.sym_ready = t.sym_ready_o;
    out.raw_ready = t.raw_ready_o;
    out.out_valid = t.out_valid_o;
    for (int j = 0; j < K; ++j) out.out_data[size_t(j)] = tb::word_of(t.out_data_o, j);
    out.out_count = t.out_count_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::unp_err_e(t.err_cause_o);
  }
};

// The cycle model as the device: the same bodies then check it against the functional model alone.
template <int K, class M = ws::NumUnpackerModel>
class ModelDut : public M {
 public:
  static constexpr int kLanes = K;
  using Model = M;
  explicit ModelDut(const std::string& /*waves*/ = "") : M(K) {}
  uint64_t assertion_errors() const { return 0; }
};

}  // namespace tbnum
