// Cycle-accurate model of rtl/ws_weight_pipeline.sv (docs/weight_pipeline.md): the value decoder
// (ws::TansDecoderModel, 4 lanes), the number unpacker (ws::NumUnpackerModel, 4 lanes), the metadata
// decoder (2 lanes) and the sparse MAC array (ws::MacArrayModel, Rows 1, GroupsPerCycle 2), plus the
// top's glue: configuration routing, the join of value and metadata beats, the activation gate, the
// layer beat counter and the sticky error.
//
// Per clock cycle, like a Verilated model: outputs(in) is what the top shows between two edges (the
// readies depend on the inputs: cfg_ready on cfg_addr, the stream readies on y_ready and cfg_valid);
// tick(in) is the rising edge. After construction (and reset()) it is in the reset state.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "hw/mac_array_model.hpp"
#include "hw/num_unpacker_model.hpp"
#include "hw/tans_decoder_model.hpp"

namespace ws {

// Regions of cfg_addr[15:12]; the offset is cfg_addr[11:0].
enum WeightPipelineRegion : uint32_t {
  kWpRegValue = 0x0000,  // value decoder table entry j (j < 2^value_table_log), DecodeEntry::pack()
  kWpRegMeta = 0x1000,   // metadata decoder table entry j (j < 2^meta_table_log)
  kWpRegUnp = 0x2000,    // unpacker: 0..255 Format::config_words(), 256 mode (0 = float)
  kWpRegMac = 0x3000,    // MAC array: 0 CTRL (mac_ctrl_word), MaxK + j perm[j]
  kWpRegTop = 0x4000,    // top: 0 LAYER_BEATS (beats of the layer: rows * K8 / 8)
};
constexpr uint32_t kWpLayerBeatsAddr = kWpRegTop | 0;

// err_cause = block << 3 | the block's own cause code.
enum WeightPipelineBlock : uint8_t {
  kWpBlkNone = 0,
  kWpBlkTop = 1,
  kWpBlkValueDec = 2,  // TansDecoderError
  kWpBlkMetaDec = 3,   // TansDecoderError
  kWpBlkUnpacker = 4,  // NumUnpackerError
  kWpBlkMac = 5,       // MacArrayError
};
enum WeightPipelineTopError : uint8_t {
  kWpErrNone = 0,
  kWpErrValuePartial = 1,  // a value beat with fewer than 4 numbers (partial or empty beat)
  kWpErrMetaPartial = 2,   // a metadata beat with fewer than 2 nibbles
  kWpErrChunkEnds = 3,     // value and metadata chunks end on different beats
  kWpErrLayerEnd = 4,      // the layer's last beat is not the last beat of its chunks
  kWpErrMetaSymbol = 5,    // a metadata symbol above 15
  kWpErrConfig = 6,        // unknown configuration address, or LAYER_BEATS 0 or too large
};
const char* weight_pipeline_block_name(uint8_t block);
// "value decoder: stream ends early" etc. for a 6-bit err_cause.
std::string weight_pipeline_error_text(uint8_t err_cause);

struct WeightPipelineParams {
  int max_k = 256;            // MaxK
  int value_table_log = 12;   // ValueTableLog
  int meta_table_log = 8;     // MetaTableLog
  int count_bits = 32;        // CountBits
  int beat_bits = 24;         // BeatBits
  int k_bits() const;         // $clog2(MaxK)
  void check() const;         // throws std::invalid_argument
  TansDecoderParams value_dec() const;
  TansDecoderParams meta_dec() const;
  MacArrayParams mac() const;
};

struct WeightPipelineInputs {
  bool cfg_valid = false;
  uint32_t cfg_addr = 0;  // 16 bits
  uint32_t cfg_data = 0;
  bool vdesc_valid = false;
  TansDescriptor vdesc;
  bool vword_valid = false;
  uint32_t vword_data = 0;
  bool vword_last = false;
  bool raw_valid = false;
  uint32_t raw_data = 0;
  bool raw_last = false;
  bool mdesc_valid = false;
  TansDescriptor mdesc;
  bool mword_valid = false;
  uint32_t mword_data = 0;
  bool mword_last = false;
  bool act_valid = false;
  uint16_t act_data = 0;
  bool act_last = false;
  bool y_ready = false;
  bool err_clear = false;  // clears the sticky error of the top and of every block at once
};

struct WeightPipelineOutputs {
  bool cfg_ready = false;
  bool vdesc_ready = false, vword_ready = false, raw_ready = false;
  bool mdesc_ready = false, mword_ready = false;
  bool act_ready = false;
  bool y_valid = false;
  uint32_t y_data = 0;
  bool y_last = false;
  bool err = false;
  uint8_t err_cause = 0;  // block << 3 | cause
};

// Internal signals of one cycle, exposed for benches and waveform-style debugging.
struct WeightPipelineProbe {
  bool w_valid = false, w_ready = false, w_last = false;
  uint32_t beat = 0;        // beat counter
  bool x_loaded = false;
  bool open = false;        // a layer is open (LAYER_BEATS written, its last beat not yet taken)
};

class WeightPipelineModel {
 public:
  explicit WeightPipelineModel(const WeightPipelineParams& p = {});
  void reset();
  WeightPipelineOutputs outputs(const WeightPipelineInputs& in);
  void tick(const WeightPipelineInputs& in);
  const WeightPipelineParams& params() const { return p_; }
  WeightPipelineProbe probe() const { return probe_; }

 private:
  struct Comb;
  void compute(const WeightPipelineInputs& in, Comb& c);

  WeightPipelineParams p_;
  TansDecoderModel vdec_, mdec_;
  NumUnpackerModel unp_;
  MacArrayModel mac_;
  bool x_loaded_ = false;
  bool open_ = false;
  uint32_t layer_beats_ = 1, beat_ = 0;
  StickyError err_;
  WeightPipelineProbe probe_;
};

}  // namespace ws
