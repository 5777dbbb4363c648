// The hardware contract on the C++ side: the names and values of rtl/ws_pkg.sv, in namespace
// ws::pkg, spelt as in the package so that one grep finds both. The build checks every item against
// the RTL (scripts/ws_pkg_check.py generates a static_assert for each): change the package, and this
// file must change with it.
//
// A packed struct is a struct of Fields (LSB position and width, the first SystemVerilog field the
// most significant) with its total width in BITS; get() and put() read and write a field in a word.
#pragma once

#include <cstdint>

namespace ws::pkg {

struct Field {
  int lsb;
  int bits;
  constexpr uint64_t mask() const { return bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1; }
  constexpr uint64_t get(uint64_t word) const { return word >> lsb & mask(); }
  // The value placed at the field; bits of value beyond the field's width are dropped.
  constexpr uint64_t put(uint64_t value) const { return (value & mask()) << lsb; }
};

// ---------------------------------------------------------------------------------------------------
// tANS decoder

struct tans_entry_t {
  static constexpr Field next_base{12, 12};
  static constexpr Field nb_bits{8, 4};
  static constexpr Field symbol{0, 8};
  static constexpr int BITS = 24;
};
constexpr int TANS_ENTRY_SYMBOL_LSB = tans_entry_t::symbol.lsb;
constexpr int TANS_ENTRY_NB_BITS_LSB = tans_entry_t::nb_bits.lsb;
constexpr int TANS_ENTRY_NEXT_BASE_LSB = tans_entry_t::next_base.lsb;

struct tans_desc_head_t {
  static constexpr Field bank{4, 1};
  static constexpr Field table_log{0, 4};
  static constexpr int BITS = 5;
};
constexpr int TANS_DESC_HEAD_BITS = tans_desc_head_t::BITS;
constexpr int TANS_UNIT_BITS = 16;
constexpr int TANS_MIN_TABLE_LOG = 5;
constexpr int TANS_MAX_TABLE_LOG = 12;
constexpr int STREAM_WORD_BITS = 32;
constexpr int raw_word_bits(int lanes) { return lanes > 4 ? 2 * STREAM_WORD_BITS : STREAM_WORD_BITS; }

constexpr int tans_err_e_bits = 3;
enum tans_err_e : uint8_t {
  TANS_ERR_NONE = 0,
  TANS_ERR_ENDS_EARLY = 1,
  TANS_ERR_LEFT_OVER = 2,
  TANS_ERR_FINAL_STATE = 3,
  TANS_ERR_NO_TABLE = 4,
  TANS_ERR_BAD_DESC = 5,
  TANS_ERR_BAD_ENTRY = 6,
};

// ---------------------------------------------------------------------------------------------------
// Number unpacker

struct unp_entry_t {
  static constexpr Field scale{11, 10};
  static constexpr Field implicit_one{10, 1};
  static constexpr Field sign{8, 2};
  static constexpr Field raw_bits{3, 5};
  static constexpr Field cls{0, 3};
  static constexpr int BITS = 21;
};
constexpr int UNP_ENTRY_BITS = unp_entry_t::BITS;
constexpr int UNP_ENTRY_CLS_LSB = unp_entry_t::cls.lsb;
constexpr int UNP_ENTRY_RAW_BITS_LSB = unp_entry_t::raw_bits.lsb;
constexpr int UNP_ENTRY_SIGN_LSB = unp_entry_t::sign.lsb;
constexpr int UNP_ENTRY_IMPLICIT_ONE_LSB = unp_entry_t::implicit_one.lsb;
constexpr int UNP_ENTRY_SCALE_LSB = unp_entry_t::scale.lsb;

constexpr int unp_class_e_bits = 3;
enum unp_class_e : uint8_t {
  UNP_CLASS_NONE = 0,
  UNP_CLASS_ZERO = 1,
  UNP_CLASS_FINITE = 2,
  UNP_CLASS_FINITE_NAN_MAX = 3,
  UNP_CLASS_INF = 4,
  UNP_CLASS_NAN = 5,
  UNP_CLASS_INF_NAN = 6,
};

constexpr int unp_sign_e_bits = 2;
enum unp_sign_e : uint8_t {
  UNP_SIGN_RAW = 0,
  UNP_SIGN_PLUS = 1,
  UNP_SIGN_MINUS = 2,
};

constexpr int UNP_CFG_ADDR_BITS = 9;
constexpr int UNP_CFG_MODE = 256;

constexpr int unp_err_e_bits = 3;
enum unp_err_e : uint8_t {
  UNP_ERR_NONE = 0,
  UNP_ERR_RUNS_OUT = 1,
  UNP_ERR_UNKNOWN = 2,
  UNP_ERR_LEFT_OVER = 3,
  UNP_ERR_BAD_CFG = 4,
};

// ---------------------------------------------------------------------------------------------------
// MAC arrays

constexpr int mac_mode_e_bits = 1;
enum mac_mode_e : uint8_t {
  MAC_INT8 = 0,
  MAC_BF16 = 1,
};

constexpr int MAC_ACC_PARTIALS = 16;  // partial sums per row (docs/mac_array.md section 2)
constexpr int MAC_ACC_READ_STAGES = 1;  // a partial sum's read: the select register
constexpr int MAC_ADD_STAGES = 11;    // pipelined adder, operand and output registers included
constexpr int MAC_MUL_STAGES = 10;    // pipelined multiplier, output register included

struct mac_ctrl_t {
  static constexpr Field row_beats{16, 16};
  static constexpr Field reserved{1, 15};
  static constexpr Field mode{0, 1};
  static constexpr int BITS = 32;
};

struct sparse_group_t {
  static constexpr Field meta{32, 4};
  static constexpr Field v1{16, 16};
  static constexpr Field v0{0, 16};
  static constexpr int BITS = 36;
};
constexpr int SPARSE_GROUP_BITS = sparse_group_t::BITS;
constexpr int SPARSE_GROUP_V0_LSB = sparse_group_t::v0.lsb;
constexpr int SPARSE_GROUP_V1_LSB = sparse_group_t::v1.lsb;
constexpr int SPARSE_GROUP_META_LSB = sparse_group_t::meta.lsb;

constexpr int mac_err_e_bits = 3;
enum mac_err_e : uint8_t {
  MAC_ERR_NONE = 0,
  MAC_ERR_META = 1,
  MAC_ERR_FRAME = 2,
  MAC_ERR_CONFIG = 3,
  MAC_ERR_ACT = 4,
};

// ---------------------------------------------------------------------------------------------------
// The whole datapath, ws_weight_pipeline

constexpr int WP_CFG_OFFSET_BITS = 13;
constexpr int wp_cfg_region_e_bits = 3;
enum wp_cfg_region_e : uint8_t {
  WP_CFG_VALUE_TABLE = 0,
  WP_CFG_META_TABLE = 1,
  WP_CFG_UNPACKER = 2,
  WP_CFG_MAC = 3,
  WP_CFG_TOP = 4,
  WP_CFG_VALUE_TABLE1 = 5,
  WP_CFG_META_TABLE1 = 6,
};
constexpr int WP_TOP_LAYER_BEATS = 0;
constexpr int WP_TOP_LAYER_DENSE = 1;
constexpr int WP_DENSE_NIBBLE0 = 4;   // idx {0, 1}
constexpr int WP_DENSE_NIBBLE1 = 14;  // idx {2, 3}
// A configuration address: region and offset.
constexpr uint32_t wp_cfg_addr(wp_cfg_region_e region, uint32_t offset) {
  return uint32_t(region) << WP_CFG_OFFSET_BITS | offset;
}

constexpr int WP_VALUE_LANES = 4;
constexpr int WP_META_LANES = 2;

constexpr int wp_block_e_bits = 3;
enum wp_block_e : uint8_t {
  WP_BLK_NONE = 0,
  WP_BLK_TOP = 1,
  WP_BLK_VALUE_DEC = 2,
  WP_BLK_META_DEC = 3,
  WP_BLK_UNPACKER = 4,
  WP_BLK_MAC = 5,
};

struct wp_cause_t {
  static constexpr Field block{3, 3};
  static constexpr Field cause{0, 3};
  static constexpr int BITS = 6;
};

constexpr int wp_err_e_bits = 3;
enum wp_err_e : uint8_t {
  WP_ERR_NONE = 0,
  WP_ERR_VALUE_PARTIAL = 1,
  WP_ERR_META_PARTIAL = 2,
  WP_ERR_CHUNK_ENDS = 3,
  WP_ERR_LAYER_END = 4,
  WP_ERR_META_SYMBOL = 5,
  WP_ERR_CONFIG = 6,
};

// ---------------------------------------------------------------------------------------------------
// DiJiang's feature map, ws_dijiang_feature_map (docs/dijiang_hw.md)

constexpr int DIJ_X_BITS = 18;
constexpr int DIJ_X_FRAC = 8;
constexpr int DIJ_P_BITS = 18;
constexpr int DIJ_P_FRAC = 12;
constexpr int DIJ_EXP_INDEX_BITS = 8;
constexpr int DIJ_EXP_BITS = 17;
constexpr int DIJ_PHI_FRAC = 16;
constexpr int DIJ_PHI_BITS = 17;
constexpr int DIJ_RECIP_LOG = 33;
constexpr int DIJ_CFG_ADDR_BITS = 16;
constexpr int DIJ_CFG_EXP_BASE = 4096;

constexpr int DIJ_S_BITS = 44;
constexpr int DIJ_S_FRAC = 24;
constexpr int DIJ_DELTA_FRAC = 22;
constexpr int DIJ_DELTA_MIN = 8192;
constexpr int DIJ_DELTA_MAX = 131072;
constexpr int DIJ_O_BITS = 44;
constexpr int DIJ_O_FRAC = 16;

constexpr int dij_err_e_bits = 3;
enum dij_err_e : uint8_t {
  DIJ_ERR_NONE = 0,
  DIJ_ERR_NOT_LOADED = 1,
  DIJ_ERR_FRAME = 2,
  DIJ_ERR_RANGE = 3,
  DIJ_ERR_CONFIG = 4,
};

}  // namespace ws::pkg
