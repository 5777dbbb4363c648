// Cycle-accurate model of rtl/ws_weight_pipeline.sv (docs/weight_pipeline.md): the value decoder
// (ws::TansDecoderModel, ValueLanes lanes, layout-2 chunks on 2 x ValueLanes state ports), the number
// unpacker (ws::Bf16UnpackerModel, or ws::NumUnpackerModel with bf16_unpacker false; ValueLanes
// lanes), the metadata decoder (MetaLanes lanes, 2 x MetaLanes state ports) and the sparse MAC
// array (ws::MacArrayModel, Rows 1, GroupsPerCycle = MetaLanes), at any lane counts the top takes
// (WeightPipelineParams: 4/2 by default, 2/1 the small configuration, 8/4 the wide one), plus the
// top's glue: configuration routing, the register slices, the join of value and metadata beats (or,
// for a dense layer, of value beats and implied nibbles), the activation gate, the layer beat counter
// and the sticky error. The configuration map, the beat fields and the error causes are ws::pkg's
// (rtl/ws_pkg.sv); ws::weight_pipeline_error_text() names a cause.
//
// The same pins as the Verilated adapter (WeightPipelinePins). Per clock cycle: set `in`; eval(); read
// `out` (cfg_ready is a register; the stream readies depend on y_ready); tick() is the rising edge with `in`, then eval(). After construction (and reset()) it is
// in the reset state.
#pragma once

#include <array>
#include <cstdint>
#include <variant>
#include <vector>

#include "core/ws_pkg.hpp"
#include "hw/error_text.hpp"
#include "hw/bf16_unpacker_model.hpp"
#include "hw/mac_array_model.hpp"
#include "hw/num_unpacker_model.hpp"
#include "hw/skid_buffer_model.hpp"
#include "hw/tans_decoder_model.hpp"

namespace ws {

struct WeightPipelineParams {
  int max_k = 256;            // MaxK (16 .. 4096)
  int value_table_log = 11;   // ValueTableLog (the codec's default table log)
  int meta_table_log = 8;     // MetaTableLog
  int count_bits = 32;        // CountBits
  int beat_bits = 24;         // BeatBits
  int value_lanes = pkg::WP_VALUE_LANES;  // ValueLanes = 2 x meta_lanes
  int meta_lanes = pkg::WP_META_LANES;    // MetaLanes: 1, 2 or 4 = the MAC array's GroupsPerCycle
  bool bf16_unpacker = true;  // Bf16Unpacker: ws_bf16_unpacker (1) or the table-driven ws_num_unpacker (0)
  int k_bits() const;         // $clog2(MaxK)
  int cols_per_beat() const { return 4 * meta_lanes; }  // the MAC array's columns a weight beat
  int value_states() const { return 2 * value_lanes; }  // the value decoder's state ports
  int meta_states() const { return 2 * meta_lanes; }    // the metadata decoder's state ports
  void check() const;         // throws std::invalid_argument
  TansDecoderParams value_dec() const;
  TansDecoderParams meta_dec() const;
  MacArrayParams mac() const;
};

// The widest top (MetaLanes 4, as the RTL's elaboration check): the pins' state-port arrays hold its
// 2 x lanes ports per decoder (docs/tans_decoder.md section 1); a configuration uses the first
// WeightPipelineParams::value_states() / meta_states() and leaves the others idle (readies false).
constexpr int kWpMaxMetaLanes = 4;
constexpr int kWpValueStates = 4 * kWpMaxMetaLanes;
constexpr int kWpMetaStates = 2 * kWpMaxMetaLanes;

// The pins of ws_weight_pipeline, without the clock. State port s is index s of the *unit_* arrays
// (vunit_data_i[16 s +: 16]).
struct WeightPipelineInputs {
  bool rst_n = true;  // active-low reset (asynchronous)
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // 16 bits: pkg::wp_cfg_addr(region, offset)
  uint32_t cfg_data = 0;
  bool vdesc_valid = false;
  TansDescriptor vdesc;
  std::array<bool, kWpValueStates> vunit_valid{};
  std::array<uint16_t, kWpValueStates> vunit_data{};
  std::array<bool, kWpValueStates> vunit_last{};
  bool raw_valid = false;
  uint64_t raw_data = 0;  // pkg::raw_word_bits(ValueLanes) bits: 32, 64 at 8 lanes
  bool raw_last = false;
  bool mdesc_valid = false;
  TansDescriptor mdesc;
  std::array<bool, kWpMetaStates> munit_valid{};
  std::array<uint16_t, kWpMetaStates> munit_data{};
  std::array<bool, kWpMetaStates> munit_last{};
  bool act_valid = false;
  uint16_t act_data = 0;
  bool act_last = false;
  bool y_ready = false;
  bool err_clear = false;  // clears the sticky error of the top and of every block at once
};

struct WeightPipelineOutputs {
  bool cfg_ready = false;
  bool vdesc_ready = false, raw_ready = false, mdesc_ready = false;
  std::array<bool, kWpValueStates> vunit_ready{};
  std::array<bool, kWpMetaStates> munit_ready{};
  bool act_ready = false;
  bool y_valid = false;
  uint32_t y_data = 0;
  bool y_last = false;
  bool err = false;
  uint8_t err_cause = 0;  // pkg::wp_cause_t {block, the block's own cause}
};

struct WeightPipelinePins {
  WeightPipelineInputs in;
  WeightPipelineOutputs out;
};

// Internal signals of one cycle, exposed for benches and waveform-style debugging.
struct WeightPipelineProbe {
  bool w_valid = false, w_ready = false, w_last = false;  // the join's beat into the MAC slice
  uint32_t beat = 0;        // beat counter
  bool x_loaded = false;    // the head layer's activations are in
  int open = 0;             // layers open (LAYER_BEATS written, last beat not yet taken): 0 .. 2
  int loaded = 0;           // of those, the ones whose activations are in
  bool dense = false;       // the head layer is dense
};

class WeightPipelineModel : public WeightPipelinePins {
 public:
  explicit WeightPipelineModel(const WeightPipelineParams& p = {});
  void reset();
  void eval();
  void tick();
  const WeightPipelineParams& params() const { return p_; }
  WeightPipelineProbe probe() const { return probe_; }

