// 2:4 selection inside groups of 4 input channels, and the channel permutations (E-Sparse's channel
// shuffle) that choose which channels share a group. Convention (as codec/sparse24.hpp): the permuted
// layer holds W'[:, j] = W[:, perm[j]], and column j multiplies x[perm[j]]; group g is columns
// 4g .. 4g+3 of W'.
//
// `imp` is always an importance matrix [out][in] indexed by the ORIGINAL channel: imp[i * in + c].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/sparse24.hpp"  // identity_perm, and the layout these permutations are for

namespace ws {

enum class ShuffleMode { none, global, global_local };
const char* shuffle_name(ShuffleMode m);           // "none", "global", "global+local"
ShuffleMode parse_shuffle(const std::string& s);   // throws std::invalid_argument

// The 2:4 mask of the permuted layer, mask[i * in + j] for column j: in each row and group the two
// most important columns are kept (ties: the lower column). `in` must be a multiple of 4.
std::vector<uint8_t> mask_24(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm);

// The importance the 2:4 mask keeps under a permutation: sum over rows and groups of the top two.
double kept_importance(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm);

// Global naive shuffle: channels sorted by total importance (sum over rows, descending; ties by index)
// and dealt round-robin over the in/4 groups, so that rank r lands in group r % (in/4).
std::vector<int32_t> global_shuffle(const std::vector<double>& imp, int out, int in);

// Local block shuffle: within each block of `block` consecutive columns (a multiple of 4; the last
// block may be shorter), repeatedly applies the swap of two channels between two groups that most
// increases the kept importance, until no swap increases it. Never lowers kept_importance.
void local_shuffle(const std::vector<double>& imp, int out, int in, int block, std::vector<int32_t>& perm);

// none: identity; global: global_shuffle; global_local: global_shuffle then local_shuffle.
std::vector<int32_t> channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                         int block);

}  // namespace ws
