// Driver of ws_weight_pipeline (see driver.hpp): Verilated top + cycle model in lock step.
#include "driver.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>

#include "Vweight_pipeline.h"
#include "verilated.h"
#include "verilated_fst_c.h"
#include "codec/tans.hpp"
#include "core/bytes.hpp"
#include "numfmt/numfmt.hpp"

namespace wp {
namespace {

inline void set_bits(VlWide<3>& s, const std::vector<uint32_t>& w) {
  for (size_t i = 0; i < 3; ++i) s[i] = i < w.size() ? w[i] : 0;
}
inline void set_bits(VlWide<4>& s, const std::vector<uint32_t>& w) {
  for (size_t i = 0; i < 4; ++i) s[i] = i < w.size() ? w[i] : 0;
}
template <class T>
inline void set_bits(T& s, const std::vector<uint32_t>& w) {  // ports of up to 64 bits
  uint64_t v = w.empty() ? 0 : w[0];
  if (w.size() > 1) v |= uint64_t(w[1]) << 32;
  s = T(v);
}

std::vector<uint32_t> words_of(const uint8_t* p, size_t bytes) {
  if (bytes % 4 != 0) throw std::invalid_argument("wp::Driver: a stream is not whole 32-bit words");
  std::vector<uint32_t> w(bytes / 4);
  for (size_t i = 0; i < w.size(); ++i)
    w[i] = ws::load_le32(p + 4 * i);
  return w;
}

struct Word {
  uint32_t data = 0;
  bool last = false;
};
struct Cfg {
  uint32_t addr = 0, data = 0;
};
struct Desc {
  ws::TansDescriptor d;
  size_t after_cfg = 0;  // offered only once this many cfg writes have been taken
};
struct Act {
  uint16_t data = 0;
  bool last = false;
};

// One input stream: items in order, the one on the port held until it is taken (AXI-Stream rule).
template <class T>
struct Src {
  std::vector<T> items;
  size_t next = 0;
  bool valid = false;
  bool done() const { return next >= items.size(); }
  const T& cur() const { static const T none{}; return done() ? none : items[next]; }
};

}  // namespace

struct Driver::Impl {
  ws::WeightPipelineParams p;
  std::unique_ptr<VerilatedContext> ctx;
  std::unique_ptr<Vweight_pipeline> top;
  std::unique_ptr<VerilatedFstC> fst;
  ws::WeightPipelineModel model;
  uint64_t cyc = 0, time = 0;
  bool fmt_loaded = false;

  explicit Impl(const std::string& fst_path, const ws::WeightPipelineParams& params)
      : p(params), ctx(new VerilatedContext), model(params) {
    if (params.max_k != 256 || params.value_table_log != 12 || params.meta_table_log != 8 ||
        params.count_bits != 32 || params.beat_bits != 24)
      throw std::invalid_argument("wp::Driver: the Verilated top is built with the default parameters only");
    ctx->fatalOnError(false);  // assertion failures are counted and reported
    ctx->errorLimit(1 << 30);
    ctx->randReset(0);  // registers and memories without reset start at 0, as in the models
    if (!fst_path.empty()) ctx->traceEverOn(true);
    top.reset(new Vweight_pipeline{ctx.get()});
    if (!fst_path.empty()) {
      fst.reset(new VerilatedFstC);
      top->trace(fst.get(), 99);
      fst->open(fst_path.c_str());
    }
    do_reset();
  }
  ~Impl() {
    if (fst) fst->close();
    top->final();
  }

  void clock() {
    top->clk_i = 1;
    top->eval();
    if (fst) fst->dump(time * 10 + 5);
    top->clk_i = 0;
    top->eval();
    ++time;
    if (fst) fst->dump(time * 10);
  }

  void do_reset() {
    top->clk_i = 0;
    top->rst_ni = 0;
    top->cfg_valid_i = top->vdesc_valid_i = top->vword_valid_i = top->raw_valid_i = 0;
    top->mdesc_valid_i = top->mword_valid_i = top->act_valid_i = top->y_ready_i = 0;
    top->err_clear_i = 0;
    top->eval();
    clock();
    top->rst_ni = 1;
    top->eval();
    model.reset();
    fmt_loaded = false;
  }

