// Functional and cycle-accurate models of ws_sparse_mac_array and ws_dense_mac_array
// (docs/mac_array.md sections 2-4).
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <vector>

#include "codec/sparse24.hpp"
#include "core/ws_pkg.hpp"
#include "hw/mac_arith.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

enum class MacArrayKind { Sparse, Dense };

// Parameters of one array instance (the RTL parameters Rows, GroupsPerCycle, MaxK) and what follows
// from them.
struct MacArrayParams {
  MacArrayKind kind = MacArrayKind::Sparse;
  int rows = 4;
  int groups_per_cycle = 2;  // a power of two
  int max_k = 256;           // a power of two, 2 x the columns per beat .. 8192

  int lanes() const { return 2 * groups_per_cycle; }  // multipliers per row, both arrays
  int cols_per_beat() const { return kind == MacArrayKind::Sparse ? 4 * groups_per_cycle : lanes(); }
  int max_row_beats() const { return max_k / cols_per_beat(); }
  int weight_bits() const {
    return kind == MacArrayKind::Sparse ? rows * groups_per_cycle * pkg::SPARSE_GROUP_BITS : rows * lanes() * 16;
  }
  int out_bits() const { return rows * 32; }
  int k_bits() const;  // $clog2(MaxK); cfg_addr_i has k_bits() + 1 bits
  void check() const;  // throws std::invalid_argument when unusable

  // The schedule (docs/mac_array.md section 3). A row's result enters the result queue
  // result_latency() cycles after the row's last beat is accepted; it is on the output two cycles
  // later at the earliest.
  int result_latency() const;
  static constexpr int kQueueDepth = 16;                          // plus the output register
  static constexpr int kRowPace = pkg::MAC_ACC_PARTIALS / 2;       // cycles between two rows' ends
  int init_cycles() const { return kind == MacArrayKind::Sparse ? max_k : 0; }  // the table's sweep
};

// Configuration writes: CTRL (ws_pkg::mac_ctrl_t) at address 0, perm[j] at MaxK + j.
uint32_t mac_ctrl_word(MacMode mode, int row_beats);
uint32_t mac_perm_addr(const MacArrayParams& p, int j);

// LSB-first bit vector in 32-bit words (the layout of a Verilator wide port).
using Bits = std::vector<uint32_t>;
void bits_put(Bits& v, int lsb, int width, uint32_t value);  // width <= 32
uint32_t bits_get(const Bits& v, int lsb, int width);

// Functional models: one 32-bit result per row (fp32 in BF16 mode, int32 in INT8 mode), in the
// arrays' order (MacRowSum): per beat the pairwise tree of its products, into partial sum
// b mod 16, the partial sums' pairwise tree at the row's end. The sparse beat holds groups_per_cycle
// groups (products in slot order: group 0 value 0, value 1, group 1 ...); the dense beat holds
// `lanes` consecutive columns. x has layer.cols (sparse, indexed through perm) or cols entries.
// cols must be a multiple of the beat width.
std::vector<uint32_t> sparse_matvec(const Sparse24& layer, const std::vector<uint16_t>& x, MacMode mode,
                                    int groups_per_cycle);
std::vector<uint32_t> dense_matvec(const std::vector<uint16_t>& w, int rows, int cols,
                                   const std::vector<uint16_t>& x, MacMode mode, int lanes);

// Weight streams: for each block of p.rows rows, row_beats beats; the caller sets w_last on the final
// beat. rows must be a multiple of p.rows and cols of p.cols_per_beat().
std::vector<Bits> sparse_weight_beats(const Sparse24& layer, const MacArrayParams& p);
std::vector<Bits> dense_weight_beats(const std::vector<uint16_t>& w, int rows, int cols, const MacArrayParams& p);

