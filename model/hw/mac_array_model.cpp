// Functional and cycle models of the 2:4 sparse and the dense MAC arrays (docs/mac_array.md).
#include "hw/mac_array_model.hpp"

#include <stdexcept>
#include <string>

namespace ws {
namespace {

int log2_exact(int v) {
  int k = 0;
  while ((1 << k) < v) ++k;
  return k;
}
bool is_pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

int MacArrayParams::k_bits() const { return log2_exact(max_k); }
int MacArrayParams::latency() const { return 3 + log2_exact(lanes()); }

void MacArrayParams::check() const {
  if (rows < 1 || !is_pow2(groups_per_cycle) || !is_pow2(max_k) || max_k % cols_per_beat() != 0 || max_k > 65536)
    throw std::invalid_argument("MacArrayParams: need rows >= 1, GroupsPerCycle and MaxK powers of two, "
                                "MaxK a multiple of the columns per beat and at most 65536");
}

void bits_put(Bits& v, int lsb, int width, uint32_t value) {
  for (int i = 0; i < width; ++i) {
    const int b = lsb + i;
    if (size_t(b / 32) >= v.size()) v.resize(size_t(b / 32) + 1, 0);
    const uint32_t m = 1u << (b % 32);
    v[size_t(b / 32)] = ((value >> i) & 1u) ? (v[size_t(b / 32)] | m) : (v[size_t(b / 32)] & ~m);
  }
}

uint32_t bits_get(const Bits& v, int lsb, int width) {
  uint32_t r = 0;
  for (int i = 0; i < width; ++i) {
    const int b = lsb + i;
    if (size_t(b / 32) < v.size() && ((v[size_t(b / 32)] >> (b % 32)) & 1u)) r |= 1u << i;
  }
  return r;
}

std::vector<uint32_t> sparse_matvec(const Sparse24& layer, const std::vector<uint16_t>& x, MacMode mode,
                                    int groups_per_cycle) {
  validate_sparse24(layer);
  const int cols_per_beat = 4 * groups_per_cycle;
  if (!is_pow2(groups_per_cycle) || layer.cols % cols_per_beat != 0 || x.size() != size_t(layer.cols))
    throw std::invalid_argument("sparse_matvec: columns must fill whole beats and x must have cols entries");
  std::vector<uint32_t> y(static_cast<size_t>(layer.rows));
  std::vector<uint32_t> p(static_cast<size_t>(2 * groups_per_cycle));
  for (int r = 0; r < layer.rows; ++r) {
    uint32_t acc = 0;  // +0.0f and int 0 share the pattern
    for (int b = 0; b < layer.cols / cols_per_beat; ++b) {
      for (int g = 0; g < groups_per_cycle; ++g) {
        const int group = b * groups_per_cycle + g;
        const uint8_t m = layer.meta_at(r, group);
        p[size_t(2 * g)] = mac_mul(mode, layer.value(r, group, 0), x[size_t(layer.perm[size_t(4 * group + sparse24_idx0(m))])]);
        p[size_t(2 * g + 1)] = mac_mul(mode, layer.value(r, group, 1), x[size_t(layer.perm[size_t(4 * group + sparse24_idx1(m))])]);
      }
      acc = mac_add(mode, acc, mac_tree(mode, p.data(), int(p.size())));
    }
    y[size_t(r)] = acc;
  }
  return y;
}

std::vector<uint32_t> dense_matvec(const std::vector<uint16_t>& w, int rows, int cols,
                                   const std::vector<uint16_t>& x, MacMode mode, int lanes) {
  if (!is_pow2(lanes) || rows < 0 || cols < 0 || cols % lanes != 0 || w.size() != size_t(rows) * cols ||
      x.size() != size_t(cols))
    throw std::invalid_argument("dense_matvec: columns must fill whole beats and the sizes must match");
  std::vector<uint32_t> y(static_cast<size_t>(rows));
  std::vector<uint32_t> p(static_cast<size_t>(lanes));
  for (int r = 0; r < rows; ++r) {
    uint32_t acc = 0;
    for (int b = 0; b < cols / lanes; ++b) {
      for (int l = 0; l < lanes; ++l) {
        const size_t j = size_t(b * lanes + l);
        p[size_t(l)] = mac_mul(mode, w[size_t(r) * cols + j], x[j]);
      }
      acc = mac_add(mode, acc, mac_tree(mode, p.data(), lanes));
    }
    y[size_t(r)] = acc;
  }
  return y;
}

std::vector<Bits> sparse_weight_beats(const Sparse24& layer, const MacArrayParams& p) {
  const int G = p.groups_per_cycle;
  if (p.kind != MacArrayKind::Sparse || layer.rows % p.rows != 0 || layer.cols % p.cols_per_beat() != 0)
    throw std::invalid_argument("sparse_weight_beats: layer shape does not fill whole row blocks and beats");
  std::vector<Bits> beats;
  for (int rb = 0; rb < layer.rows / p.rows; ++rb)
    for (int b = 0; b < layer.cols / p.cols_per_beat(); ++b) {
      Bits v(size_t((p.weight_bits() + 31) / 32), 0);
      for (int r = 0; r < p.rows; ++r)
        for (int g = 0; g < G; ++g) {
          const int row = rb * p.rows + r, group = b * G + g, at = (r * G + g) * 36;
          bits_put(v, at, 16, layer.value(row, group, 0));
          bits_put(v, at + 16, 16, layer.value(row, group, 1));
          bits_put(v, at + 32, 4, layer.meta_at(row, group));
        }
      beats.push_back(v);
    }
  return beats;
}

std::vector<Bits> dense_weight_beats(const std::vector<uint16_t>& w, int rows, int cols, const MacArrayParams& p) {
  const int L = p.lanes();
  if (p.kind != MacArrayKind::Dense || rows % p.rows != 0 || cols % L != 0 || w.size() != size_t(rows) * cols)
    throw std::invalid_argument("dense_weight_beats: matrix shape does not fill whole row blocks and beats");
  std::vector<Bits> beats;
  for (int rb = 0; rb < rows / p.rows; ++rb)
    for (int b = 0; b < cols / L; ++b) {
      Bits v(size_t((p.weight_bits() + 31) / 32), 0);
      for (int r = 0; r < p.rows; ++r)
        for (int l = 0; l < L; ++l)
          bits_put(v, (r * L + l) * 16, 16, w[size_t(rb * p.rows + r) * cols + size_t(b * L + l)]);
      beats.push_back(v);
    }
  return beats;
}

// ---------------------------------------------------------------------------------------------
// Cycle model. State names follow the RTL registers; tick() computes every next value from the
// current state, as the flip-flops do at one rising edge.

MacArrayModel::MacArrayModel(const MacArrayParams& p) : p_(p) {
  p_.check();
  reset();
}

void MacArrayModel::reset() {
  mode_ = MacMode::Int8;
  row_beats_ = 1;
  perm_.resize(size_t(p_.max_k));
  for (size_t j = 0; j < perm_.size(); ++j) perm_[j] = uint32_t(j);  // reset value: identity
  xbuf_.assign(size_t(p_.max_k), 0);  // datapath, not reset in RTL: Verilator starts it at zero
  act_ptr_ = beat_ = 0;
  in_frame_ = false;
  err_.reset();
  s1_valid_ = s1_first_ = s1_last_row_ = s1_last_mat_ = false;
  s1_w_.assign(size_t((p_.weight_bits() + 31) / 32), 0);
  s1_x_.assign(size_t(p_.cols_per_beat()), 0);
  pipe_.assign(size_t(p_.latency() - 2), Stage{});
  acc_.assign(size_t(p_.rows), 0);
  out_valid_ = out_last_ = false;
  out_data_.assign(size_t(p_.rows), 0);
}

bool MacArrayModel::busy() const {
  bool b = s1_valid_;
  for (const Stage& s : pipe_) b = b || s.valid;
  return b;
}

MacArrayOutputs MacArrayModel::outputs(bool out_ready) const {
  MacArrayOutputs o;
  const bool idle = !in_frame_ && !busy();
  o.cfg_ready = idle;
  o.act_ready = idle;
  o.w_ready = !out_valid_ || out_ready;
  o.out_valid = out_valid_;
  o.out_data = out_data_;
  o.out_last = out_last_;
  o.err = err_.err;
  o.err_cause = err_.cause;
  return o;
}

std::vector<uint32_t> MacArrayModel::beat_sums(const Bits& w, const std::vector<uint16_t>& xg) const {
  const int G = p_.groups_per_cycle, L = p_.lanes();
  std::vector<uint32_t> sums(static_cast<size_t>(p_.rows));
  std::vector<uint32_t> prod(static_cast<size_t>(L));
  for (int r = 0; r < p_.rows; ++r) {
    for (int l = 0; l < L; ++l) {
      uint16_t wv, xv;
      if (p_.kind == MacArrayKind::Sparse) {
        const int g = l / 2, slot = l % 2, at = (r * G + g) * 36;
        wv = uint16_t(bits_get(w, at + 16 * slot, 16));
        const uint32_t meta = bits_get(w, at + 32, 4);
        // The RTL selects with the nibble as it is, valid or not; so does the model.
        const int idx = slot ? int(meta >> 2) : int(meta & 3u);
        xv = xg[size_t(4 * g + idx)];
      } else {
        wv = uint16_t(bits_get(w, (r * L + l) * 16, 16));
        xv = xg[size_t(l)];
      }
      prod[size_t(l)] = mac_mul(mode_, wv, xv);
    }
    sums[size_t(r)] = mac_tree(mode_, prod.data(), L);
  }
  return sums;
}

void MacArrayModel::tick(const MacArrayInputs& in) {
  const bool en = !out_valid_ || in.out_ready;
  const bool idle = !in_frame_ && !busy();
  const bool w_fire = in.w_valid && en;
  const bool cfg_fire = in.cfg_valid && idle;
  const bool act_fire = in.act_valid && idle;
  const bool sparse = p_.kind == MacArrayKind::Sparse;
  const int kb = p_.k_bits();
  uint8_t new_cause = kMacErrAct + 1;  // lowest code of this cycle wins
  auto raise = [&](uint8_t c) {
    if (c < new_cause) new_cause = c;
  };

  // Accumulator and output register, reading the last pipeline stage.
  if (en) {
    bool emit = false;
    const Stage& last = pipe_.back();
    if (last.valid) {
      for (int r = 0; r < p_.rows; ++r) {
        const uint32_t sum = mac_add(mode_, last.first ? 0u : acc_[size_t(r)], last.sums[size_t(r)]);
        acc_[size_t(r)] = sum;
        if (last.last_row) out_data_[size_t(r)] = sum;
      }
      emit = last.last_row;
      if (emit) out_last_ = last.last_mat;
    }
    out_valid_ = emit;
    // Shift the pipeline; S1 feeds the product stage.
    for (size_t i = pipe_.size() - 1; i > 0; --i) pipe_[i] = pipe_[i - 1];
    Stage s;
    s.valid = s1_valid_;
    if (s1_valid_) {
      s.first = s1_first_;
      s.last_row = s1_last_row_;
      s.last_mat = s1_last_mat_;
      s.sums = beat_sums(s1_w_, s1_x_);
    }
    pipe_[0] = s;
    // S1 takes the accepted beat, with the activations gathered through perm at acceptance.
    s1_valid_ = w_fire;
    if (w_fire) {
      const bool row_end = beat_ == row_beats_ - 1;
      s1_first_ = beat_ == 0;
      s1_last_row_ = row_end || in.w_last;
      s1_last_mat_ = in.w_last;
      s1_w_ = in.w_data;
      s1_w_.resize(size_t((p_.weight_bits() + 31) / 32), 0);
      for (int l = 0; l < p_.cols_per_beat(); ++l) {
        const size_t j = size_t(beat_ * p_.cols_per_beat() + l);
        s1_x_[size_t(l)] = xbuf_[sparse ? perm_[j] : j];
      }
      if (sparse)
        for (int r = 0; r < p_.rows; ++r)
          for (int g = 0; g < p_.groups_per_cycle; ++g)
            if (!sparse24_meta_valid(uint8_t(bits_get(in.w_data, (r * p_.groups_per_cycle + g) * 36 + 32, 4))))
              raise(kMacErrMeta);
      if (in.w_last && !row_end) raise(kMacErrFrame);
      beat_ = (row_end || in.w_last) ? 0 : beat_ + 1;
      in_frame_ = !in.w_last;
    }
  }

  if (cfg_fire) {
    if ((in.cfg_addr >> kb) & 1u) {
      const uint32_t j = in.cfg_addr & ((1u << kb) - 1u);
      if (!sparse || in.cfg_data >= uint32_t(p_.max_k))
        raise(kMacErrConfig);
      else
        perm_[j] = in.cfg_data;
    } else if (in.cfg_addr == 0) {
      const uint32_t rb = in.cfg_data >> 16;
      if (rb == 0 || rb > uint32_t(p_.max_k / p_.cols_per_beat())) {
        raise(kMacErrConfig);
      } else {
        mode_ = MacMode(in.cfg_data & 1u);
        row_beats_ = int(rb);
      }
    } else {
      raise(kMacErrConfig);
    }
  }

  if (act_fire) {
    xbuf_[size_t(act_ptr_)] = in.act_data;
    if (!in.act_last && act_ptr_ == p_.max_k - 1) raise(kMacErrAct);
    act_ptr_ = (in.act_last || act_ptr_ == p_.max_k - 1) ? 0 : act_ptr_ + 1;
  }

  err_.tick(in.err_clear, new_cause <= kMacErrAct ? new_cause : uint8_t(kMacErrNone));
}

}  // namespace ws