  void drive(const ws::WeightPipelineInputs& in) {
    top->cfg_valid_i = in.cfg_valid;
    top->cfg_addr_i = uint16_t(in.cfg_addr);
    top->cfg_data_i = in.cfg_data;
    top->vdesc_valid_i = in.vdesc_valid;
    set_bits(top->vdesc_data_i, in.vdesc.pack(p.value_dec()));
    top->vword_valid_i = in.vword_valid;
    top->vword_data_i = in.vword_data;
    top->vword_last_i = in.vword_last;
    top->raw_valid_i = in.raw_valid;
    top->raw_data_i = in.raw_data;
    top->raw_last_i = in.raw_last;
    top->mdesc_valid_i = in.mdesc_valid;
    set_bits(top->mdesc_data_i, in.mdesc.pack(p.meta_dec()));
    top->mword_valid_i = in.mword_valid;
    top->mword_data_i = in.mword_data;
    top->mword_last_i = in.mword_last;
    top->act_valid_i = in.act_valid;
    top->act_data_i = in.act_data;
    top->act_last_i = in.act_last;
    top->y_ready_i = in.y_ready;
    top->err_clear_i = in.err_clear;
    top->eval();
  }

  ws::WeightPipelineOutputs rtl_outputs() const {
    ws::WeightPipelineOutputs o;
    o.cfg_ready = top->cfg_ready_o;
    o.vdesc_ready = top->vdesc_ready_o;
    o.vword_ready = top->vword_ready_o;
    o.raw_ready = top->raw_ready_o;
    o.mdesc_ready = top->mdesc_ready_o;
    o.mword_ready = top->mword_ready_o;
    o.act_ready = top->act_ready_o;
    o.y_valid = top->y_valid_o;
    o.y_data = top->y_data_o;
    o.y_last = top->y_last_o;
    o.err = top->err_o;
    o.err_cause = top->err_cause_o;
    return o;
  }
};

namespace {

// Compares every output; returns the number of differing signals, describing them in `why`.
int compare(const ws::WeightPipelineOutputs& r, const ws::WeightPipelineOutputs& m, std::string* why,
            uint64_t* compared) {
  int n = 0;
  std::ostringstream o;
  auto chk = [&](const char* name, uint64_t a, uint64_t b) {
    ++*compared;
    if (a != b) {
      ++n;
      o << " " << name << " rtl=" << std::hex << a << " model=" << b << std::dec;
    }
  };
  chk("cfg_ready", r.cfg_ready, m.cfg_ready);
  chk("vdesc_ready", r.vdesc_ready, m.vdesc_ready);
  chk("vword_ready", r.vword_ready, m.vword_ready);
  chk("raw_ready", r.raw_ready, m.raw_ready);
  chk("mdesc_ready", r.mdesc_ready, m.mdesc_ready);
  chk("mword_ready", r.mword_ready, m.mword_ready);
  chk("act_ready", r.act_ready, m.act_ready);
  chk("y_valid", r.y_valid, m.y_valid);
  if (r.y_valid && m.y_valid) {
    chk("y_data", r.y_data, m.y_data);
    chk("y_last", r.y_last, m.y_last);
  }
  chk("err", r.err, m.err);
  chk("err_cause", r.err_cause, m.err_cause);
  if (n && why) *why = o.str();
  return n;
}

}  // namespace

Driver::Driver(const std::string& fst_path, const ws::WeightPipelineParams& params)
    : impl_(new Impl(fst_path, params)) {}
Driver::~Driver() = default;
void Driver::reset() { impl_->do_reset(); }
const ws::WeightPipelineParams& Driver::params() const { return impl_->p; }
uint64_t Driver::cycle() const { return impl_->cyc; }

Result Driver::run(const std::vector<Layer>& layers, const Traffic& t) {
  Impl& I = *impl_;
  const ws::WeightPipelineParams& P = I.p;
  Src<Cfg> cfg;
  Src<Desc> vdesc, mdesc;
  Src<Word> vword, raw, mword;
  Src<Act> act;
  Result res;
  res.layers.resize(layers.size());
  std::vector<size_t> layer_cfg_start(layers.size());  // first cfg item of each layer

  if (!I.fmt_loaded) {
    const std::vector<uint32_t> fw = ws::numfmt::Format::builtin("bf16").config_words();
    for (size_t s = 0; s < fw.size(); ++s) cfg.items.push_back({ws::kWpRegUnp | uint32_t(s), fw[s]});
    cfg.items.push_back({ws::kWpRegUnp | ws::kNumCfgModeAddr, 0});  // float output
    I.fmt_loaded = true;
  }
  for (size_t li = 0; li < layers.size(); ++li) {
    const Layer& L = layers[li];
    if (L.rows <= 0 || L.k <= 0) throw std::invalid_argument("wp::Driver: empty layer");
    const int k8 = (L.k + 7) / 8 * 8;
    if (k8 > P.max_k) throw std::invalid_argument("wp::Driver: K8 exceeds MaxK");
    LayerResult& R = res.layers[li];
    R.beats = uint64_t(L.rows) * uint64_t(k8 / 8);
    R.kept = R.beats * 4;
    R.dense = R.beats * 8;
    layer_cfg_start[li] = cfg.items.size();
    for (const auto& w : L.cfg_before) cfg.items.push_back({w.first, w.second});
    // MAC array: CTRL, the permutation (padded channels map to themselves), then LAYER_BEATS.
    cfg.items.push_back({ws::kWpRegMac | 0u, ws::mac_ctrl_word(ws::MacMode::Bf16, k8 / 8)});
    for (int j = 0; j < k8; ++j) {
      const uint32_t pj = j < int(L.perm.size()) ? uint32_t(L.perm[size_t(j)]) : uint32_t(j);
      cfg.items.push_back({ws::kWpRegMac | uint32_t(P.max_k + j), pj});
    }
    cfg.items.push_back({ws::kWpLayerBeatsAddr, uint32_t(R.beats)});
    // Activations, padded with +0 to K8.
    for (int j = 0; j < k8; ++j)
      act.items.push_back({j < int(L.x.size()) ? L.x[size_t(j)] : uint16_t(0), j == k8 - 1});
    // Chunk tables in the order of the beat each chunk starts at (value first on a tie): a table
    // load waits for its decoder's previous chunk to end, which needs only beats of chunks before it.
    struct Ev {
      uint64_t start;
      int side;  // 0 value, 1 meta
      const ws::ChunkView* v;
    };
    std::vector<Ev> evs;
    uint64_t at = 0;
    for (const auto& v : L.values) {
      if (v.lanes != 4) throw std::invalid_argument("wp::Driver: value chunks must have 4 lanes");
      evs.push_back({at, 0, &v});
      at += v.value_count / 4;
    }
    at = 0;
    for (const auto& v : L.meta) {
      if (v.lanes != 2) throw std::invalid_argument("wp::Driver: metadata chunks must have 2 lanes");
      evs.push_back({at, 1, &v});
      at += v.value_count / 2;
    }
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) {
      return a.start != b.start ? a.start < b.start : a.side < b.side;
    });
    for (const Ev& e : evs) {
      const ws::ChunkView& v = *e.v;
      if (v.value_count == 0) continue;
      const uint32_t region = e.side == 0 ? ws::kWpRegValue : ws::kWpRegMeta;
      const std::vector<ws::tans::DecodeEntry> table = ws::tans::build_decode_table(v.counts);
      for (size_t j = 0; j < table.size(); ++j) cfg.items.push_back({region | uint32_t(j), table[j].pack()});
      Desc d;
      d.d.table_log = uint32_t(v.counts.table_log);
      d.d.no_stream = v.symbol_bytes == 0;
      d.d.count = v.value_count;
      for (int j = 0; j < 8; ++j) d.d.states[size_t(j)] = v.initial_states[size_t(j)];
      d.after_cfg = cfg.items.size();
      const std::vector<uint32_t> sw = words_of(v.symbol_stream, v.symbol_bytes);
      Src<Word>& words = e.side == 0 ? vword : mword;
      for (size_t i = 0; i < sw.size(); ++i) words.items.push_back({sw[i], i + 1 == sw.size()});
      (e.side == 0 ? vdesc : mdesc).items.push_back(d);
      if (e.side == 0) {
        const std::vector<uint32_t> rw = words_of(v.raw_stream, v.raw_bytes);
        for (size_t i = 0; i < rw.size(); ++i) raw.items.push_back({rw[i], i + 1 == rw.size()});
      }
    }
  }

  uint64_t total_items = cfg.items.size() + vword.items.size() + raw.items.size() + mword.items.size() +
                         act.items.size();
  for (const auto& R : res.layers) total_items += R.beats * 2;
  const double rate = std::max(0.05, std::min(t.valid_rate, 1.0) * std::min(t.ready_rate, 1.0));
  const uint64_t max_cycles = t.max_cycles ? t.max_cycles : uint64_t(20000 + 4.0 * double(total_items) / rate);

  const uint64_t errors_before = uint64_t(I.ctx->errorCount());
  std::mt19937_64 rng(t.seed);
  std::uniform_real_distribution<double> u01(0, 1);
  auto chance = [&](double p) { return p >= 1.0 || u01(rng) < p; };
  size_t y_layer = 0, y_row = 0, w_layer = 0;
  uint64_t w_in_layer = 0, last_transfer = I.cyc, start = I.cyc;
  std::vector<bool> started(layers.size(), false);
  if (!layers.empty()) {
    res.layers[0].start_cycle = I.cyc;
    started[0] = true;
  }

  auto offer = [&](auto& s, bool eligible) {
    if (!s.valid && !s.done() && eligible) s.valid = chance(t.valid_rate);
  };
  for (;;) {
    const bool all_in = cfg.done() && vdesc.done() && mdesc.done() && vword.done() && raw.done() &&
                        mword.done() && act.done();
    const bool complete = y_layer >= layers.size();
    if (complete && all_in) break;
    if (I.cyc - start >= max_cycles) {
      res.timed_out = !I.top->err_o;
      break;
    }
    if (I.top->err_o && I.cyc - last_transfer >= t.quiet_cycles) break;

    offer(cfg, true);
    offer(vdesc, cfg.next >= vdesc.cur().after_cfg);
    offer(mdesc, cfg.next >= mdesc.cur().after_cfg);
    offer(vword, true);
    offer(raw, true);
    offer(mword, true);
    offer(act, true);
    ws::WeightPipelineInputs in;
    in.cfg_valid = cfg.valid;
    in.cfg_addr = cfg.cur().addr;
    in.cfg_data = cfg.cur().data;
    in.vdesc_valid = vdesc.valid;
    in.vdesc = vdesc.cur().d;
    in.vword_valid = vword.valid;
    in.vword_data = vword.cur().data;
    in.vword_last = vword.cur().last;
    in.raw_valid = raw.valid;
    in.raw_data = raw.cur().data;
    in.raw_last = raw.cur().last;
    in.mdesc_valid = mdesc.valid;
    in.mdesc = mdesc.cur().d;
    in.mword_valid = mword.valid;
    in.mword_data = mword.cur().data;
    in.mword_last = mword.cur().last;
    in.act_valid = act.valid;
    in.act_data = act.cur().data;
    in.act_last = act.cur().last;
    in.y_ready = chance(t.ready_rate);

    I.drive(in);
    const ws::WeightPipelineOutputs ro = I.rtl_outputs();
    const ws::WeightPipelineOutputs mo = I.model.outputs(in);
    const ws::WeightPipelineProbe pr = I.model.probe();
    std::string why;
    if (compare(ro, mo, &why, &res.signals_compared)) {
      if (res.cycle_mismatches == 0) res.first_mismatch = "cycle " + std::to_string(I.cyc) + ":" + why;
      ++res.cycle_mismatches;
    }

    // Transfers, as the RTL shows them.
    bool moved = false;
    auto take = [&](auto& s, bool ready) {
      if (s.valid && ready) {
        s.valid = false;
        ++s.next;
        moved = true;
      }
    };
    if (cfg.valid && ro.cfg_ready) ++res.cfg_writes;
    take(cfg, ro.cfg_ready);
    take(vdesc, ro.vdesc_ready);
    take(mdesc, ro.mdesc_ready);
    take(vword, ro.vword_ready);
    take(raw, ro.raw_ready);
    take(mword, ro.mword_ready);
    take(act, ro.act_ready);
    // A layer starts on the cycle after its first configuration item becomes the current one.
    for (size_t li = 1; li < layers.size(); ++li)
      if (!started[li] && cfg.next >= layer_cfg_start[li]) {
        started[li] = true;
        res.layers[li].start_cycle = I.cyc + 1;
      }
    if (pr.w_valid && pr.w_ready && w_layer < layers.size()) {
      LayerResult& R = res.layers[w_layer];
      if (w_in_layer == 0) R.first_w_cycle = I.cyc;
      R.last_w_cycle = I.cyc;
      if (++w_in_layer == R.beats) {
        ++w_layer;
        w_in_layer = 0;
      }
      moved = true;
    }
    if (ro.y_valid && in.y_ready) {
      ++res.y_transfers;
      if (mo.y_valid && (mo.y_data != ro.y_data || mo.y_last != ro.y_last)) ++res.transfer_mismatches;
      moved = true;
      if (y_layer < layers.size()) {
        LayerResult& R = res.layers[y_layer];
        R.y.push_back(ro.y_data);
        R.last_y_cycle = I.cyc;
        ++y_row;
        if (y_row == size_t(layers[y_layer].rows)) {
          if (!ro.y_last) ++res.transfer_mismatches;  // y_last must close the layer
          ++y_layer;
          y_row = 0;
        }
      }
    }
    if (moved) last_transfer = I.cyc;

    I.model.tick(in);
    I.clock();
    ++I.cyc;
  }
  res.cycles = I.cyc - start;
  res.err = I.top->err_o;
  res.err_cause = I.top->err_cause_o;
  res.complete = y_layer >= layers.size();
  res.inputs_drained = cfg.done() && vdesc.done() && mdesc.done() && vword.done() && raw.done() && mword.done() &&
                       act.done();
  res.assertion_errors = uint64_t(I.ctx->errorCount()) - errors_before;
  if (!res.inputs_drained || res.err) {
    // Items still offered cannot be withdrawn (AXI-Stream), and the error is sticky: start over.
    I.do_reset();
    res.reset_after = true;
  }
  return res;
}

