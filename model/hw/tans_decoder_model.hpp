// Cycle-accurate model of rtl/ws_tans_decoder.sv (with its ws_bit_reader and table RAMs): the same
// pins (TansDecoderPins, shared with the Verilated adapter), valid/ready behaviour, latency and error
// codes, cycle for cycle. The functional model is ws::tans::decode; docs/tans_decoder.md describes both.
//
// Use per clock cycle, exactly like the Verilated adapter:
//   set `in`; eval();  read `out` (it depends on the inputs: desc_ready on cfg_valid)
//   tick();            the rising edge with `in`; `out` then shows the new state
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"
#include "hw/sticky_error.hpp"

namespace ws {

struct TansDecoderParams {
  int lanes = 4;           // Lanes: 1, 2, 4, 8
  int max_table_log = 12;  // MaxTableLog: 5 .. 12
  int word_bits = 32;      // WordBits: 32 or 64
  int count_bits = 32;     // CountBits: 1 .. 32
  // Derived as in the RTL.
  int step_bits() const { return lanes * max_table_log; }
  int buffer_words() const;
};

// The fields of desc_data_i: {state[lanes-1] .. state[0], count, head} (ws::pkg::tans_desc_head_t).
struct TansDescriptor {
  uint32_t table_log = 0;  // 4 bits
  bool no_stream = false;  // the chunk has no symbol-stream words
  uint32_t count = 0;      // count_bits bits
  std::array<uint16_t, 8> states{};
  // desc_data_i as little-endian 32-bit words (bit i of the vector is bit i % 32 of word i / 32).
  std::vector<uint32_t> pack(const TansDecoderParams& p) const;
};

// The pins of ws_tans_decoder (docs/tans_decoder.md section 1), without the clock.
struct TansDecoderInputs {
  bool rst_n = true;      // active-low reset (asynchronous)
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;
  uint32_t cfg_data = 0;  // ws::pkg::tans_entry_t
  bool desc_valid = false;
  TansDescriptor desc;
  bool in_valid = false;
  uint64_t in_data = 0;   // WordBits
  bool in_last = false;
  bool out_ready = false;
  bool err_clear = false;
};
struct TansDecoderOutputs {
  bool cfg_ready = false;
  bool desc_ready = false;
  bool in_ready = false;
  bool out_valid = false;
  std::array<uint8_t, 8> out_data{};  // lane 0 first; out_count of them are valid, lanes >= Lanes are 0
  int out_count = 0;
  bool out_last = false;
  bool err = false;
  pkg::tans_err_e err_cause = pkg::TANS_ERR_NONE;
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
  struct Comb;  // everything combinational in one cycle
  void compute(Comb& c) const;
  void reset_state();
  uint32_t ring_bits(uint32_t pos, int n) const;  // n <= 32 bits at ring bit pos, wrapping

  TansDecoderParams p_;
  uint32_t ring_size_bits_;  // BufferWords * WordBits
  uint32_t entry_mask_;      // 2^MaxTableLog - 1

  // Table RAMs: one content (all lanes are written together) and a read register per lane.
  std::vector<uint32_t> ram_;  // {next_base, nb_bits, symbol} as stored
  std::array<uint32_t, 8> ent_{};

  // Bit reader registers
  std::vector<uint64_t> ring_;
  uint32_t wr_ = 0, rp_ = 0;
  uint32_t cur_bits_ = 0, nxt_bits_ = 0, cur_pad_ = 0, nxt_pad_ = 0;
  bool cur_end_ = false, nxt_end_ = false, skip_ = false;

  // Decoder registers
  bool run_ = false;
  uint64_t rem_ = 0;
  bool nostream_ = false;
  uint8_t abort_ = 0;
  bool early_ = false, early_cont_ = false;
  uint8_t start_ev_ = 0;
  bool cfg_ev_ = false;
  std::array<uint32_t, 8> state_{};
  bool loaded_ = false;
  bool fin_chk_ = false;
  std::array<uint32_t, 8> fin_field_{};
  uint32_t fin_base0_ = 0, fin_act_ = 0;
  bool fin_idle_bad_ = false, left_bad_ = false;
  bool out_valid_ = false;
  std::array<uint8_t, 8> out_data_{};
  int out_count_ = 0;
  bool out_last_ = false;
  StickyError err_;
};

}  // namespace ws
