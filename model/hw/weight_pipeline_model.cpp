// Cycle-accurate model of rtl/ws_weight_pipeline.sv: the three blocks' cycle models composed as the
// RTL wires them, with the top's glue in the RTL's order (valids first, readies from the output back),
// and the top's register slices (value, metadata and unpacker beats, MAC beats) as SkidBufferModels.
#include "hw/weight_pipeline_model.hpp"

#include <stdexcept>
#include <string>

namespace ws {

int WeightPipelineParams::k_bits() const {
  int n = 0;
  while ((1 << n) < max_k) ++n;
  return n;
}

void WeightPipelineParams::check() const {
  if (max_k < 16 || max_k > 4096 || (max_k & (max_k - 1)) != 0)
    throw std::invalid_argument("WeightPipelineParams: max_k must be a power of two in 16..4096");
  auto log_ok = [](int l) { return l >= pkg::TANS_MIN_TABLE_LOG && l <= pkg::TANS_MAX_TABLE_LOG; };
  if (!log_ok(value_table_log) || !log_ok(meta_table_log))
    throw std::invalid_argument("WeightPipelineParams: table logs must be 5..12");
  if (beat_bits < 1 || beat_bits > 31) throw std::invalid_argument("WeightPipelineParams: beat_bits must be 1..31");
  if (meta_lanes < 1 || meta_lanes > kWpMaxMetaLanes || (meta_lanes & (meta_lanes - 1)) != 0 ||
      value_lanes != 2 * meta_lanes)
    throw std::invalid_argument("WeightPipelineParams: lanes must be metadata 1, 2 or 4 and value 2 x metadata (value " +
                                std::to_string(value_lanes) + ", metadata " + std::to_string(meta_lanes) + ")");
}

TansDecoderParams WeightPipelineParams::value_dec() const {
  TansDecoderParams d;
  d.lanes = value_lanes;
  d.max_table_log = value_table_log;
  d.count_bits = count_bits;
  return d;
}

TansDecoderParams WeightPipelineParams::meta_dec() const {
  TansDecoderParams d;
  d.lanes = meta_lanes;
  d.max_table_log = meta_table_log;
  d.count_bits = count_bits;
  return d;
}

MacArrayParams WeightPipelineParams::mac() const {
  MacArrayParams m;
  m.kind = MacArrayKind::Sparse;
  m.rows = 1;
  m.groups_per_cycle = meta_lanes;
  m.max_k = max_k;
  return m;
}

static std::variant<Bf16UnpackerModel, NumUnpackerModel> make_unpacker(const WeightPipelineParams& p) {
  if (p.bf16_unpacker) return Bf16UnpackerModel(p.value_lanes);
  return NumUnpackerModel(p.value_lanes);
}

WeightPipelineModel::WeightPipelineModel(const WeightPipelineParams& p)
    : p_((p.check(), p)), vdec_(p.value_dec()), mdec_(p.meta_dec()), unp_(make_unpacker(p)), mac_(p.mac()) {
  reset();
  eval();
}

void WeightPipelineModel::reset() {
  for (TansDecoderModel* d : {&vdec_, &mdec_}) {
    d->in = TansDecoderInputs{};  // the top's idle inputs, as on the driver's reset cycle
    d->in.rst_n = false;
    d->tick();
    d->in.rst_n = true;
  }
  unp().reset();
  mac_.reset();
  cfg_slice_.reset();
  for (auto& t : cfg_target_) t.reset();
  v_pend_ = {0, 0};
  m_pend_ = {0, 0};
  v_slice_.reset();
  m_slice_.reset();
  u_slice_.reset();
  w_slice_.reset();
  layers_ = loaded_ = 0;
  sent_ = held_ = retire_ = false;
  dense_ = dense_next_ = dense_new_ = false;
  last_beat_ = last_beat_next_ = 0;
  beat_ = 0;
  v_rel_ = m_rel_ = false;
  cfg_err_ = false;
  pair_err_ = pkg::WP_ERR_NONE;
  err_.reset();
}

struct WeightPipelineModel::Comb {
  std::array<bool, 5> sel{};       // the shared slice's write goes to target slice t (kCfgV .. kCfgT)
  std::array<bool, 5> t_in_valid{};  // ... and is offered to it (the other targets' slices are empty)
  std::array<bool, 5> t_out_ready{};  // target slice t's write is taken by its block
  bool v_hold = false, m_hold = false;  // a decoder's descriptor waits for a table write on its way
  bool v_pass = false, m_pass = false, v_ready = false, m_ready = false;  // decoder outputs to the blocks
  bool u_ready = false;  // the join takes u_u_slice's beat
  bool cfg_out_ready = false;  // the shared slice's write is taken by its target's slice
  bool mac_cfg_ok = false, top_cfg_ok = false;  // MAC writes, the top's registers may go
  bool x_loaded = false, act_open = false;  // the head's activations are in; an open layer waits for its own
  bool top_cfg_fire = false, cfg_bad = false;
  NumUnpackerInputs ui;
  NumUnpackerOutputs uo;
  bool w_valid = false, w_fire = false, w_last = false, act_fire = false;
  bool mac_w_fire = false;  // the MAC array takes a beat from the slice
  MacBeat w_beat;
  pkg::wp_err_e ev = pkg::WP_ERR_NONE;
};

// The address decode at the port, before u_cfg_slice (the RTL's select bits).
WeightPipelineModel::CfgSlot WeightPipelineModel::decode_cfg() const {
  CfgSlot w;
  const uint32_t region = in.cfg_addr >> pkg::WP_CFG_OFFSET_BITS & ((1u << pkg::wp_cfg_region_e_bits) - 1);
  const uint32_t offset = in.cfg_addr & ((1u << pkg::WP_CFG_OFFSET_BITS) - 1);
  const int kw = p_.k_bits();
  w.bank_v = region == pkg::WP_CFG_VALUE_TABLE1;
  w.bank_m = region == pkg::WP_CFG_META_TABLE1;
  w.sel_v = (region == pkg::WP_CFG_VALUE_TABLE || w.bank_v) && (offset >> p_.value_table_log) == 0;
  w.sel_m = (region == pkg::WP_CFG_META_TABLE || w.bank_m) && (offset >> p_.meta_table_log) == 0;
  w.sel_u = region == pkg::WP_CFG_UNPACKER && offset <= uint32_t(pkg::UNP_CFG_MODE);
  w.sel_a = region == pkg::WP_CFG_MAC && (offset >> (kw + 1)) == 0;
  w.sel_beats = region == pkg::WP_CFG_TOP && offset == uint32_t(pkg::WP_TOP_LAYER_BEATS);
  w.sel_dense = region == pkg::WP_CFG_TOP && offset == uint32_t(pkg::WP_TOP_LAYER_DENSE);
  w.unknown = !w.sel_v && !w.sel_m && !w.sel_u && !w.sel_a && !w.sel_beats && !w.sel_dense;
  w.data_bad = w.sel_beats ? in.cfg_data == 0 || (uint64_t(in.cfg_data) >> p_.beat_bits) != 0
                           : w.sel_dense && in.cfg_data > 1;
  w.offset = offset;
  w.data = in.cfg_data;
  return w;
}

WeightPipelineModel::UnpBeat WeightPipelineModel::unp_beat(const NumUnpackerOutputs& o) const {
  UnpBeat b;
  for (int l = 0; l < p_.value_lanes; ++l) b.bf16[size_t(l)] = uint16_t(o.out_data[size_t(l)] >> 16);
  b.partial = o.out_count != p_.value_lanes;
  b.last = o.out_last;
  return b;
}

void WeightPipelineModel::compute(Comb& c) {
  // The configuration write leaves the shared slice (decoded a cycle earlier at the port) into its
  // target's slice while the other targets' slices are empty; each block sees its own slice's write.
  const CfgSlot& cs = cfg_slice_.out();
  c.sel = {cs.sel_v, cs.sel_m, cs.sel_u, cs.sel_a, cs.sel_beats || cs.sel_dense || cs.unknown};
  bool t_free = true, room = false;
  for (int t = 0; t < kCfgTargets; ++t) {
    if (!c.sel[size_t(t)] && cfg_target_[size_t(t)].out_valid()) t_free = false;
    if (c.sel[size_t(t)] && cfg_target_[size_t(t)].in_ready()) room = true;
  }
  c.cfg_out_ready = room && t_free;
  for (int t = 0; t < kCfgTargets; ++t) c.t_in_valid[size_t(t)] = cfg_slice_.out_valid() && t_free && c.sel[size_t(t)];
  const SkidBufferModel<CfgSlot>&tv = cfg_target_[kCfgV], &tm = cfg_target_[kCfgM], &tu = cfg_target_[kCfgU],
                               &ta = cfg_target_[kCfgA], &tt = cfg_target_[kCfgT];
  const CfgSlot& tw = tt.out();
  c.v_hold = v_pend_[in.vdesc.bank ? 1 : 0] != 0;
  c.m_hold = m_pend_[in.mdesc.bank ? 1 : 0] != 0;
  const int kw = p_.k_bits();
  // The next layer's MAC writes wait until every open layer's activations are in; the top's
  // registers while two layers are open (unknown addresses: taken at once).
  c.mac_cfg_ok = loaded_ == layers_;
  c.top_cfg_ok = layers_ != 2;
  c.x_loaded = loaded_ != 0;
  c.act_open = loaded_ != layers_;
  c.t_out_ready[kCfgT] = tw.unknown || c.top_cfg_ok;
  c.top_cfg_fire = tt.out_valid() && c.t_out_ready[kCfgT];
  c.cfg_bad = c.top_cfg_fire && (tw.unknown || tw.data_bad);

  // Valids (all registered in the blocks), with the readies not yet known. The MAC array's readies
  // depend on its cfg_valid (act_ready) and w_last (w_ready), both known here; its weight beat is
  // the slice's, a register.
  c.w_last = beat_ == last_beat_;
  MacArrayInputs& ai = mac_.in;
  const MacArrayOutputs& ao = mac_.out;
  ai.cfg_valid = ta.out_valid() && c.mac_cfg_ok;
  ai.w_valid = w_slice_.out_valid();
  ai.w_data = w_slice_.out().data;
  if (ai.w_data.empty()) ai.w_data.assign(size_t((p_.meta_lanes * pkg::sparse_group_t::BITS + 31) / 32), 0);
  ai.w_last = w_slice_.out().last;
  mac_.eval();
  const uint32_t table_entry_mask = uint32_t(pkg::tans_entry_t::next_base.put(~0ull) | pkg::tans_entry_t::nb_bits.put(~0ull) |
                                             pkg::tans_entry_t::symbol.put(~0ull));
  auto decoder_inputs = [&](TansDecoderModel& d, const SkidBufferModel<CfgSlot>& ts, bool bank, int table_log,
                            bool desc_valid, const TansDescriptor& desc, const auto& unit_valid,
                            const auto& unit_data, const auto& unit_last) {
    d.in.cfg_valid = ts.out_valid();
    d.in.cfg_bank = bank;
    d.in.cfg_addr = ts.out().offset & ((1u << table_log) - 1);
    d.in.cfg_data = ts.out().data & table_entry_mask;
    d.in.desc_valid = desc_valid;
    d.in.desc = desc;
    for (size_t s = 0; s < unit_valid.size(); ++s) {
      d.in.in_valid[s] = unit_valid[s];
      d.in.in_data[s] = unit_data[s];
      d.in.in_last[s] = unit_last[s];
    }
    d.in.err_clear = in.err_clear;
  };
  for (int pass = 0; pass < 2; ++pass) {
    // pass 0: the decoders' outputs (registered); pass 1: the same inputs with the final out_ready.
    decoder_inputs(vdec_, tv, tv.out().bank_v, p_.value_table_log, in.vdesc_valid && !c.v_hold, in.vdesc,
                   in.vunit_valid, in.vunit_data, in.vunit_last);
    decoder_inputs(mdec_, tm, tm.out().bank_m, p_.meta_table_log, in.mdesc_valid && !c.m_hold, in.mdesc,
                   in.munit_valid, in.munit_data, in.munit_last);
    if (pass == 0) {
      vdec_.in.out_ready = false;
      mdec_.in.out_ready = false;
      vdec_.eval();
      mdec_.eval();
      // A decoder's empty (abort) beat waits at its output until the cycle after its error flag (or
      // the top's) is seen up (v_rel_q, m_rel_q).
      const DecBeat& vb = v_slice_.out();
      c.v_pass = vb.count != 0 || v_rel_;
      c.m_pass = m_slice_.out().count != 0 || m_rel_;
      c.ui.cfg_valid = tu.out_valid();
      c.ui.cfg_addr = tu.out().offset & ((1u << pkg::UNP_CFG_ADDR_BITS) - 1);
      c.ui.cfg_data = tu.out().data & ((1u << pkg::UNP_ENTRY_BITS) - 1);
      c.ui.sym_valid = v_slice_.out_valid() && c.v_pass;
      c.ui.sym = vb.data;
      c.ui.sym_count = vb.count;
      c.ui.sym_last = vb.last;
      c.ui.raw_valid = in.raw_valid;
      c.ui.raw_data = in.raw_data;
      c.ui.raw_last = in.raw_last;
      // ws_num_unpacker: a register, the join's ready ends at u_u_slice; ws_bf16_unpacker: the join's
      // ready (below), which its output slice's outputs do not depend on
      c.ui.out_ready = !p_.bf16_unpacker && u_slice_.in_ready();
      c.ui.err_clear = in.err_clear;
      unp().in = c.ui;
      unp().eval();
      c.uo = unp().out;
      continue;
    }
    // The join of the unpacker's and the metadata slices' beats: its ready is the MAC slice's (a
    // register). A dense layer: no metadata beat, the nibbles are implied.
    const TansDecoderOutputs& md = mdec_.out;
    const DecBeat& mb = m_slice_.out();
    const UnpBeat ub = p_.bf16_unpacker ? unp_beat(c.uo) : u_slice_.out();
    const bool w_ready = w_slice_.in_ready(), gate = c.x_loaded && !sent_;
    const bool u_valid = p_.bf16_unpacker ? c.uo.out_valid : u_slice_.out_valid();
    const bool m_valid = m_slice_.out_valid() && c.m_pass;
    const bool drain = err_.err && !held_;  // an offered beat stays offered after an error
    c.w_valid = u_valid && (dense_ || m_valid) && gate && (!err_.err || held_);
    c.u_ready = drain || (w_ready && gate && (dense_ || m_valid));
    c.m_ready = drain || (!dense_ && c.m_pass && w_ready && gate && u_valid);
    if (p_.bf16_unpacker) c.ui.out_ready = c.u_ready;
    unp().in = c.ui;
    unp().eval();
    c.uo = unp().out;
    c.v_ready = c.uo.sym_ready && c.v_pass;
    vdec_.in.out_ready = v_slice_.in_ready();
    mdec_.in.out_ready = m_slice_.in_ready();
    vdec_.eval();
    mdec_.eval();
    c.w_fire = c.w_valid && w_ready;
    c.mac_w_fire = ai.w_valid && ao.w_ready;

    ai.cfg_addr = ta.out().offset & ((2u << kw) - 1);
    ai.cfg_data = ta.out().data;
    ai.act_valid = in.act_valid && c.act_open;
    ai.act_data = in.act_data;
    ai.act_last = in.act_last;
    // The join's weight beat (into the slice): group g (pkg::sparse_group_t) holds values 2g, 2g+1
    // (bf16: the unpacker's words' top halves) and nibble g.
    using Group = pkg::sparse_group_t;
    const int groups = p_.meta_lanes;
    c.w_beat.data.assign(size_t((groups * Group::BITS + 31) / 32), 0);
    c.w_beat.last = c.w_last;
    const auto& u = ub.bf16;
    const auto& m = mb.data;
    const uint32_t dense_nibble[2] = {uint32_t(pkg::WP_DENSE_NIBBLE0), uint32_t(pkg::WP_DENSE_NIBBLE1)};
    for (int g = 0; g < groups; ++g) {
      const int at = g * Group::BITS;
      bits_put(c.w_beat.data, at + Group::v0.lsb, Group::v0.bits, u[size_t(2 * g)]);
      bits_put(c.w_beat.data, at + Group::v1.lsb, Group::v1.bits, u[size_t(2 * g + 1)]);
      bits_put(c.w_beat.data, at + Group::meta.lsb, Group::meta.bits,
               dense_ ? dense_nibble[g % 2] : uint32_t(m[size_t(g)] & Group::meta.mask()));
    }
    ai.out_ready = in.y_ready;
    ai.err_clear = in.err_clear;
    mac_.eval();  // the readies stay; the inputs are complete for the edge

    const bool act_ready = ao.act_ready && c.act_open;  // after the layer's MAC writes
    c.act_fire = in.act_valid && act_ready;

    c.ev = pkg::WP_ERR_NONE;
    if (c.w_fire) {
      const auto meta_symbol_bad = [](uint8_t sym) { return (sym >> Group::meta.bits) != 0; };
      bool meta_high = false;
      for (int g = 0; g < groups; ++g) meta_high = meta_high || meta_symbol_bad(m[size_t(g)]);
      if (ub.partial) c.ev = pkg::WP_ERR_VALUE_PARTIAL;
      else if (!dense_ && mb.count != p_.meta_lanes) c.ev = pkg::WP_ERR_META_PARTIAL;
      else if (!dense_ && ub.last != mb.last) c.ev = pkg::WP_ERR_CHUNK_ENDS;
      else if (c.w_last && !ub.last) c.ev = pkg::WP_ERR_LAYER_END;
      else if (!dense_ && meta_high) c.ev = pkg::WP_ERR_META_SYMBOL;
    }

    WeightPipelineOutputs& o = out;
    c.t_out_ready[kCfgV] = vdec_.out.cfg_ready;
    c.t_out_ready[kCfgM] = md.cfg_ready;
    c.t_out_ready[kCfgU] = c.uo.cfg_ready;
    c.t_out_ready[kCfgA] = ao.cfg_ready && c.mac_cfg_ok;
    o.cfg_ready = cfg_slice_.in_ready();
    o.vdesc_ready = vdec_.out.desc_ready && !c.v_hold;
    for (size_t s = 0; s < o.vunit_ready.size(); ++s) o.vunit_ready[s] = vdec_.out.in_ready[s];
    o.raw_ready = c.uo.raw_ready;
    o.mdesc_ready = md.desc_ready && !c.m_hold;
    for (size_t s = 0; s < o.munit_ready.size(); ++s) o.munit_ready[s] = md.in_ready[s];
    o.act_ready = act_ready;
    o.y_valid = ao.out_valid;
    o.y_data = ao.out_data.empty() ? 0 : ao.out_data[0];
    o.y_last = ao.out_last;
    o.err = err_.err;
    o.err_cause = err_.cause;
    probe_.w_valid = c.w_valid;
    probe_.w_ready = w_ready;
    probe_.w_last = c.w_last;
    probe_.beat = beat_;
    probe_.x_loaded = c.x_loaded;
    probe_.open = layers_;
    probe_.loaded = loaded_;
    probe_.dense = dense_;
  }
}

void WeightPipelineModel::eval() {
  if (!in.rst_n) reset();  // asynchronous reset
  Comb c;
  compute(c);
}

void WeightPipelineModel::tick() {
  if (!in.rst_n) {
    reset();
    eval();
    return;
  }
  Comb c;
  compute(c);
  const bool ao_w_ready = mac_.out.w_ready;
  // The top's registers see the blocks' outputs before the edge.
  const TansDecoderOutputs &vo = vdec_.out, &mo = mdec_.out;
  // The head closes a cycle after the MAC array takes its last beat from the slice (retire_q); a new
  // layer becomes the head if none is left, else the next one.
  const bool retire = retire_;
  retire_ = c.mac_w_fire && w_slice_.out().last;
  const CfgSlot& cw = cfg_target_[kCfgT].out();
  const bool push = c.top_cfg_fire && cw.sel_beats && !c.cfg_bad;
  const uint32_t beat_mask = (1u << p_.beat_bits) - 1;
  const int layers = layers_;
  layers_ += int(push) - int(retire);
  loaded_ += int(c.act_fire && in.act_last) - int(retire);
  if (c.w_fire && c.w_last) sent_ = true;
  else if (retire) sent_ = false;
  held_ = c.w_valid && !c.w_fire;
  if (retire) {
    dense_ = dense_next_;
    last_beat_ = last_beat_next_;
  }
  if (push && (layers == 0 || (layers == 1 && retire))) {
    dense_ = dense_new_;
    last_beat_ = (cw.data - 1) & beat_mask;
  } else if (push) {
    dense_next_ = dense_new_;
    last_beat_next_ = (cw.data - 1) & beat_mask;
  }
  if (c.top_cfg_fire && cw.sel_dense && !c.cfg_bad) dense_new_ = (cw.data & 1u) != 0;
  if (c.w_fire) beat_ = c.w_last ? 0 : (beat_ + 1) & beat_mask;
  v_rel_ = (!in.err_clear && (vo.err || err_.err)) ||
           (v_slice_.out_valid() && v_slice_.out().count == 0 && c.v_pass && !c.v_ready);
  m_rel_ = (!in.err_clear && (mo.err || err_.err)) ||
           (m_slice_.out_valid() && m_slice_.out().count == 0 && c.m_pass && !c.m_ready);
  // The first error since reset or clear, blocks in stream order; on the clearing cycle the blocks'
  // registered flags still show what is being cleared, so only the top's own new cause counts.
  auto cause_of = [](pkg::wp_block_e block, uint8_t cause) {
    return uint8_t(pkg::wp_cause_t::block.put(block) | pkg::wp_cause_t::cause.put(cause));
  };
  uint8_t cause = 0;
  if (!in.err_clear && vo.err) cause = cause_of(pkg::WP_BLK_VALUE_DEC, vo.err_cause);
  else if (!in.err_clear && mo.err) cause = cause_of(pkg::WP_BLK_META_DEC, mo.err_cause);
  else if (!in.err_clear && c.uo.err) cause = cause_of(pkg::WP_BLK_UNPACKER, c.uo.err_cause);
  else if (!in.err_clear && mac_.out.err) cause = cause_of(pkg::WP_BLK_MAC, mac_.out.err_cause);
  else if (pair_err_ != pkg::WP_ERR_NONE) cause = cause_of(pkg::WP_BLK_TOP, pair_err_);  // the pair a cycle before
  else if (cfg_err_) cause = cause_of(pkg::WP_BLK_TOP, pkg::WP_ERR_CONFIG);  // the write a cycle before
  err_.tick(in.err_clear, cause);
  pair_err_ = c.ev;
  cfg_err_ = c.cfg_bad;
  // Table writes on their way: taken at the port (decoded there), taken by the decoder.
  const CfgSlot port = decode_cfg();
  const bool port_fire = in.cfg_valid && cfg_slice_.in_ready();
  const SkidBufferModel<CfgSlot>&tv = cfg_target_[kCfgV], &tm = cfg_target_[kCfgM];
  for (int b = 0; b < 2; ++b) {
    v_pend_[size_t(b)] += int(port_fire && port.sel_v && port.bank_v == (b == 1)) -
                          int(tv.out_valid() && c.t_out_ready[kCfgV] && tv.out().bank_v == (b == 1));
    m_pend_[size_t(b)] += int(port_fire && port.sel_m && port.bank_m == (b == 1)) -
                          int(tm.out_valid() && c.t_out_ready[kCfgM] && tm.out().bank_m == (b == 1));
  }
  const CfgSlot shared = cfg_slice_.out();  // the targets' slices take it before the shared one moves on
  for (int t = 0; t < kCfgTargets; ++t) cfg_target_[size_t(t)].tick(c.t_in_valid[size_t(t)], shared, c.t_out_ready[size_t(t)]);
  cfg_slice_.tick(in.cfg_valid, port, c.cfg_out_ready);
  w_slice_.tick(c.w_valid, c.w_beat, ao_w_ready);
  if (!p_.bf16_unpacker) u_slice_.tick(c.uo.out_valid, unp_beat(c.uo), c.u_ready);
  v_slice_.tick(vo.out_valid, DecBeat{vo.out_data, vo.out_count, vo.out_last}, c.v_ready);
  m_slice_.tick(mo.out_valid, DecBeat{mo.out_data, mo.out_count, mo.out_last}, c.m_ready);
  vdec_.tick();
  mdec_.tick();
  unp().tick();
  mac_.tick();
  eval();
}

}  // namespace ws
