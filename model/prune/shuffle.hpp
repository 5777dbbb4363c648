// N:M selection (2:4, 4:8: keep n of every m consecutive input channels), and the channel permutations
// (E-Sparse's channel shuffle) that choose which channels share a group. Convention (as
// codec/sparse24.hpp): the permuted layer holds W'[:, j] = W[:, perm[j]], and column j multiplies
// x[perm[j]]; group g is columns m*g .. m*g+m-1 of W'.
//
// `imp` is always an importance matrix [out][in] indexed by the ORIGINAL channel: imp[i * in + c].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codec/sparse24.hpp"  // identity_perm, and the layout these permutations are for

namespace ws {

// Keep n of every m: 2:4 (what the container stores as 2:4 chunks and the MAC array runs) or 4:8.
struct NmPattern {
  int n = 2, m = 4;
};
std::string pattern_name(NmPattern p);            // "2:4"
NmPattern parse_pattern(const std::string& s);    // "2:4" or "4:8"; throws std::invalid_argument

enum class ShuffleMode { none, global, global_local };
const char* shuffle_name(ShuffleMode m);           // "none", "global", "global+local"
ShuffleMode parse_shuffle(const std::string& s);   // throws std::invalid_argument

// The N:M mask of the permuted layer, mask[i * in + j] for column j: in each row and group of m the n
// most important columns are kept (ties: the lower column). `in` must be a multiple of m.
std::vector<uint8_t> nm_mask(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm,
                             NmPattern p = {});

// The importance the N:M mask keeps under a permutation: sum over rows and groups of the top n.
double kept_importance(const std::vector<double>& imp, int out, int in, const std::vector<int32_t>& perm,
                       NmPattern p = {});

// Global naive shuffle: channels sorted by total importance (sum over rows, descending; ties by index)
// and dealt round-robin over the in/m groups, so that rank r lands in group r % (in/m).
std::vector<int32_t> global_shuffle(const std::vector<double>& imp, int out, int in, NmPattern p = {});

// Local block shuffle: within each block of `block` consecutive columns (a multiple of m, at least 2m;
// the last block may be shorter), repeatedly applies the swap of two channels between two groups that
// most increases the kept importance, until no swap increases it. Never lowers kept_importance.
void local_shuffle(const std::vector<double>& imp, int out, int in, int block, std::vector<int32_t>& perm,
                   NmPattern p = {});

// none: identity; global: global_shuffle; global_local: global_shuffle then local_shuffle.
std::vector<int32_t> channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                         int block, NmPattern p = {});

// LTE (docs/lte.md): channel_permutation inside each expert only. `order` lists the `in` channels in
// expert order (the side file's lte.order of one layer: expert e = order[bounds[e] .. bounds[e+1]-1]);
// each expert's channels are shuffled among themselves (mode and block as above, over that expert's
// columns of imp), so column block bounds[e] .. bounds[e+1]-1 of the result holds exactly expert e's
// channels. Every expert's size must be a multiple of m (std::invalid_argument otherwise).
std::vector<int32_t> expert_channel_permutation(const std::vector<double>& imp, int out, int in, ShuffleMode mode,
                                                int block, const int32_t* order, const std::vector<int>& bounds,
                                                NmPattern p = {});

}  // namespace ws
