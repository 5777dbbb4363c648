// 2:4 packing (docs/mac_array.md section 1).
#include "codec/sparse24.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace ws {
namespace {

std::string where(int r, int g) { return "row " + std::to_string(r) + " group " + std::to_string(g); }

}  // namespace

std::vector<int32_t> identity_perm(int in) {
  std::vector<int32_t> p(size_t(std::max(in, 0)));
  std::iota(p.begin(), p.end(), 0);
  return p;
}

void validate_sparse24_shape(int rows, int cols, size_t n) {
  if (rows < 0 || cols < 0 || cols % 4 != 0)
    throw FormatError("2:4 layer: columns must be a non-negative multiple of 4, got " + std::to_string(cols));
  if (n != size_t(rows) * size_t(cols)) throw FormatError("2:4 layer: matrix size does not match rows x cols");
}

void validate_perm(const std::vector<int32_t>& perm, int cols) {
  if (perm.size() != size_t(cols))
    throw FormatError("2:4 layer: permutation has " + std::to_string(perm.size()) + " entries, expected " +
                      std::to_string(cols));
  std::vector<bool> seen(size_t(cols), false);
  for (size_t j = 0; j < perm.size(); ++j) {
    if (perm[j] < 0 || perm[j] >= cols || seen[size_t(perm[j])])
      throw FormatError("2:4 layer: perm[" + std::to_string(j) + "] = " + std::to_string(perm[j]) +
                        " makes it no permutation");
    seen[size_t(perm[j])] = true;
  }
}

bool lane_is_zero(MacMode mode, uint16_t lane) {
  return mode == MacMode::Bf16 ? (lane & 0x7FFFu) == 0 : (lane & 0xFFu) == 0;
}

Sparse24 pack_sparse24(const std::vector<uint16_t>& w, int rows, int cols, MacMode mode,
                       const std::vector<int32_t>& perm) {
  validate_sparse24_shape(rows, cols, w.size());
  Sparse24 out;
  out.rows = rows;
  out.cols = cols;
  out.perm = perm.empty() ? identity_perm(cols) : perm;
  validate_perm(out.perm, cols);
  out.values.reserve(size_t(rows) * cols / 2);
  out.meta.reserve(size_t(rows) * cols / 4);
  for (int r = 0; r < rows; ++r) {
    const uint16_t* row = &w[size_t(r) * cols];
    for (int g = 0; g < cols / 4; ++g) {
      uint16_t v[4];
      int keep[2], n = 0;
      for (int i = 0; i < 4; ++i) {
        v[i] = row[size_t(out.perm[size_t(4 * g + i)])];
        if (!lane_is_zero(mode, v[i])) {
          if (n == 2) throw FormatError("2:4 layer: " + where(r, g) + " has more than 2 non-zeros");
          keep[n++] = i;
        }
      }
      // Canonical fill: the lowest positions not yet kept, then ascending order.
      for (int i = 0; n < 2; ++i)
        if (!(n == 1 && keep[0] == i)) keep[n++] = i;
      if (keep[0] > keep[1]) std::swap(keep[0], keep[1]);
      out.values.push_back(v[keep[0]]);
      out.values.push_back(v[keep[1]]);
      out.meta.push_back(sparse24_meta(keep[0], keep[1]));
    }
  }
  return out;
}

void validate_sparse24(const Sparse24& layer) {
  if (layer.rows < 0 || layer.cols < 0 || layer.cols % 4 != 0)
    throw FormatError("2:4 layer: columns must be a non-negative multiple of 4, got " + std::to_string(layer.cols));
  const size_t groups = size_t(layer.rows) * size_t(layer.cols / 4);
  if (layer.meta.size() != groups || layer.values.size() != 2 * groups)
    throw FormatError("2:4 layer: value or metadata count does not match the shape");
  validate_perm(layer.perm, layer.cols);
  for (int r = 0; r < layer.rows; ++r)
    for (int g = 0; g < layer.groups(); ++g)
      if (!sparse24_meta_valid(layer.meta_at(r, g)))
        throw FormatError("2:4 layer: " + where(r, g) + " has invalid metadata 0x" +
                          std::string(1, "0123456789abcdef"[layer.meta_at(r, g) & 15]) + " (needs idx0 < idx1)");
}

std::vector<uint16_t> unpack_sparse24(const Sparse24& layer) {
  validate_sparse24(layer);
  std::vector<uint16_t> w(size_t(layer.rows) * layer.cols, 0);
  for (int r = 0; r < layer.rows; ++r)
    for (int g = 0; g < layer.groups(); ++g) {
      const uint8_t m = layer.meta_at(r, g);
      w[size_t(r) * layer.cols + size_t(layer.perm[size_t(4 * g + sparse24_idx0(m))])] = layer.value(r, g, 0);
      w[size_t(r) * layer.cols + size_t(layer.perm[size_t(4 * g + sparse24_idx1(m))])] = layer.value(r, g, 1);
    }
  return w;
}

Sparse24 pad_sparse24_cols(const Sparse24& layer, int multiple) {
  if (multiple <= 0 || multiple % 4 != 0) throw FormatError("2:4 layer: padding must be a positive multiple of 4");
  const int cols = (layer.cols + multiple - 1) / multiple * multiple;
  if (cols == layer.cols) return layer;
  Sparse24 out;
  out.rows = layer.rows;
  out.cols = cols;
  out.perm = layer.perm;
  for (int j = layer.cols; j < cols; ++j) out.perm.push_back(int32_t(j));
  const int old_groups = layer.groups(), new_groups = cols / 4;
  for (int r = 0; r < layer.rows; ++r) {
    for (int g = 0; g < old_groups; ++g) {
      out.values.push_back(layer.value(r, g, 0));
      out.values.push_back(layer.value(r, g, 1));
      out.meta.push_back(layer.meta_at(r, g));
    }
    for (int g = old_groups; g < new_groups; ++g) {
      out.values.push_back(0);
      out.values.push_back(0);
      out.meta.push_back(sparse24_meta(0, 1));
    }
  }
  return out;
}

}  // namespace ws