Result run_weight_pipeline(const std::vector<ws::ChunkView>& values, const std::vector<ws::ChunkView>& meta, int rows,
                           int k, const std::vector<int32_t>& perm, const std::vector<uint16_t>& x,
                           const Traffic& traffic, const std::string& fst_path) {
  Driver d(fst_path);
  Layer L;
  L.values = values;
  L.meta = meta;
  L.rows = rows;
  L.k = k;
  L.perm = perm;
  L.x = x;
  return d.run({L}, traffic);
}

MetaChunk make_meta_chunk(const uint8_t* nibbles, size_t n, int meta_table_log) {
  MetaChunk c;
  ws::tans::Histogram h{};
  for (size_t i = 0; i < n; ++i) ++h[nibbles[i]];
  const ws::tans::NormalizedCounts nc = ws::tans::normalize(h, meta_table_log);
  ws::tans::EncodedSymbols e = ws::tans::encode(nibbles, n, nc, 2);
  c.stream = std::move(e.stream);
  c.view.value_count = uint32_t(n);
  c.view.lanes = 2;
  c.view.counts = nc;
  c.view.initial_states = e.initial_states;
  c.view.symbol_stream = c.stream.data();
  c.view.symbol_bytes = uint32_t(c.stream.size());
  c.view.raw_stream = nullptr;
  c.view.raw_bytes = 0;
  return c;
}

}  // namespace wp
