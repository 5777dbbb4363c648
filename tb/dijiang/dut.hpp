// ws_dijiang_feature_map and ws_dijiang_state behind their pin structures (ws::DiJiangFeatureMapPins,
// ws::DiJiangStatePins): the Verilated RTL through its adapter (the cycle models are the other
// implementation). Both start out of reset.
#pragma once

#include <string>

#include "hw/dijiang_feature_map_model.hpp"
#include "hw/dijiang_state_model.hpp"
#include "verilated_dut.hpp"

namespace tbdij {

// V = Vdijiang_fm_D<d>_L<lanes>.
template <class V, int D, int L>
class FeatureMapRtl : public tb::VerilatedPins<FeatureMapRtl<V, D, L>, V, ws::DiJiangFeatureMapPins> {
 public:
  static constexpr int kHeadSize = D;
  static constexpr int kLanes = L;
  explicit FeatureMapRtl(const std::string& waves = "") : FeatureMapRtl::VerilatedPins(waves) {
    this->in.rst_n = false;
    this->tick();
    this->in.rst_n = true;
    this->eval();
  }

  void drive(V& t) const {
    const ws::DiJiangFeatureMapInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.in_valid_i = in.in_valid;
    t.in_data_i = in.in_data;
    t.in_last_i = in.in_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::DiJiangFeatureMapOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.in_ready = t.in_ready_o;
    out.out_valid = t.out_valid_o;
    out.out_data = t.out_data_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::dij_err_e(t.err_cause_o);
  }
};

// V = Vdijiang_state_D<d>_H<heads>.
template <class V, int D, int H>
class StateRtl : public tb::VerilatedPins<StateRtl<V, D, H>, V, ws::DiJiangStatePins> {
 public:
  static constexpr int kHeadSize = D;
  static constexpr int kHeads = H;
  explicit StateRtl(const std::string& waves = "") : StateRtl::VerilatedPins(waves) {
    this->in.rst_n = false;
    this->tick();
    this->in.rst_n = true;
    this->eval();
  }

  void drive(V& t) const {
    const ws::DiJiangStateInputs& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.in_valid_i = in.in_valid;
    t.in_phi_k_i = in.in_phi_k;
    t.in_phi_q_i = in.in_phi_q;
    t.in_v_i = in.in_v;
    t.in_head_i = in.in_head & ((1u << kHeadBits) - 1);
    t.in_clear_i = in.in_clear;
    t.in_last_i = in.in_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
  }
  void sample(const V& t) {
    ws::DiJiangStateOutputs& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.in_ready = t.in_ready_o;
    out.out_valid = t.out_valid_o;
    out.out_data = t.out_data_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::dij_err_e(t.err_cause_o);
  }

 private:
  static constexpr int kHeadBits = H > 2 ? (H > 4 ? (H > 8 ? (H > 16 ? (H > 32 ? 6 : 5) : 4) : 3) : 2) : 1;
};

}  // namespace tbdij
