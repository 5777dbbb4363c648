// 2:4 structured sparsity (docs/mac_array.md section 1): packing, validation, magnitude pruning and the
// input-channel permutation carried with a layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hw/mac_arith.hpp"

namespace ws {

// Metadata nibble of one group of 4: the positions of its two kept values, idx0 | idx1 << 2, with
// idx0 < idx1 (the PyTorch / cuSPARSELt convention). Six of the sixteen nibbles are valid.
inline uint8_t sparse24_meta(int idx0, int idx1) { return uint8_t(idx0 | (idx1 << 2)); }
inline int sparse24_idx0(uint8_t meta) { return meta & 3; }
inline int sparse24_idx1(uint8_t meta) { return (meta >> 2) & 3; }
inline bool sparse24_meta_valid(uint8_t meta) { return meta < 16 && sparse24_idx0(meta) < sparse24_idx1(meta); }

// A packed M x K layer (perm as in ws/shuffle.hpp, whose identity_perm() and channel_permutation()
// produce it). Column j of the packed matrix W' is input channel perm[j] of the original W
// (W'[:, j] = W[:, perm[j]]), so the array multiplies column j by x[perm[j]] and y = W x needs no extra
// pass. Groups are 4 consecutive columns of W'. Values are 16-bit lanes: bf16 bits in BF16 mode, an
// int8 in bits 7:0 in INT8 mode.
struct Sparse24 {
  int rows = 0;
  int cols = 0;                   // K, a multiple of 4
  std::vector<uint16_t> values;   // rows x cols/2: per group, the value at idx0 then the one at idx1
  std::vector<uint8_t> meta;      // rows x cols/4 nibbles
  std::vector<int32_t> perm;      // cols entries, a permutation of 0 .. cols-1

  int groups() const { return cols / 4; }
  uint16_t value(int r, int g, int slot) const { return values[(size_t(r) * groups() + g) * 2 + slot]; }
  uint8_t meta_at(int r, int g) const { return meta[size_t(r) * groups() + g]; }
};

// Whether a lane holds zero in the given mode (BF16: +0 and -0; INT8: bits 7:0 are 0).
bool lane_is_zero(MacMode mode, uint16_t lane);

// Packs a dense W (rows x cols, row-major, original channel order) under perm (empty = identity).
// Every group of W' must have at most 2 non-zeros, else ws::FormatError naming the row and group.
// A group with fewer than 2 non-zeros keeps its non-zero positions and fills up with the lowest
// unused positions (an all-zero group is stored as idx 0, 1 with two zero values): the canonical form.
Sparse24 pack_sparse24(const std::vector<uint16_t>& w, int rows, int cols, MacMode mode,
                       const std::vector<int32_t>& perm = {});

// The dense W in original channel order (inverse of pack_sparse24 on any valid layer).
std::vector<uint16_t> unpack_sparse24(const Sparse24& layer);

// Checks shapes, metadata (idx0 < idx1) and that perm is a permutation; throws ws::FormatError
// naming the row and group (or the perm entry) at fault.
void validate_sparse24(const Sparse24& layer);

// Magnitude 2:4 pruning: in every group of 4 columns of W' = W[:, perm], keeps the 2 largest |w| (ties go
// to the lower column of W') and zeroes the rest. Returns W in original channel order. NaN weights
// are a ws::FormatError.
std::vector<float> prune24_magnitude(const std::vector<float>& w, int rows, int cols,
                                     const std::vector<int32_t>& perm = {});

// Appends zero groups (metadata idx 0, 1) up to a multiple of `multiple` columns; the new channels
// map to themselves in perm. The activation vector must be padded with zeros to match.
Sparse24 pad_sparse24_cols(const Sparse24& layer, int multiple);

}  // namespace ws
