// Functional and cycle-accurate models of ws_sparse_mac_array and ws_dense_mac_array
// (docs/mac_array.md sections 3-4).
#pragma once

#include <cstdint>
#include <vector>

#include "codec/sparse24.hpp"
#include "hw/mac_arith.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

enum class MacArrayKind { Sparse, Dense };

// Sticky error causes (err_cause_o): the first cause since reset or the last err_clear pulse; when
// several arise in one cycle the lowest code is kept.
enum MacArrayError : uint8_t {
  kMacErrNone = 0,
  kMacErrMeta = 1,    // a weight beat carries metadata with idx0 >= idx1 (sparse only)
  kMacErrFrame = 2,   // w_last on a beat that does not end a row
  kMacErrConfig = 3,  // bad config write: unknown address, row_beats 0 or too large, perm value >= MaxK
  kMacErrAct = 4,     // more than MaxK activations without act_last
};

// Parameters of one array instance (the RTL parameters Rows, GroupsPerCycle, MaxK).
struct MacArrayParams {
  MacArrayKind kind = MacArrayKind::Sparse;
  int rows = 4;
  int groups_per_cycle = 2;  // a power of two
  int max_k = 256;           // a power of two, a multiple of cols_per_beat()

  int lanes() const { return 2 * groups_per_cycle; }  // multipliers per row, both arrays
  int cols_per_beat() const { return kind == MacArrayKind::Sparse ? 4 * groups_per_cycle : lanes(); }
  int weight_bits() const { return kind == MacArrayKind::Sparse ? rows * groups_per_cycle * 36 : rows * lanes() * 16; }
  int out_bits() const { return rows * 32; }
  int k_bits() const;                                 // $clog2(MaxK); cfg_addr_i has k_bits() + 1 bits
  int latency() const;                                // cycles from a weight transfer to its row result
  void check() const;                                 // throws std::invalid_argument when unusable
};

// CTRL register (cfg_addr 0): bit 0 mode, bits 31:16 weight beats per row. Perm entry j is written at
// cfg_addr (1 << k_bits()) | j (sparse array only).
inline uint32_t mac_ctrl_word(MacMode mode, int row_beats) { return uint32_t(row_beats) << 16 | uint32_t(mode); }

// LSB-first bit vector in 32-bit words (the layout of a Verilator wide port).
using Bits = std::vector<uint32_t>;
void bits_put(Bits& v, int lsb, int width, uint32_t value);  // width <= 32
uint32_t bits_get(const Bits& v, int lsb, int width);

// Functional models: one 32-bit result per row (fp32 in BF16 mode, int32 in INT8 mode), in the array's
// order: acc = 0, then per beat acc = add(acc, tree(products of the beat)). The sparse beat holds
// groups_per_cycle groups (products in slot order: group 0 value 0, value 1, group 1 ...); the dense
// beat holds `lanes` consecutive columns. x has layer.cols (sparse, indexed through perm) or cols
// entries. cols must be a multiple of the beat width.
std::vector<uint32_t> sparse_matvec(const Sparse24& layer, const std::vector<uint16_t>& x, MacMode mode,
                                    int groups_per_cycle);
std::vector<uint32_t> dense_matvec(const std::vector<uint16_t>& w, int rows, int cols,
                                   const std::vector<uint16_t>& x, MacMode mode, int lanes);

// Weight streams: for each block of p.rows rows, row_beats beats; the caller sets w_last on the final
// beat. rows must be a multiple of p.rows and cols of p.cols_per_beat().
std::vector<Bits> sparse_weight_beats(const Sparse24& layer, const MacArrayParams& p);
std::vector<Bits> dense_weight_beats(const std::vector<uint16_t>& w, int rows, int cols, const MacArrayParams& p);

// What the bench drives in one cycle, and what the array shows in it.
struct MacArrayInputs {
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;
  uint32_t cfg_data = 0;
  bool act_valid = false;
  uint16_t act_data = 0;
  bool act_last = false;
  bool w_valid = false;
  Bits w_data;
  bool w_last = false;
  bool out_ready = false;
  bool err_clear = false;  // clears the sticky error (a cause raised in the same cycle is kept)
};
struct MacArrayOutputs {
  bool cfg_ready = false, act_ready = false, w_ready = false;
  bool out_valid = false;
  Bits out_data;
  bool out_last = false;
  bool err = false;
  uint8_t err_cause = 0;
};

// Cycle model: outputs() is the array between two clock edges (ready depends on out_ready), tick() is
// one rising edge. After construction it is in the reset state.
class MacArrayModel {
 public:
  explicit MacArrayModel(const MacArrayParams& p);
  void reset();
  MacArrayOutputs outputs(bool out_ready) const;
  void tick(const MacArrayInputs& in);
  const MacArrayParams& params() const { return p_; }

 private:
  struct Stage {  // one beat in flight
    bool valid = false, first = false, last_row = false, last_mat = false;
    std::vector<uint32_t> sums;  // per row: the beat's tree result
  };
  bool busy() const;
  std::vector<uint32_t> beat_sums(const Bits& w, const std::vector<uint16_t>& xg) const;

  MacArrayParams p_;
  MacMode mode_ = MacMode::Int8;
  int row_beats_ = 1;
  std::vector<uint32_t> perm_;
  std::vector<uint16_t> xbuf_;
  int act_ptr_ = 0, beat_ = 0;
  bool in_frame_ = false;
  StickyError err_;
  // S1: the accepted beat with its gathered activations.
  bool s1_valid_ = false, s1_first_ = false, s1_last_row_ = false, s1_last_mat_ = false;
  Bits s1_w_;
  std::vector<uint16_t> s1_x_;
  std::vector<Stage> pipe_;  // products, then one stage per tree level; the accumulator reads back()
  std::vector<uint32_t> acc_;
  bool out_valid_ = false, out_last_ = false;
  Bits out_data_;
};

}  // namespace ws
