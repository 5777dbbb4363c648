// The stream program: what the RTL blocks consume, made from what the codec writes. It is the only
// code that builds configuration writes, descriptors and framed word streams (every bench, the token
// factory's decoder drivers and the demo use it), so the hardware contract (rtl/ws_pkg.sv, ws::pkg)
// is applied here once.
//
//   (a) one codec chunk      -> ws_tans_decoder:   table writes, descriptor, per-state units
//   (b) a number format      -> ws_num_unpacker:   configuration writes (format table, mode)
//   (c) 2:4 and dense layers -> ws_weight_pipeline: every port's items, in the order of
//                               docs/weight_pipeline.md section 6
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec/chunk.hpp"
#include "codec/container_reader.hpp"
#include "codec/sparse24.hpp"
#include "codec/sparse24_chunk.hpp"
#include "codec/tans.hpp"
#include "core/error.hpp"
#include "core/ws_pkg.hpp"
#include "hw/tans_decoder_model.hpp"
#include "hw/weight_pipeline_model.hpp"
#include "numfmt/numfmt.hpp"

namespace ws {

// One write on a configuration port.
struct CfgWrite {
  uint32_t addr = 0;
  uint32_t data = 0;
  bool operator==(const CfgWrite& o) const { return addr == o.addr && data == o.data; }
};

// One word of a framed stream (a chunk's symbol or raw stream): `last` on the chunk's final word.
struct StreamWord {
  uint64_t data = 0;  // word_bits of stream_words()
  bool last = false;
  bool operator==(const StreamWord& o) const { return data == o.data && last == o.last; }
};

// A chunk's stream bytes as little-endian words of word_bits (32, or 64: the raw port of an unpacker
// of pkg::raw_word_bits(lanes)), `last` on the final one (none for 0 bytes). 64-bit words: the last
// one's upper half is zero when the bytes are an odd number of 32-bit words (zero padding, as the
// codec pads its raw stream to 32 bits). Throws ws::FormatError unless the bytes are whole 32-bit
// words.
std::vector<StreamWord> stream_words(const uint8_t* bytes, size_t n, int word_bits = pkg::STREAM_WORD_BITS);

// ---------------------------------------------------------------------------------------------------
// (a) ws_tans_decoder

// The decode table of `counts` (docs/format.md 2.3) as writes: entry j, ws::pkg::tans_entry_t, at j.
std::vector<CfgWrite> tans_table_writes(const tans::NormalizedCounts& counts);

// One 16-bit unit of a state's port (layout 2): `last` on the state's final unit.
struct StreamUnit {
  uint16_t data = 0;
  bool last = false;
  bool operator==(const StreamUnit& o) const { return data == o.data && last == o.last; }
};

// The descriptor of a chunk that decodes from table bank `bank`: its table log, bank and count.
TansDescriptor tans_descriptor(const ChunkView& v, int bank = 0);

// What state s's port takes for a layout-2 chunk (docs/tans_decoder.md section 1): its initial state
// as a unit of its own, then its stream's units, `last` on the final one; nothing for a chunk of 0
// values. Throws ws::FormatError for a layout-1 chunk.
std::vector<StreamUnit> tans_state_units(const ChunkView& v, int s);

// Everything a ws_tans_decoder takes for one chunk: the table writes (into the bank of the
// descriptor), then the descriptor (offered once the last write has been taken), and per state its
// units. A chunk of 0 values has a descriptor only (the decoder takes it and does nothing).
struct TansChunkProgram {
  std::vector<CfgWrite> table;
  TansDescriptor desc;
  std::vector<std::vector<StreamUnit>> units;  // 2 x lanes states
};
TansChunkProgram tans_chunk_program(const ChunkView& v, int bank = 0);

// ---------------------------------------------------------------------------------------------------
// (b) ws_num_unpacker

// The format's 256 table entries (ws::pkg::unp_entry_t, symbol s at address s), then the mode
// register (ws::pkg::UNP_CFG_MODE: 1 = int32 output).
std::vector<CfgWrite> unpacker_config(const numfmt::Format& f);

// ---------------------------------------------------------------------------------------------------
// (c) ws_weight_pipeline

// One layer y = W x as the pipeline takes it (docs/weight_pipeline.md section 2). 2:4: value and
// metadata chunks in pairs (value chunk i and metadata chunk i cover the same whole rows of W packed
// 2:4 and padded to K8 = K rounded up to 8 columns), the input-channel permutation and the
// activations. Dense (section 2.1): value chunks only, W row-major with K a multiple of 4, no
// permutation; each beat is 4 consecutive weights, joined with implied nibbles, and the MAC array's
// 2K packed columns hold x[4p], x[4p+1] at 8p, 8p+1 and x[4p+2], x[4p+3] at 8p+6, 8p+7 (+0 between);
// at MetaLanes 1 (one group a beat, implied nibble 0x4) x[2p], x[2p+1] at 4p, 4p+1. A row's packed
// columns must be whole beats of WeightPipelineParams::cols_per_beat(): at MetaLanes 4 (16 columns a
// beat) a 2:4 row is padded to K16 (ws::pad_sparse24_cols(layer, 16)) and a dense K is a multiple of 8.
struct PipelineLayer {
  std::vector<ChunkView> values;  // bf16 values (2:4: the kept ones), ValueLanes lanes (their bytes must outlive the program)
  std::vector<ChunkView> meta;    // 2:4: metadata nibbles as symbols, MetaLanes lanes, no raw stream; dense: none
  int rows = 0;
  int k = 0;                      // K before padding
  bool dense = false;             // LAYER_DENSE: no metadata, nibbles implied
  std::vector<int32_t> perm;      // 2:4: k (or K8) entries: packed column j reads x[perm[j]]; empty = identity
  std::vector<uint16_t> x;        // k (or K8) bf16 activations; padded with +0 to K8
  std::vector<CfgWrite> cfg_before;  // extra writes ahead of the layer's own (tests of bad writes)
  int k8() const { return (k + 7) / 8 * 8; }
  // The MAC array's columns: activations and permutation entries it takes, cols_per_beat a beat
  // (WeightPipelineParams::cols_per_beat(): 8 at the default lanes, 4 at MetaLanes 1).
  int packed_cols() const { return dense ? 2 * k : k8(); }
  uint64_t beats(int cols_per_beat = 4 * pkg::WP_META_LANES) const {  // ValueLanes values each
    return uint64_t(rows) * uint64_t(packed_cols() / cols_per_beat);
  }
  uint64_t weights() const { return uint64_t(rows) * uint64_t(dense ? k : k8()); }  // dense-equivalent
};

// A dense (lossless) layer's y as the pipeline computes it (docs/weight_pipeline.md section 2.1): w
// (rows x cols fp32, each value a bf16, row-major) and x rounded to bf16, then
// ws::dense_matvec(BF16, L = lanes, the value lanes); fp32 results. The golden model of every dense
// product, LTE's included.
std::vector<float> dense_pipeline_y(const float* w, int rows, int cols, const float* x, int lanes = pkg::WP_VALUE_LANES);

// A dense bf16 layer from a container's own chunks of one matrix (rows x k, row-major, in order).
PipelineLayer dense_pipeline_layer(std::vector<ChunkView> values, int rows, int k, std::vector<uint16_t> x);

// The activations of a dense layer in the MAC array's packed columns (2k entries, see PipelineLayer)
// for a MAC array of `groups` groups a beat (the pipeline's MetaLanes).
std::vector<uint16_t> dense_packed_x(const std::vector<uint16_t>& x, int groups = pkg::WP_META_LANES);

// A layer from a container's own 2:4 chunks (docs/format.md section 5) of one matrix, in row order:
// their value and metadata sub-chunks are the pairs. Throws ws::FormatError if the chunks disagree on
// the stored groups per row.
PipelineLayer sparse24_pipeline_layer(const std::vector<Sparse24ChunkView>& chunks, std::vector<int32_t> perm,
                                      std::vector<uint16_t> x);

// A 2:4 layer of a packed matrix (rows, K8 columns, permutation) from value and metadata chunks coded
// outside a container (tests and benches).
PipelineLayer sparse24_pipeline_layer(const Sparse24& matrix, std::vector<ChunkView> values, std::vector<ChunkView> meta,
                                      std::vector<uint16_t> x);

// One layer split across `paths` pipelines that share its activations (ws_weight_pipeline_paths,
// docs/weight_pipeline.md "Paths: 32 dense weights a cycle"): path p's layer has the same x, perm, k,
// dense flag and cfg_before, and a contiguous run of the layer's chunks (pairs, for 2:4) and so of its
// rows, in order: the layer's y is the paths' y concatenated in path order. The split is at chunk
// boundaries (chunks are whole rows), each boundary at the one nearest rows * (p + 1) / paths, and
// every path gets at least one chunk (each path takes every x through the fork: a path without the
// layer would stall it). Throws std::invalid_argument for fewer chunks (pairs) than paths (compress
// with smaller chunks), a chunk that is not whole rows, or value and metadata chunks that are not pairs.
std::vector<PipelineLayer> split_layer_rows(const PipelineLayer& layer, int paths);

// A descriptor with the configuration write after which it may be offered: a chunk's descriptor
// follows its own table (a decoder takes a bank's writes only while no chunk decodes from it).
struct PipelineDesc {
  TansDescriptor desc;   // {count, bank, table log}
  size_t after_cfg = 0;  // offer once this many items of PipelineProgram::cfg have been taken
};
struct PipelineAct {
  uint16_t data = 0;
  bool last = false;
};

// Every port's items for layers streamed back to back. Per layer (section 6): the extra writes, the
// tables of the chunk pair that starts the layer (but for the program's first layer), the MAC
// array's CTRL and permutation, LAYER_BEATS, then the other chunks' tables; each chunk's table before its descriptor, the tables ordered by the
// beat their chunk starts at (value chunk first on a tie), so that the one configuration port never
// waits on a decoder whose chunks need beats not yet loaded. Each decoder's chunks alternate between
// table banks 0 and 1 (one_bank: all in bank 0, each table load waiting for the chunk before to end),
// so a chunk's table loads while the chunk before it decodes, also across layers.
struct PipelineProgram {
  std::vector<CfgWrite> cfg;
  std::vector<PipelineDesc> vdesc, mdesc;
  std::vector<std::vector<StreamUnit>> vunits, munits;  // per state port: value_states(), meta_states()
  std::vector<StreamWord> raw;
  std::vector<PipelineAct> act;
  struct Layer {
    size_t cfg_start = 0;  // index in cfg of the layer's first write
    uint64_t beats = 0;
    size_t mac_start = 0;  // index in cfg of the layer's MAC CTRL write (then perm, LAYER_DENSE, LAYER_BEATS)
  };
  std::vector<Layer> layers;
};

// The unpacker's bf16 format (the pipeline's only one) as writes in the pipeline's address map.
std::vector<CfgWrite> pipeline_format_config();

// The program of `layers`, preceded by pipeline_format_config() when with_format. Throws
// std::invalid_argument for an empty layer, packed_cols() > MaxK or not whole beats, chunks of the wrong lane count or
// coded at a table log above the top's ValueTableLog / MetaTableLog (refused, not re-encoded), or a
// dense layer with K not a multiple of 4, a permutation or metadata chunks, and
// ws::FormatError for a layout-1 chunk or a stream that is not whole units or words.
PipelineProgram weight_pipeline_program(const std::vector<PipelineLayer>& layers, const WeightPipelineParams& p,
                                        bool with_format, bool one_bank = false);

// ---------------------------------------------------------------------------------------------------
// From the container

// One matrix of a bf16 2:4 tensor as the pipeline streams it and the golden model computes it: every
// chunk read, decoded and checked (CRC included) once.
struct Sparse24Matrix {
  uint64_t matrix = 0;                   // flat index over the leading dims
  int rows = 0, cols = 0;                // the dense shape, cols = K
  std::vector<Sparse24ChunkRef> chunks;  // in row order, owning their bytes
  std::vector<Sparse24ChunkView> views;  // parsed, pointing into chunks[i].bytes
  Sparse24 packed;                       // the stored form: rows x K8 (padding groups kept), identity perm
  Sparse24Matrix() = default;
  Sparse24Matrix(Sparse24Matrix&&) = default;  // the views stay valid: the bytes do not move
  Sparse24Matrix& operator=(Sparse24Matrix&&) = default;
  Sparse24Matrix(const Sparse24Matrix&) = delete;
  Sparse24Matrix& operator=(const Sparse24Matrix&) = delete;
};

// A chunk of a 2:4 tensor that fails a check, with where it is: what() is "matrix 2 chunk 5: " + detail.
class Sparse24ChunkError : public FormatError {
 public:
  Sparse24ChunkError(uint64_t matrix, size_t chunk, const std::string& detail)
      : FormatError("matrix " + std::to_string(matrix) + " chunk " + std::to_string(chunk) + ": " + detail),
        matrix(matrix), chunk(chunk), detail(detail) {}
  uint64_t matrix;
  size_t chunk;       // index in the tensor's chunk list
  std::string detail;  // "value sub-chunk: stream ends early", "checksum mismatch", ...
};

// Every matrix of a 2:4 tensor. Throws ws::FormatError for a tensor that is absent, not 2:4 or not
// bf16, and Sparse24ChunkError for a chunk that fails any check.
std::vector<Sparse24Matrix> sparse24_matrices(const ContainerReader& reader, const std::string& tensor);

// One matrix of a dense bf16 tensor as the pipeline streams it: its chunks, each decoded and checked
// (checksum included) once.
struct DenseMatrix {
  uint64_t matrix = 0;                    // flat index over the leading dims
  int rows = 0, cols = 0;
  std::vector<size_t> chunk_index;        // in the tensor's chunk list
  std::vector<std::vector<uint8_t>> bytes;  // each chunk's bytes
  std::vector<ChunkView> views;           // parsed, pointing into bytes[i] (which never move)
  DenseMatrix() = default;
  DenseMatrix(DenseMatrix&&) = default;
  DenseMatrix& operator=(DenseMatrix&&) = default;
  DenseMatrix(const DenseMatrix&) = delete;
  DenseMatrix& operator=(const DenseMatrix&) = delete;
};

// Every matrix of a dense bf16 tensor of rank >= 2. Throws ws::FormatError for a tensor that is
// absent, 2:4, not bf16, with K not a multiple of 4 or a chunk that is not whole rows of one matrix,
// and Sparse24ChunkError (same "matrix M chunk C: detail") for a chunk that fails a check.
std::vector<DenseMatrix> dense_matrices(const ContainerReader& reader, const std::string& tensor);

// One FFN matrix of a version-4 container (expert chunks, docs/format.md section 4.3, docs/lte.md) as
// the pipeline streams it under LTE: chunk e is expert e's rows of w1/w3 ([count][cols]) or its column
// block of w2 ([rows][count]), each read, decoded and checked (checksum included) once; a product
// then streams only the active experts' chunks.
struct ExpertMatrix {
  DenseMatrix chunks;                // views[e], bytes[e], chunk_index[e]: expert e's chunk
  bool column_blocks = false;        // w2: chunk e holds columns first[e] .. first[e] + count[e] - 1
  std::vector<uint32_t> first, count;  // per expert: its rows (w1/w3) or columns (w2)
  int experts() const { return int(first.size()); }
  // Beats of expert e's chunk on the pipeline (4 weights each).
  uint64_t beats(int e) const { return uint64_t(chunks.views[size_t(e)].value_count) / 4; }
};

// Every matrix of a bf16 tensor stored in dense expert chunks. Throws ws::FormatError for a tensor that is
// absent, without expert chunks, in 2:4 expert chunks (not built yet, docs/lte.md) or not bf16, or whose rows (w1/w3) or column blocks (w2) are not a
// multiple of 4 values long, and Sparse24ChunkError ("matrix M chunk C: detail") for a chunk that fails a check.
std::vector<ExpertMatrix> expert_matrices(const ContainerReader& reader, const std::string& tensor);

// w1/w3 under LTE: the active experts' row chunks, in expert order, as one dense layer (its rows are
// theirs, y in that order); x has cols() values. Throws std::invalid_argument for column blocks, an
// active list of the wrong length or no active expert.
PipelineLayer expert_rows_pipeline_layer(const ExpertMatrix& m, const std::vector<uint8_t>& active,
                                         std::vector<uint16_t> x);

// w2 under LTE: expert e's column block as a dense layer [rows][count[e]]; x its count[e] activations.
// Throws std::invalid_argument for row chunks or an expert out of range.
PipelineLayer expert_columns_pipeline_layer(const ExpertMatrix& m, int e, std::vector<uint16_t> x);

}  // namespace ws