// The pins of either array, without the clock: one structure shared by the cycle model and the
// Verilated adapter (tb/mac_array/dut.hpp), so one test body drives either.
struct MacArrayInputs {
  bool rst_n = true;  // active-low reset (asynchronous)
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // CTRL at 0, perm[j] at MaxK + j (mac_perm_addr)
  uint32_t cfg_data = 0;
  bool act_valid = false;
  uint16_t act_data = 0;
  bool act_last = false;
  bool w_valid = false;
  Bits w_data;  // weight_bits() bits
  bool w_last = false;
  bool out_ready = false;
  bool err_clear = false;  // clears the sticky error (a cause raised in the same cycle is kept)
};

struct MacArrayOutputs {
  bool cfg_ready = false, act_ready = false, w_ready = false;
  bool out_valid = false;
  Bits out_data;  // rows words
  bool out_last = false;
  bool err = false;
  uint8_t err_cause = pkg::MAC_ERR_NONE;  // pkg::mac_err_e
};

struct MacArrayPins {
  MacArrayInputs in;
  MacArrayOutputs out;
};

// Cycle model: set `in`; eval() gives `out` between two clock edges (the readies depend on
// cfg_valid and w_last); tick() is one rising edge with `in`, then eval(). After construction it is
// in the reset state. It keeps the RTL's control registers, the activation banks and the
// permutation table, and computes each row's value when its last beat is accepted (the datapath
// runs free, so the value and its arrival in the result queue do not depend on what happens in
// between).
class MacArrayModel : public MacArrayPins {
 public:
  explicit MacArrayModel(const MacArrayParams& p);
  void reset();
  void eval();
  void tick();
  const MacArrayParams& params() const { return p_; }
  // Nothing on its way: no activation loading, no result in the datapath, the queue or the output.
  bool idle() const;

 private:
  struct Load {  // an activation on its way into its bank
    bool valid = false, last = false;
    int bank = 0;
    uint32_t ptr = 0;    // x index
    uint32_t col = 0;    // its column (from A2 on)
    uint16_t data = 0;
  };
  struct Result {
    uint64_t cycle = 0;  // when it enters the queue
    std::vector<uint32_t> y;
    bool last = false;
  };
  struct CfgWrite {  // a valid configuration write, applied one cycle after its transfer
    bool ctrl = false, perm = false;
    uint32_t data = 0;  // CTRL word, or the x index i of perm[j] = i
    uint32_t col = 0;   // j
  };
  bool row_end() const { return beat_ + 1 == bank_rb_[size_t(stream_bank_)]; }
  std::vector<uint32_t> beat_sums(const Bits& w) const;

  MacArrayParams p_;
  uint64_t cycle_ = 0;
  // Configuration and the permutation table (the inverse: table_[i] is the column of x[i])
  bool mode_bf16_ = false;
  int row_beats_ = 1;
  CfgWrite cfg_q_;  // the RTL's ctrl_we_q / table write port
  int init_count_ = 0;
  bool init_done_ = false;
  std::vector<uint32_t> table_;
  // Activations: two banks by column, and the loading pipeline A1 .. A4, then A5's last flag
  std::array<std::vector<uint16_t>, 2> xbuf_;
  bool in_vector_ = false;
  int act_ptr_ = 0, load_bank_ = 0;
  std::array<bool, 2> loaded_{}, pending_{}, bank_bf16_{};
  std::array<int, 2> bank_rb_{{1, 1}};
  std::array<Load, 5> a_;  // a_[1] .. a_[4]; a_[0] unused
  bool a5_last_ = false;
  int a5_bank_ = 0;
  // Weights
  int stream_bank_ = 0, beat_ = 0, out_count_ = 0, pace_ = 0;
  bool pop_q_ = false;  // a result left in the cycle before: its credit is free from this cycle on
  std::vector<MacRowSum> rows_;
  std::deque<Result> in_flight_;
  // The result queue and its output register
  std::deque<Result> queue_;
  bool out_valid_ = false, out_last_ = false;
  Bits out_data_;
  StickyError err_;
  uint8_t cause_q_ = 0;  // this cycle's cause reaches err_ one cycle later (the RTL's ev_q)
};

}  // namespace ws
