// Cycle-accurate model of rtl/ws_tans_decoder.sv (layout-2 chunks, docs/tans_decoder.md) with its
// lanes (ws_tans_lane), state buffers (ws_tans_state_buffer) and table RAMs: the same pins
// (TansDecoderPins, shared with the Verilated adapter), valid/ready behaviour, latency and error
// causes, cycle for cycle. Its registers carry the RTL's names; the functional model is
// ws::tans::decode.
//
// Use per clock cycle, exactly like the Verilated adapter:
//   set `in`; eval();  read `out` (cfg_ready and desc_ready depend on the inputs of the cycle)
//   tick();            the rising edge with `in`; `out` then shows the new state
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

struct TansDecoderParams {
  int lanes = 4;           // Lanes: 1, 2, 4, 8 (2 x Lanes states)
  int max_table_log = 11;  // MaxTableLog: 5 .. 12
  int count_bits = 32;     // CountBits: 4 .. 32, the descriptor's count field
  int chunk_bits = 17;     // ChunkBits: 4 .. count_bits, chunks of n < 2^chunk_bits symbols
  int states() const { return 2 * lanes; }
};

constexpr int kTansMaxPorts = 16;  // state ports of the widest decoder (8 lanes)

// The fields of desc_data_i: {count, head} (ws::pkg::tans_desc_head_t).
struct TansDescriptor {
  uint32_t table_log = 0;  // 4 bits
  bool bank = false;       // the table bank the chunk decodes with
  uint32_t count = 0;      // count_bits bits
  // desc_data_i as little-endian 32-bit words (bit i of the vector is bit i % 32 of word i / 32).
  std::vector<uint32_t> pack(const TansDecoderParams& p) const;
};

// The pins of ws_tans_decoder (docs/tans_decoder.md section 1), without the clock. State s's port is
// index s of the in_* arrays (in_data_i[16 s +: 16]).
struct TansDecoderInputs {
  bool rst_n = true;  // active-low reset (asynchronous)
  bool cfg_valid = false;
  bool cfg_bank = false;
  uint32_t cfg_addr = 0;
  uint32_t cfg_data = 0;  // ws::pkg::tans_entry_t
  bool desc_valid = false;
  TansDescriptor desc;
  std::array<bool, kTansMaxPorts> in_valid{};
  std::array<uint16_t, kTansMaxPorts> in_data{};
  std::array<bool, kTansMaxPorts> in_last{};
  bool out_ready = false;
  bool err_clear = false;
};
struct TansDecoderOutputs {
  bool cfg_ready = false;
  bool desc_ready = false;
  std::array<bool, kTansMaxPorts> in_ready{};  // states >= 2 x Lanes are false
  bool out_valid = false;
  std::array<uint8_t, 8> out_data{};  // lane 0 first; lanes >= Lanes are 0
  int out_count = 0;
  bool out_last = false;
  bool err = false;
  pkg::tans_err_e err_cause = pkg::TANS_ERR_NONE;
  bool operator==(const TansDecoderOutputs& o) const {
    return cfg_ready == o.cfg_ready && desc_ready == o.desc_ready && in_ready == o.in_ready &&
           out_valid == o.out_valid && out_data == o.out_data && out_count == o.out_count &&
           out_last == o.out_last && err == o.err && err_cause == o.err_cause;
  }
  bool operator!=(const TansDecoderOutputs& o) const { return !(*this == o); }
};
struct TansDecoderPins {
  TansDecoderInputs in;
  TansDecoderOutputs out;
};

class TansDecoderModel : public TansDecoderPins {
 public:
  explicit TansDecoderModel(const TansDecoderParams& p);

  void eval();  // out from in and the registers
  void tick();  // the rising edge with in, then eval()

  const TansDecoderParams& params() const { return p_; }

