// DiJiang's feature map in the hardware's fixed-point arithmetic (rtl/ws_dijiang_feature_map.sv,
// docs/dijiang_hw.md): the functional model (the bits) and the cycle model (the same pins, cycle for
// cycle). phi(x) = softmax(x P) is computed as 2^(f_j - max f) / sum 2^(f_k - max f) with f = x P' and
// P' = P log2(e), so the exponential is a shift and a 256-entry table of 2^-r/256:
//   x_i   = bf16 to signed fixed point, 8 fraction bits, round to nearest even (|x| < 512)
//   f_j   = round half up of (sum_i x_i P'_ij) to 8 fraction bits (the sum exact; P' 12 fraction bits)
//   t_j   = max f - f_j;  e_j = T[t_j mod 256] >> (t_j / 256), 0 from t_j / 256 > 16 on
//           (T[r] = round(2^(16 - r / 256)): e has 16 fraction bits, at most 1.0)
//   R     = min(floor(2^33 / sum e), 2^17 - 1) by restoring division
//   phi_j = (e_j R + 2^16) >> 17, unsigned with 16 fraction bits (1.0 = 65536)
#pragma once

#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"
#include "hw/dijiang_frame_model.hpp"

namespace ws {

// bf16 bits to the feature map's x: signed, pkg::DIJ_X_FRAC fraction bits, round to nearest even. A
// value not finite or of magnitude 512 or more saturates to +-(2^17 - 1) and sets *range_error.
int32_t dijiang_x_fixed(uint16_t bf16, bool* range_error);

// The table of 2^-r/256, r = 0 .. 255, as loaded: round(2^(16 - r / 256)) (T[0] = 65536).
std::vector<uint32_t> dijiang_exp_table();

// P (float, [d][d] row-major, as DiJiangSide::layer_projection gives it) to the loaded P':
// round-to-nearest-even of P log2(e) 2^12 (computed in double). Throws FormatError when an entry
// does not fit 18 signed bits (|P| of 22 or more).
std::vector<int32_t> dijiang_projection_fixed(const std::vector<float>& p, int d);

// The feature map of one head vector (d bf16 values) with P' ([d][d], signed 18-bit values) and the
// table (256 entries of at most 2^16): d values of phi, 16 fraction bits. Arbitrary P' and table
// entries give what the RTL gives (restoring division included), so random configurations compare.
std::vector<uint32_t> dijiang_features(const std::vector<int32_t>& p, const std::vector<uint32_t>& table,
                                       int d, const std::vector<uint16_t>& x);

// The pins of ws_dijiang_feature_map, without the clock.
struct DiJiangFeatureMapInputs {
  bool rst_n = true;
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // P'[i][j] at i d + j; table entry r at pkg::DIJ_CFG_EXP_BASE + r
  uint32_t cfg_data = 0;  // 18 bits: P' two's complement, or the table entry
  bool in_valid = false;
  uint16_t in_data = 0;   // bf16
  bool in_last = false;
  bool out_ready = false;
  bool err_clear = false;
};

struct DiJiangFeatureMapOutputs {
  bool cfg_ready = false, in_ready = false;
  bool out_valid = false;
  uint32_t out_data = 0;  // phi, 17 bits
  bool out_last = false;
  bool err = false;
  pkg::dij_err_e err_cause = pkg::DIJ_ERR_NONE;
};

struct DiJiangFeatureMapPins {
  DiJiangFeatureMapInputs in;
  DiJiangFeatureMapOutputs out;
};

// Cycle model: LOAD (d elements), then a fixed busy time of busy_cycles(), then OUT (d transfers).
// Per clock cycle: set `in`; eval(); read `out`; tick() (the rising edge with `in`, then eval()).
class DiJiangFeatureMapModel : public DiJiangFeatureMapPins {
 public:
  DiJiangFeatureMapModel(int head_size, int lanes);
  void reset();
  void eval();
  void tick();
  // Cycles from the one after the last element's transfer to the first output cycle: the phases
  // PROD (d^2 / lanes + 5), MAX (d + 1), EXP (d + 3), DIV (18), NORM (d + 3).
  int busy_cycles() const;
  int head_size() const { return d_; }

 private:
  bool loaded() const;

  int d_, lanes_;
  DiJiangFrame frame_;
  int p_next_ = 0, t_next_ = 0;
  std::vector<int32_t> p_;
  std::vector<uint32_t> table_;
  std::vector<uint16_t> x_;
  std::vector<uint32_t> phi_;
};

}  // namespace ws