 private:
  struct Comb;
  void compute(Comb& c);
  struct DecBeat {  // a decoder's output beat
    std::array<uint8_t, 8> data{};
    int count = 0;
    bool last = false;
  };
  struct CfgSlot {  // a configuration write in u_cfg_slice (and its target's slice): its target decoded at the port
    bool sel_v = false, sel_m = false, sel_u = false, sel_a = false, sel_beats = false, sel_dense = false;
    bool unknown = false, data_bad = false, bank_v = false, bank_m = false;
    uint32_t offset = 0, data = 0;
  };
  CfgSlot decode_cfg() const;  // the port's write, decoded
  struct UnpBeat {  // the unpacker's beat as the join reads it (and u_u_slice keeps it)
    std::array<uint16_t, kNumMaxLanes> bf16{};  // the numbers' top halves
    bool partial = false;  // count != ValueLanes
    bool last = false;
  };
  UnpBeat unp_beat(const NumUnpackerOutputs& o) const;
  struct MacBeat {  // the join's beat for the MAC array
    Bits data;
    bool last = false;
  };

  WeightPipelineParams p_;
  TansDecoderModel vdec_, mdec_;
  // The unpacker (p_.bf16_unpacker picks it), held by value so the model stays copyable.
  std::variant<Bf16UnpackerModel, NumUnpackerModel> unp_;
  UnpackerModel& unp() { return std::visit([](auto& m) -> UnpackerModel& { return m; }, unp_); }
  MacArrayModel mac_;
  SkidBufferModel<CfgSlot> cfg_slice_;  // configuration port -> the target slices (u_cfg_slice)
  // The target slices, kCfgV .. kCfgT: u_cfgv_slice, u_cfgm_slice, u_cfgu_slice, u_cfga_slice, u_cfgt_slice
  enum { kCfgV, kCfgM, kCfgU, kCfgA, kCfgT, kCfgTargets };
  std::array<SkidBufferModel<CfgSlot>, kCfgTargets> cfg_target_;
  // Table writes on their way to a decoder (taken at the port, not yet by the decoder), per bank:
  // the decoder's descriptor for that bank waits (v_pend0_q .. m_pend1_q)
  std::array<int, 2> v_pend_{}, m_pend_{};
  SkidBufferModel<DecBeat> v_slice_;   // value decoder -> unpacker (u_v_slice)
  SkidBufferModel<DecBeat> m_slice_;   // metadata decoder -> join (u_m_slice)
  SkidBufferModel<UnpBeat> u_slice_;   // unpacker -> join (u_u_slice; not with bf16_unpacker, whose output is a slice)
  SkidBufferModel<MacBeat> w_slice_;   // join -> MAC array (u_w_slice)
  int layers_ = 0;  // open layers (LAYER_BEATS written, last beat not in the MAC array), 0 .. 2
  int loaded_ = 0;  // of those, the ones whose activations are in
  bool sent_ = false;  // the head's last beat is in the MAC slice, not yet in the MAC array (or retire_)
  bool retire_ = false;  // the MAC array took the head's last beat last cycle (retire_q): the head closes
  bool held_ = false;  // a beat offered to the MAC slice last cycle and not taken (held_q)
  bool dense_ = false, dense_next_ = false;  // the head's and the next open layer's
  bool dense_new_ = false;  // LAYER_DENSE, for the next LAYER_BEATS
  uint32_t last_beat_ = 0, last_beat_next_ = 0;  // LAYER_BEATS - 1 of the head and the next layer
  uint32_t beat_ = 0;
  bool v_rel_ = false, m_rel_ = false;  // v_rel_q, m_rel_q: a decoder's empty beat released (an error was up)
  bool cfg_err_ = false;  // a refused configuration write last cycle (cfg_err_q)
  pkg::wp_err_e pair_err_ = pkg::WP_ERR_NONE;  // the checks of last cycle's beat pair if it went (ev_pair_q, w_fire_q)
  StickyError err_;
  WeightPipelineProbe probe_;
};

}  // namespace ws
