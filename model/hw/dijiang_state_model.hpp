// DiJiang's state update and read-out in the hardware's wide fixed point (rtl/ws_dijiang_state.sv,
// docs/dijiang_hw.md section 6): the functional model (the bits) and the cycle model (the same pins,
// cycle for cycle). Per token and head, column j outer, row i inner:
//   S_ij <- S_ij - floor(S_ij delta / 2^22) + phi(k)_i v_j     (S: signed 44 bits, 24 fraction bits;
//           phi 16 fraction bits, v from bf16 with 8 (ws::dijiang_x_fixed): the product adds exactly)
//   o_j   = (sum_i phi(q)_i S_ij + 2^23) >> 24                  (exact sum; o 44 bits, 16 fraction bits)
// with delta = round((1 - gamma) 2^22), gamma S = S - S (1 - gamma).
#pragma once

#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"
#include "hw/dijiang_frame_model.hpp"

namespace ws {

// gamma to the unit's delta: round((1 - gamma) 2^22) in double. Throws FormatError outside
// pkg::DIJ_DELTA_MIN .. MAX (gamma from 1 - 2^-9 to 1 - 2^-5, DiJiang's decays).
uint32_t dijiang_delta_fixed(float gamma);

// One token of one head: updates s ([d][d] row-major: s[i d + j], signed 44-bit values; treated as 0
// when clear) and returns o (d signed 44-bit values). phi_k, phi_q: 17-bit values; v: bf16.
std::vector<int64_t> dijiang_state_step(std::vector<int64_t>& s, uint32_t delta, bool clear,
                                        const std::vector<uint32_t>& phi_k, const std::vector<uint32_t>& phi_q,
                                        const std::vector<uint16_t>& v, int d);

struct DiJiangStateInputs {
  bool rst_n = true;
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // head h's delta at h
  uint32_t cfg_data = 0;
  bool in_valid = false;
  uint32_t in_phi_k = 0, in_phi_q = 0;  // 17 bits
  uint16_t in_v = 0;                    // bf16
  uint32_t in_head = 0;                 // 6 bits, read with the first element
  bool in_clear = false;                // read with the first element
  bool in_last = false;
  bool out_ready = false;
  bool err_clear = false;
};

struct DiJiangStateOutputs {
  bool cfg_ready = false, in_ready = false;
  bool out_valid = false;
  uint64_t out_data = 0;  // o, the 44-bit two's complement pattern
  bool out_last = false;
  bool err = false;
  pkg::dij_err_e err_cause = pkg::DIJ_ERR_NONE;
};

struct DiJiangStatePins {
  DiJiangStateInputs in;
  DiJiangStateOutputs out;
};

// Cycle model: LOAD (d elements), busy_cycles() (the RUN phase), OUT (d transfers).
class DiJiangStateModel : public DiJiangStatePins {
 public:
  DiJiangStateModel(int head_size, int heads);
  void reset();
  void eval();
  void tick();
  static int run_cycles(int head_size) { return head_size * head_size + 7; }  // RUN: d^2 + 7
  int busy_cycles() const { return run_cycles(d_); }
  int head_size() const { return d_; }

 private:
  int d_, heads_;
  DiJiangFrame frame_;
  uint32_t head_ = 0;
  bool clear_ = false;
  std::vector<uint32_t> delta_;
  std::vector<bool> loaded_;
  std::vector<std::vector<int64_t>> s_;  // [head][d d]
  std::vector<uint32_t> phi_k_, phi_q_;
  std::vector<uint16_t> v_;
  std::vector<int64_t> o_;
};

}  // namespace ws
