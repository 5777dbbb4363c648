// Cycle-accurate model of rtl/ws_weight_pipeline.sv: the three blocks' cycle models composed as the
// RTL wires them, with the top's glue in the RTL's order (valids first, readies from the output back).
#include "hw/weight_pipeline_model.hpp"

#include <stdexcept>

namespace ws {

const char* weight_pipeline_block_name(uint8_t block) {
  switch (block) {
    case kWpBlkNone: return "none";
    case kWpBlkTop: return "top";
    case kWpBlkValueDec: return "value decoder";
    case kWpBlkMetaDec: return "metadata decoder";
    case kWpBlkUnpacker: return "number unpacker";
    case kWpBlkMac: return "MAC array";
  }
  return "unknown block";
}

std::string weight_pipeline_error_text(uint8_t err_cause) {
  const uint8_t blk = err_cause >> 3, c = err_cause & 7;
  std::string what;
  switch (blk) {
    case kWpBlkNone: return "none";
    case kWpBlkTop: {
      static const char* const t[] = {"none", "partial value beat", "partial metadata beat",
                                      "value and metadata chunks end on different beats",
                                      "layer ends inside a chunk", "metadata symbol above 15",
                                      "bad configuration write", "?"};
      what = t[c];
      break;
    }
    case kWpBlkValueDec:
    case kWpBlkMetaDec: what = tans_decoder_error_name(TansDecoderError(c)); break;
    case kWpBlkUnpacker: {
      static const char* const t[] = {"none", "raw stream runs out", "unknown symbol", "raw bits left over",
                                      "bad configuration", "?", "?", "?"};
      what = t[c];
      break;
    }
    case kWpBlkMac: {
      static const char* const t[] = {"none", "bad metadata nibble", "w_last inside a row", "bad configuration",
                                      "activation overflow", "?", "?", "?"};
      what = t[c];
      break;
    }
    default: what = "?";
  }
  return std::string(weight_pipeline_block_name(blk)) + ": " + what + " (" + std::to_string(blk) + "." +
         std::to_string(c) + ")";
}

int WeightPipelineParams::k_bits() const {
  int n = 0;
  while ((1 << n) < max_k) ++n;
  return n;
}

void WeightPipelineParams::check() const {
  if (max_k < 16 || max_k > 2048 || (max_k & (max_k - 1)) != 0)
    throw std::invalid_argument("WeightPipelineParams: max_k must be a power of two in 16..2048");
  if (value_table_log < 5 || value_table_log > 12 || meta_table_log < 5 || meta_table_log > 12)
    throw std::invalid_argument("WeightPipelineParams: table logs must be 5..12");
  if (beat_bits < 1 || beat_bits > 31) throw std::invalid_argument("WeightPipelineParams: beat_bits must be 1..31");
}

TansDecoderParams WeightPipelineParams::value_dec() const {
  TansDecoderParams d;
  d.lanes = 4;
  d.max_table_log = value_table_log;
  d.count_bits = count_bits;
  return d;
}

TansDecoderParams WeightPipelineParams::meta_dec() const {
  TansDecoderParams d;
  d.lanes = 2;
  d.max_table_log = meta_table_log;
  d.count_bits = count_bits;
  return d;
}

MacArrayParams WeightPipelineParams::mac() const {
  MacArrayParams m;
  m.kind = MacArrayKind::Sparse;
  m.rows = 1;
  m.groups_per_cycle = 2;
  m.max_k = max_k;
  return m;
}

WeightPipelineModel::WeightPipelineModel(const WeightPipelineParams& p)
    : p_((p.check(), p)), vdec_(p.value_dec()), mdec_(p.meta_dec()), unp_(4), mac_(p.mac()) {
  reset();
}

void WeightPipelineModel::reset() {
  for (TansDecoderModel* d : {&vdec_, &mdec_}) {
    d->rst_n = false;
    d->tick();
    d->rst_n = true;
  }
  unp_.reset();
  mac_.reset();
  x_loaded_ = false;
  open_ = false;
  layer_beats_ = 1;
  beat_ = 0;
  err_.reset();
}

struct WeightPipelineModel::Comb {
  bool sel_v = false, sel_m = false, sel_u = false, sel_a = false, sel_t = false;
  bool top_cfg_fire = false, cfg_bad = false;
  uint32_t offset = 0;
  NumUnpackerInputs ui;
  NumUnpackerOutputs uo;
  MacArrayInputs ai;
  MacArrayOutputs ao;
  bool w_fire = false, w_last = false, act_fire = false;
  uint8_t ev = kWpErrNone;
  WeightPipelineOutputs o;
};

void WeightPipelineModel::compute(const WeightPipelineInputs& in, Comb& c) {
  const uint32_t region = (in.cfg_addr >> 12) & 0xf;
  c.offset = in.cfg_addr & 0xfff;
  const int kw = p_.k_bits();
  c.sel_v = region == 0 && (c.offset >> p_.value_table_log) == 0;
  c.sel_m = region == 1 && (c.offset >> p_.meta_table_log) == 0;
  c.sel_u = region == 2 && c.offset <= 256;
  c.sel_a = region == 3 && (c.offset >> (kw + 1)) == 0;
  c.sel_t = region == 4 && c.offset == 0;
  c.top_cfg_fire = in.cfg_valid && !c.sel_v && !c.sel_m && !c.sel_u && !c.sel_a && !(c.sel_t && open_);
  c.cfg_bad = c.top_cfg_fire && (!c.sel_t || in.cfg_data == 0 || (uint64_t(in.cfg_data) >> p_.beat_bits) != 0);

  // Valids (all registered in the blocks), with the readies not yet known.
  c.ao = mac_.outputs(in.y_ready);  // w_ready depends on y_ready only
  for (int pass = 0; pass < 2; ++pass) {
    // pass 0: the decoders' outputs (registered); pass 1: the same inputs with the final out_ready.
    vdec_.cfg_valid = in.cfg_valid && c.sel_v;
    vdec_.cfg_addr = c.offset & ((1u << p_.value_table_log) - 1);
    vdec_.cfg_data = in.cfg_data & 0xffffff;
    vdec_.desc_valid = in.vdesc_valid;
    vdec_.desc = in.vdesc;
    vdec_.in_valid = in.vword_valid;
    vdec_.in_data = in.vword_data;
    vdec_.in_last = in.vword_last;
    vdec_.err_clear = in.err_clear;
    mdec_.cfg_valid = in.cfg_valid && c.sel_m;
    mdec_.cfg_addr = c.offset & ((1u << p_.meta_table_log) - 1);
    mdec_.cfg_data = in.cfg_data & 0xffffff;
    mdec_.desc_valid = in.mdesc_valid;
    mdec_.desc = in.mdesc;
    mdec_.in_valid = in.mword_valid;
    mdec_.in_data = in.mword_data;
    mdec_.in_last = in.mword_last;
    mdec_.err_clear = in.err_clear;
    if (pass == 0) {
      vdec_.out_ready = false;
      mdec_.out_ready = false;
      vdec_.eval();
      mdec_.eval();
      c.ui.cfg_valid = in.cfg_valid && c.sel_u;
      c.ui.cfg_addr = c.offset & 0x1ff;
      c.ui.cfg_data = in.cfg_data & 0x1fffff;
      c.ui.sym_valid = vdec_.out_valid;
      c.ui.sym = vdec_.out_data;
      c.ui.sym_count = vdec_.out_count;
      c.ui.sym_last = vdec_.out_last;
      c.ui.raw_valid = in.raw_valid;
      c.ui.raw_data = in.raw_data;
      c.ui.raw_last = in.raw_last;
      c.ui.out_ready = false;
      c.ui.err_clear = in.err_clear;
      c.uo = unp_.outputs(c.ui);
      continue;
    }
    // The join: readies from the MAC array back.
    const bool u_valid = c.uo.out_valid, m_valid = mdec_.out_valid;
    const bool w_valid = u_valid && m_valid && x_loaded_ && !err_.err;
    c.ui.out_ready = err_.err || (c.ao.w_ready && x_loaded_ && m_valid);
    const bool m_ready = err_.err || (c.ao.w_ready && x_loaded_ && u_valid);
    c.uo = unp_.outputs(c.ui);
    vdec_.out_ready = c.uo.sym_ready;
    mdec_.out_ready = m_ready;
    vdec_.eval();
    mdec_.eval();
    c.w_fire = w_valid && c.ao.w_ready;
    c.w_last = beat_ == ((layer_beats_ - 1) & ((1u << p_.beat_bits) - 1));

    c.ai.cfg_valid = in.cfg_valid && c.sel_a && !open_;
    c.ai.cfg_addr = c.offset & ((2u << kw) - 1);
    c.ai.cfg_data = in.cfg_data;
    c.ai.act_valid = in.act_valid && !x_loaded_;
    c.ai.act_data = in.act_data;
    c.ai.act_last = in.act_last;
    c.ai.w_valid = w_valid;
    c.ai.w_data.assign(3, 0);
    const auto& u = c.uo.out_data;
    const auto& m = mdec_.out_data;
    bits_put(c.ai.w_data, 0, 16, u[0] >> 16);
    bits_put(c.ai.w_data, 16, 16, u[1] >> 16);
    bits_put(c.ai.w_data, 32, 4, m[0] & 0xf);
    bits_put(c.ai.w_data, 36, 16, u[2] >> 16);
    bits_put(c.ai.w_data, 52, 16, u[3] >> 16);
    bits_put(c.ai.w_data, 68, 4, m[1] & 0xf);
    c.ai.w_last = c.w_last;
    c.ai.out_ready = in.y_ready;
    c.ai.err_clear = in.err_clear;

    const bool act_ready = c.ao.act_ready && !x_loaded_;
    c.act_fire = in.act_valid && act_ready;

    c.ev = kWpErrNone;
    if (c.w_fire) {
      if (c.uo.out_count != 4) c.ev = kWpErrValuePartial;
      else if (mdec_.out_count != 2) c.ev = kWpErrMetaPartial;
      else if (c.uo.out_last != mdec_.out_last) c.ev = kWpErrChunkEnds;
      else if (c.w_last && !c.uo.out_last) c.ev = kWpErrLayerEnd;
      else if ((m[0] >> 4) != 0 || (m[1] >> 4) != 0) c.ev = kWpErrMetaSymbol;
    }
    if (c.ev == kWpErrNone && c.cfg_bad) c.ev = kWpErrConfig;

    WeightPipelineOutputs& o = c.o;
    o.cfg_ready = true;
    if (c.sel_v) o.cfg_ready = vdec_.cfg_ready;
    if (c.sel_m) o.cfg_ready = mdec_.cfg_ready;
    if (c.sel_u) o.cfg_ready = c.uo.cfg_ready;
    if (c.sel_a) o.cfg_ready = c.ao.cfg_ready && !open_;
    if (c.sel_t) o.cfg_ready = !open_;
    o.vdesc_ready = vdec_.desc_ready;
    o.vword_ready = vdec_.in_ready;
    o.raw_ready = c.uo.raw_ready;
    o.mdesc_ready = mdec_.desc_ready;
    o.mword_ready = mdec_.in_ready;
    o.act_ready = act_ready;
    o.y_valid = c.ao.out_valid;
    o.y_data = c.ao.out_data.empty() ? 0 : c.ao.out_data[0];
    o.y_last = c.ao.out_last;
    o.err = err_.err;
    o.err_cause = err_.cause;
    probe_.w_valid = w_valid;
    probe_.w_ready = c.ao.w_ready;
    probe_.w_last = c.w_last;
    probe_.beat = beat_;
    probe_.x_loaded = x_loaded_;
    probe_.open = open_;
  }
}

WeightPipelineOutputs WeightPipelineModel::outputs(const WeightPipelineInputs& in) {
  Comb c;
  compute(in, c);
  return c.o;
}

void WeightPipelineModel::tick(const WeightPipelineInputs& in) {
  Comb c;
  compute(in, c);
  // The top's registers see the blocks' outputs before the edge.
  const bool v_err = vdec_.err, m_err = mdec_.err, u_err = c.uo.err, a_err = c.ao.err;
  const uint8_t v_c = uint8_t(vdec_.err_cause), m_c = uint8_t(mdec_.err_cause), u_c = c.uo.err_cause,
                a_c = c.ao.err_cause;
  if (c.act_fire && in.act_last) x_loaded_ = true;
  else if (c.w_fire && c.w_last) x_loaded_ = false;
  if (c.top_cfg_fire && c.sel_t && !c.cfg_bad) layer_beats_ = in.cfg_data & ((1u << p_.beat_bits) - 1);
  if (c.top_cfg_fire && c.sel_t && !c.cfg_bad) open_ = true;
  else if (c.w_fire && c.w_last) open_ = false;
  if (c.w_fire) beat_ = c.w_last ? 0 : (beat_ + 1) & ((1u << p_.beat_bits) - 1);
  // The first error since reset or clear, blocks in stream order; on the clearing cycle the blocks'
  // registered flags still show what is being cleared, so only the top's own new cause counts.
  uint8_t cause = 0;
  if (!in.err_clear && v_err) cause = uint8_t(kWpBlkValueDec << 3 | v_c);
  else if (!in.err_clear && m_err) cause = uint8_t(kWpBlkMetaDec << 3 | m_c);
  else if (!in.err_clear && u_err) cause = uint8_t(kWpBlkUnpacker << 3 | u_c);
  else if (!in.err_clear && a_err) cause = uint8_t(kWpBlkMac << 3 | a_c);
  else if (c.ev != kWpErrNone) cause = uint8_t(kWpBlkTop << 3 | c.ev);
  err_.tick(in.err_clear, cause);
  vdec_.tick();
  mdec_.tick();
  unp_.tick(c.ui);
  mac_.tick(c.ai);
}

}  // namespace ws
