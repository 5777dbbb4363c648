// 2:4 structured sparsity (docs/mac_array.md section 1): the packed layout the sparse MAC array
// consumes (kept values, metadata nibbles, and the input-channel permutation carried with a layer),
// packing, unpacking, validation and padding. Choosing what to prune: prune/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ws_pkg.hpp"

namespace ws {

// What a 16-bit lane of a packed layer holds, as written to bit 0 of the MAC array's CTRL register
// (ws_pkg::mac_mode_e): an int8 in bits 7:0, or bf16 bits.
enum class MacMode : uint8_t { Int8 = pkg::MAC_INT8, Bf16 = pkg::MAC_BF16 };

// Metadata nibble of one group of 4: the positions of its two kept values, idx0 | idx1 << 2, with
// idx0 < idx1 (the PyTorch / cuSPARSELt convention). Six of the sixteen nibbles are valid.
inline uint8_t sparse24_meta(int idx0, int idx1) { return uint8_t(idx0 | (idx1 << 2)); }
inline int sparse24_idx0(uint8_t meta) { return meta & 3; }
inline int sparse24_idx1(uint8_t meta) { return (meta >> 2) & 3; }
inline bool sparse24_meta_valid(uint8_t meta) { return meta < 16 && sparse24_idx0(meta) < sparse24_idx1(meta); }

// A packed M x K layer (perm: identity_perm() below, or prune/shuffle.hpp's channel_permutation()). Column j of the packed matrix W' is input channel perm[j] of the original W
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

// 0, 1, .., in - 1: the permutation of a layer whose channels keep their order.
std::vector<int32_t> identity_perm(int in);

// Throw ws::FormatError naming what is wrong: a dense rows x cols matrix of n values (cols a
// multiple of 4), and a permutation of 0 .. cols - 1.
void validate_sparse24_shape(int rows, int cols, size_t n);
void validate_perm(const std::vector<int32_t>& perm, int cols);

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

// Appends zero groups (metadata idx 0, 1) up to a multiple of `multiple` columns; the new channels
// map to themselves in perm. The activation vector must be padded with zeros to match.
Sparse24 pad_sparse24_cols(const Sparse24& layer, int multiple);

}  // namespace ws
