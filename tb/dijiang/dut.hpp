// ws_dijiang_feature_map and ws_dijiang_state behind their pin structures (ws::DiJiangFeatureMapPins,
// ws::DiJiangStatePins): the Verilated RTL through its adapter (the cycle models are the other
// implementation). Both start out of reset. The handshake pins (ws_dijiang_frame's) are driven and
// sampled in one place; each unit adds its payload.
#pragma once

#include <string>

#include "hw/dijiang_feature_map_model.hpp"
#include "hw/dijiang_state_model.hpp"
#include "verilated_dut.hpp"

namespace tbdij {

template <class Derived, class V, class Pins>
class DiJiangRtl : public tb::VerilatedPins<Derived, V, Pins> {
 public:
  explicit DiJiangRtl(const std::string& waves) : DiJiangRtl::VerilatedPins(waves) {
    this->in.rst_n = false;
    this->tick();
    this->in.rst_n = true;
    this->eval();
  }
  void drive(V& t) const {
    const auto& in = this->in;
    t.rst_ni = in.rst_n;
    t.cfg_valid_i = in.cfg_valid;
    t.cfg_addr_i = in.cfg_addr;
    t.cfg_data_i = in.cfg_data;
    t.in_valid_i = in.in_valid;
    t.in_last_i = in.in_last;
    t.out_ready_i = in.out_ready;
    t.err_clear_i = in.err_clear;
    static_cast<const Derived&>(*this).drive_payload(t);
  }
  void sample(const V& t) {
    auto& out = this->out;
    out.cfg_ready = t.cfg_ready_o;
    out.in_ready = t.in_ready_o;
    out.out_valid = t.out_valid_o;
    out.out_data = t.out_data_o;
    out.out_last = t.out_last_o;
    out.err = t.err_o;
    out.err_cause = ws::pkg::dij_err_e(t.err_cause_o);
  }
};

// V = Vdijiang_fm_D<d>_L<lanes>.
template <class V, int D, int L>
class FeatureMapRtl : public DiJiangRtl<FeatureMapRtl<V, D, L>, V, ws::DiJiangFeatureMapPins> {
 public:
  static constexpr int kHeadSize = D;
  static constexpr int kLanes = L;
  explicit FeatureMapRtl(const std::string& waves = "") : FeatureMapRtl::DiJiangRtl(waves) {}
  void drive_payload(V& t) const { t.in_data_i = this->in.in_data; }
};

// V = Vdijiang_state_D<d>_H<heads>.
template <class V, int D, int H>
class StateRtl : public DiJiangRtl<StateRtl<V, D, H>, V, ws::DiJiangStatePins> {
 public:
  static constexpr int kHeadSize = D;
  static constexpr int kHeads = H;
  explicit StateRtl(const std::string& waves = "") : StateRtl::DiJiangRtl(waves) {}
  void drive_payload(V& t) const {
    const ws::DiJiangStateInputs& in = this->in;
    t.in_phi_k_i = in.in_phi_k;
    t.in_phi_q_i = in.in_phi_q;
    t.in_v_i = in.in_v;
    t.in_head_i = in.in_head & 63u;
    t.in_clear_i = in.in_clear;
  }
};

}  // namespace tbdij