 private:
  struct Buffer {  // ws_tans_state_buffer
    std::array<uint16_t, 4> data{};  // slots_ of them are used
    uint8_t valid = 1;  // slot 0 = w0 .. slot slots_ - 1 (the entry slot)
    bool ended = false, drain = false, ok = false;
  };
  struct Lane {  // ws_tans_lane
    std::array<Buffer, 2> buf;
    uint64_t read = 0, rdata = 0;  // the RAM's read and output registers
    uint32_t addr = 0, sum = 0, coarse = 0, cur = 0;
    uint32_t fine = 0;  // the position mod 4: the window's offset in coarse
    bool chk = false, chk_init = false, chk_fin = false, chk_ended = false, chk_nz_addr = false;
    uint32_t chk_valid = 0, chk_sum = 0, chk_unit = 0, chk_from = 0;
    bool st2 = false, st2_early = false, st2_left = false, st2_final = false, st2_init = false, st2_pad = false;
    uint32_t from_hi = 0, nib_any = 0, nib_above = 0;
    bool early = false, final_ = false, left = false, bad_init = false;
  };
  struct Comb;  // everything combinational in one cycle
  void compute(Comb& c) const;
  void reset_state();

  TansDecoderParams p_;
  int lo_bits_ = 0, cb_ = 0;
  int slots_ = 4;  // unit slots of a state buffer (ws_tans_state_buffer's Slots)

  std::vector<uint64_t> mem_;  // the table RAM's array: every lane's copy holds the same words
  std::vector<Lane> lane_;

  // Configuration
  uint32_t cfg_in_addr_ = 0, cfg_in_data_ = 0, cfg_msk_addr_ = 0, cfg_msk_pre_ = 0, cfg_low_ = 0, cfg_base_ = 0;
  uint32_t cfg_chk_addr_ = 0, cfg_pre_ = 0, cfg_mask_ = 0, cfg_addr_ = 0;
  uint64_t cfg_word_ = 0;
  bool cfg_big_ = false, cfg_bad_ = false;
  bool cfg_in_ = false, cfg_msk_ = false, cfg_chk_ = false, cfg_we_ = false, cfg_ev_ = false;
  uint32_t loaded_ = 0;
  // Descriptor and sequencer
  uint32_t st_ = 0, log_ = 0, pend_ = 0, wait_ = 0, end_wait_ = 0, ready_all_ = 0;
  bool bank_ = false;
  // The descriptor's tests, registered every cycle (read only in ST_TAKEN). cnt_big_: the OR of the
  // RTL's parts of cnt_big_q.
  bool cnt_big_ = false, cnt_lo_nz_ = false, cnt_mid_z_ = false, log_bad_ = false, no_table_ = false;
  bool cnt_nz() const { return cnt_lo_nz_ || !cnt_mid_z_ || cnt_big_; }  // n != 0
  bool cnt_small() const { return cnt_mid_z_ && !cnt_big_; }             // n < 8 Lanes
  uint64_t cnt_ = 0, rem_ = 0;
  bool adv_ = false, phase_ = false, primed_ = false, s_pseudo_ = false, s_beat_ = false, s_init_ = false;
  uint32_t s_pop0_ = 0, s_pop1_ = 0, s_fin0_ = 0, s_fin1_ = 0, dec_fin_ = 0, done0_ = 0, done1_ = 0;
  uint32_t abort0_ = 0, abort1_ = 0;
  bool rem_small_ = false, last_out_ = false;
  uint32_t qle_ = 0, rle_ = 0;  // "whole beats left <= i"; "rem mod Lanes <= b" (set at the start)
  bool err_early_ = false, err_final_ = false, err_left_ = false, err_init_ = false;
  uint8_t desc_ev_ = 0, ev_ = 0;
  bool any_early_ = false, any_final_ = false, any_left_ = false, any_init_ = false;
  // Output register and skid register
  bool out_v_ = false, skid_v_ = false, out_last_ = false, skid_last_ = false;
  std::array<uint8_t, 8> out_data_{}, skid_data_{};
  uint32_t out_count_ = 0, skid_count_ = 0;
  StickyError err_;
};

}  // namespace ws
