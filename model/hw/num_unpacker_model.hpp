// Cycle-accurate model of rtl/ws_num_unpacker.sv (docs/numfmt.md section 6), including the
// ws_bit_reader it instantiates: the same pins (NumUnpackerPins, shared with the Verilated adapter),
// cycle for cycle. The functional model is ws::numfmt::decode_tensor. Per clock cycle: set `in`;
// eval(); read `out`; tick() (the rising edge with `in`, then eval()).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"
#include "numfmt/numfmt.hpp"
#include "hw/skid_buffer_model.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

constexpr int kNumMaxLanes = 8;

// The pins of ws_num_unpacker, without the clock.
struct NumUnpackerInputs {
  bool rst_n = true;  // active-low reset (asynchronous)
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // 0 .. 255: the entry of that symbol (ws::pkg::unp_entry_t); pkg::UNP_CFG_MODE
  uint32_t cfg_data = 0;
  bool sym_valid = false;
  std::array<uint8_t, kNumMaxLanes> sym{};  // lane 0 first
  int sym_count = 0;
  bool sym_last = false;
  bool raw_valid = false;
  uint64_t raw_data = 0;  // pkg::raw_word_bits(lanes) bits: 32, 64 at 8 lanes
  bool raw_last = false;
  bool out_ready = false;
  bool err_clear = false;  // clears the sticky error (a cause raised in the same cycle is kept)
};

struct NumUnpackerOutputs {
  bool cfg_ready = false, sym_ready = false, raw_ready = false;
  bool out_valid = false;
  std::array<uint32_t, kNumMaxLanes> out_data{};  // lanes at and above out_count are 0
  int out_count = 0;
  bool out_last = false;
  bool err = false;
  pkg::unp_err_e err_cause = pkg::UNP_ERR_NONE;  // the first since reset or the last clear
};

struct NumUnpackerPins {
  NumUnpackerInputs in;
  NumUnpackerOutputs out;
};

// What the two unpacker models share (ws_num_unpacker's NumUnpackerModel, ws_bf16_unpacker's
// Bf16UnpackerModel): the pins and one tick per clock, so the weight pipeline's model holds either.
class UnpackerModel : public NumUnpackerPins {
 public:
  virtual ~UnpackerModel() = default;
  virtual void reset() = 0;
  virtual void eval() = 0;  // the block between two clock edges
  virtual void tick() = 0;  // one rising edge, then eval()
  virtual int lanes() const = 0;
};

// ws_bit_reader (rtl/ws_bit_reader.sv) with WordBits = word_bits (32 or 64), one tick() per clock.
class BitReaderModel {
 public:
  BitReaderModel(int window_bits, int buffer_words, int word_bits);
  void reset();
  bool in_ready() const;
  uint64_t window(int offset, int nbits) const;  // nbits <= 32, offset + nbits <= window_bits
  int avail() const { return cur_bits_; }
  bool ended() const { return cur_end_; }
  int pad() const { return cur_pad_; }
  bool skip() const { return skip_; }
  void tick(bool in_valid, uint64_t in_data, bool in_last, int consume, bool done);

 private:
  int window_bits_, words_, word_bits_;
  std::vector<uint64_t> ring_;
  int wr_ = 0, rp_ = 0;
  int cur_bits_ = 0, cur_pad_ = 0, nxt_bits_ = 0, nxt_pad_ = 0;
  bool cur_end_ = false, nxt_end_ = false, skip_ = false;
};

class NumUnpackerModel : public UnpackerModel {
 public:
  explicit NumUnpackerModel(int lanes);  // 1, 2, 4 or 8
  void reset() override;
  // The block between two clock edges; sym_ready depends on cfg_valid and registers only (not on
  // out_ready: the A and OUT stages are register slices).
  void eval() override;
  void tick() override;  // one rising edge, then eval()
  int lanes() const override { return k_; }
  static constexpr int kLatency = 10;  // cycles from a symbol transfer to its output beat, bits ready

 private:
  struct Step {  // the combinational values of one cycle
    bool c_adv = false, x_adv = false, v_adv = false, w_adv = false, fire = false, a_adv = false;
    bool p_free = false, ram_ce = false;
    int need = 0;
    bool unknown = false, runs_out = false, null_beat = false, used_now = false;
    pkg::unp_err_e ev = pkg::UNP_ERR_NONE;
    int consume = 0;
    bool done = false;
    bool sym_ready = false;
    std::array<uint32_t, kNumMaxLanes> raw{};  // each lane's raw field, cut from the window in P
  };
  using Lanes = std::array<uint32_t, kNumMaxLanes>;
  struct ABeat {  // what stage A holds: the entries (the RTL holds widths and the prefix sum inside
                  // groups of 4 lanes)
    Lanes ent{};
    int count = 0;
    bool last = false;
  };
  struct FieldBeat {  // W, V and X: the entries and each lane's raw field
    Lanes ent{}, raw{};
    int count = 0;
    bool last = false;
  };
  struct OutBeat {
    Lanes data{};
    int count = 0;
    bool last = false;
  };
  Step step() const;
  bool pipeline_empty() const {
    return !r0_valid_ && !r1_valid_ && !r2_valid_ && !a_slice_.out_valid() && !p_valid_ && !w_valid_ && !v_valid_ && !x_valid_ &&
           !c_valid_;
  }

  int k_;
  BitReaderModel reader_;
  std::array<uint32_t, 256> table_{};  // packed entries (every RAM copy holds the same)
  bool mode_int_ = false;
  StickyError err_;  // err_.err also poisons the pipeline, as err_q in the RTL
  bool used_ = false;  // the current chunk has taken raw bits
  // R0 and R1: the RAMs' address and output registers (the entries, read as the address is taken);
  // R2: the entries in fabric registers
  ABeat r0_, r1_, r2_;
  bool r0_valid_ = false, r1_valid_ = false, r2_valid_ = false;
  // A: a register slice (ws_skid_buffer) whose registered ready moves R0, R1 and R2
  SkidBufferModel<ABeat> a_slice_;
  // P: the beat's entries (widths and offsets follow from them), waiting for its bits
  ABeat p_;
  bool p_valid_ = false;
  // W: entries and the raw fields (the RTL registers the window and cuts them one stage later);
  // V: the same (the RTL's first step of the cut lies between W and V); X: entries and raw fields
  FieldBeat w_, v_, x_;
  bool w_valid_ = false, v_valid_ = false, x_valid_ = false;
  // C: the converted words (ws_num_convert's register between its halves)
  Lanes c_word_{};
  bool c_valid_ = false, c_last_ = false;
  int c_count_ = 0;
  // OUT: a register slice, so out_ready reaches only its registers
  SkidBufferModel<OutBeat> out_slice_;
};

// Whether a configuration word is one the RTL refuses (stored as class none, error UNP_ERR_BAD_CFG).
bool num_cfg_entry_bad(uint32_t word);

}  // namespace ws
