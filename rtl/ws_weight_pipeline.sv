`default_nettype none
// ws_weight_pipeline: y = W x for one 2:4-sparse bf16 layer streamed compressed (docs/weight_pipeline.md).
//
//   value desc + words ─► ws_tans_decoder (4 lanes) ─► exponents ─┐
//   raw words ───────────────────────────────────────────────────┴► ws_num_unpacker (4 lanes, bf16
//                                                                    table) ─► 4 fp32 ─► bf16 = [31:16] ─┐
//   meta desc + words ─► ws_tans_decoder (2 lanes) ─► 2 nibbles ──────────────────────────────────────────┴► join
//   join ─► ws_sparse_mac_array (Rows 1, GroupsPerCycle 2, BF16) ─► y
//
// Stream contract: each row of W[M][K] is padded with zero groups (nibble 0x4, values +0) to K8 = K
// rounded up to 8 columns, so one row is K8/8 beats of 4 kept values and 2 nibbles. Every decoder and
// unpacker beat is full (chunks hold whole rows); a partial beat, value and metadata chunks that end on
// different beats, and a layer that ends inside a chunk are errors of the top.
// The join passes a (value, metadata) beat pair to the MAC array only while the layer's activation
// vector is loaded (act_last taken, until the layer's w_last beat), so the decoders may run ahead of
// the activations. The beat counter raises w_last on beat LAYER_BEATS - 1.
// After any error (sticky, first cause since reset; reset to recover) the join drains both beat
// streams without passing them on, so no input stream can hang.
module ws_weight_pipeline #(
  parameter int MaxK          = 256,  // longest row (MAC array), a power of two, 16 .. 2048
  parameter int ValueTableLog = 12,   // MaxTableLog of the value (exponent) decoder, 5 .. 12
  parameter int MetaTableLog  = 8,    // MaxTableLog of the metadata decoder, 5 .. 12
  parameter int CountBits     = 32,   // symbol count width of both decoders' descriptors
  parameter int BeatBits      = 24    // LAYER_BEATS register: beats per layer < 2^BeatBits
) (
  input  wire                          clk_i,
  input  wire                          rst_ni,
  // Configuration: cfg_addr_i[15:12] selects the block, [11:0] the offset in it (address map in
  // docs/weight_pipeline.md). Ready as the selected block's port; unknown addresses are taken and
  // raise an error.
  input  wire                          cfg_valid_i,
  output logic                         cfg_ready_o,
  input  wire  [15:0]                  cfg_addr_i,
  input  wire  [31:0]                  cfg_data_i,
  // Value chunks: descriptors and symbol-stream words of the exponent decoder
  input  wire                          vdesc_valid_i,
  output logic                         vdesc_ready_o,
  input  wire  [5+CountBits+64-1:0]    vdesc_data_i,
  input  wire                          vword_valid_i,
  output logic                         vword_ready_o,
  input  wire  [31:0]                  vword_data_i,
  input  wire                          vword_last_i,
  // Value chunks: raw-stream words (sign << 7 | mantissa, 8 bits per value)
  input  wire                          raw_valid_i,
  output logic                         raw_ready_o,
  input  wire  [31:0]                  raw_data_i,
  input  wire                          raw_last_i,
  // Metadata chunks: descriptors and symbol-stream words of the nibble decoder
  input  wire                          mdesc_valid_i,
  output logic                         mdesc_ready_o,
  input  wire  [5+CountBits+32-1:0]    mdesc_data_i,
  input  wire                          mword_valid_i,
  output logic                         mword_ready_o,
  input  wire  [31:0]                  mword_data_i,
  input  wire                          mword_last_i,
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
  // Sticky error: {block[2:0], cause[2:0]}; block 1 top, 2 value decoder, 3 metadata decoder,
  // 4 number unpacker, 5 MAC array; the cause is the block's own code
  output logic                         err_o,
  output logic [5:0]                   err_cause_o
);
  localparam int KW = $clog2(MaxK);

  // Regions of cfg_addr_i[15:12]
  localparam logic [3:0] RegValue = 4'd0;  // value decoder table entry  (offset < 2^ValueTableLog)
  localparam logic [3:0] RegMeta  = 4'd1;  // metadata decoder table entry (offset < 2^MetaTableLog)
  localparam logic [3:0] RegUnp   = 4'd2;  // unpacker: 0..255 format entries, 256 mode
  localparam logic [3:0] RegMac   = 4'd3;  // MAC array: 0 CTRL, MaxK + j perm[j]
  localparam logic [3:0] RegTop   = 4'd4;  // top registers: 0 LAYER_BEATS

  // Blocks in err_cause_o[5:3]
  localparam logic [2:0] BlkTop  = 3'd1;
  localparam logic [2:0] BlkVDec = 3'd2;
  localparam logic [2:0] BlkMDec = 3'd3;
  localparam logic [2:0] BlkUnp  = 3'd4;
  localparam logic [2:0] BlkMac  = 3'd5;

  // Causes of block 1 (the top)
  localparam logic [2:0] ErrNone       = 3'd0;
  localparam logic [2:0] ErrValuePart  = 3'd1;  // a value beat with fewer than 4 numbers
  localparam logic [2:0] ErrMetaPart   = 3'd2;  // a metadata beat with fewer than 2 nibbles
  localparam logic [2:0] ErrChunkEnds  = 3'd3;  // value and metadata chunks end on different beats
  localparam logic [2:0] ErrLayerEnd   = 3'd4;  // the layer's last beat is not its chunks' last
  localparam logic [2:0] ErrMetaSym    = 3'd5;  // a metadata symbol above 15
  localparam logic [2:0] ErrCfg        = 3'd6;  // unknown address, or LAYER_BEATS 0 or too large

  // ---------------------------------------------------------------------------------------------
  // Configuration routing
  logic [3:0]  region;
  logic [11:0] offset;
  logic        sel_v, sel_m, sel_u, sel_a, sel_t, cfg_bad;
  logic        v_cfg_ready, m_cfg_ready, u_cfg_ready, a_cfg_ready;

  assign region = cfg_addr_i[15:12];
  assign offset = cfg_addr_i[11:0];
  assign sel_v  = region == RegValue && (offset >> ValueTableLog) == 12'd0;
  assign sel_m  = region == RegMeta && (offset >> MetaTableLog) == 12'd0;
  assign sel_u  = region == RegUnp && offset <= 12'd256;
  assign sel_a  = region == RegMac && (offset >> (KW + 1)) == 12'd0;
  assign sel_t  = region == RegTop && offset == 12'd0;

  // A layer is open from its LAYER_BEATS write to its last weight beat: the MAC array's configuration
  // and LAYER_BEATS of the next layer wait until it closes (the MAC array alone would take them as soon
  // as it is idle, which it also is before the open layer's first beat).
  logic open_q;
  always_comb begin
    cfg_ready_o = 1'b1;  // unknown addresses: taken at once
    if (sel_v) cfg_ready_o = v_cfg_ready;
    if (sel_m) cfg_ready_o = m_cfg_ready;
    if (sel_u) cfg_ready_o = u_cfg_ready;
    if (sel_a) cfg_ready_o = a_cfg_ready && !open_q;
    if (sel_t) cfg_ready_o = !open_q;
  end

  logic top_cfg_fire;
  assign top_cfg_fire = cfg_valid_i && !sel_v && !sel_m && !sel_u && !sel_a && !(sel_t && open_q);
  assign cfg_bad = top_cfg_fire &&
                   (!sel_t || cfg_data_i == 32'd0 || (cfg_data_i >> BeatBits) != 32'd0);

  // ---------------------------------------------------------------------------------------------
  // The blocks
  logic                 v_out_valid, v_out_ready, v_out_last, v_err;
  logic [31:0]          v_out_data;
  logic [2:0]           v_out_count, v_cause;
  logic                 m_out_valid, m_out_ready, m_out_last, m_err;
  logic [15:0]          m_out_data;
  logic [1:0]           m_out_count;
  logic [2:0]           m_cause;
  logic                 u_out_valid, u_out_ready, u_out_last, u_err;
  logic [127:0]         u_out_data;
  logic [2:0]           u_out_count, u_cause;
  logic                 w_valid, w_ready, w_last, a_err;
  logic [71:0]          w_data;
  logic [2:0]           a_cause;
  logic                 a_act_ready;

  ws_tans_decoder #(
    .Lanes      (4),
    .MaxTableLog(ValueTableLog),
    .WordBits   (32),
    .CountBits  (CountBits)
  ) u_vdec (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .cfg_valid_i (cfg_valid_i && sel_v),
    .cfg_ready_o (v_cfg_ready),
    .cfg_addr_i  (offset[ValueTableLog-1:0]),
    .cfg_data_i  (cfg_data_i[23:0]),
    .desc_valid_i(vdesc_valid_i),
    .desc_ready_o(vdesc_ready_o),
    .desc_data_i (vdesc_data_i),
    .in_valid_i  (vword_valid_i),
    .in_ready_o  (vword_ready_o),
    .in_data_i   (vword_data_i),
    .in_last_i   (vword_last_i),
    .out_valid_o (v_out_valid),
    .out_ready_i (v_out_ready),
    .out_data_o  (v_out_data),
    .out_count_o (v_out_count),
    .out_last_o  (v_out_last),
    .err_clear_i (1'b0),
    .err_o       (v_err),
    .err_cause_o (v_cause)
  );

  ws_num_unpacker #(
    .Lanes(4)
  ) u_unp (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .cfg_valid_i(cfg_valid_i && sel_u),
    .cfg_ready_o(u_cfg_ready),
    .cfg_addr_i (offset[8:0]),
    .cfg_data_i (cfg_data_i[20:0]),
    .sym_valid_i(v_out_valid),
    .sym_ready_o(v_out_ready),
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
    .err_o      (u_err),
    .err_cause_o(u_cause)
  );

  ws_tans_decoder #(
    .Lanes      (2),
    .MaxTableLog(MetaTableLog),
    .WordBits   (32),
    .CountBits  (CountBits)
  ) u_mdec (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .cfg_valid_i (cfg_valid_i && sel_m),
    .cfg_ready_o (m_cfg_ready),
    .cfg_addr_i  (offset[MetaTableLog-1:0]),
    .cfg_data_i  (cfg_data_i[23:0]),
    .desc_valid_i(mdesc_valid_i),
    .desc_ready_o(mdesc_ready_o),
    .desc_data_i (mdesc_data_i),
    .in_valid_i  (mword_valid_i),
    .in_ready_o  (mword_ready_o),
    .in_data_i   (mword_data_i),
    .in_last_i   (mword_last_i),
    .out_valid_o (m_out_valid),
    .out_ready_i (m_out_ready),
    .out_data_o  (m_out_data),
    .out_count_o (m_out_count),
    .out_last_o  (m_out_last),
    .err_clear_i (1'b0),
    .err_o       (m_err),
    .err_cause_o (m_cause)
  );

  // ---------------------------------------------------------------------------------------------
  // Join, activation gate, beat counter
  logic                x_loaded_q, err_q;
  logic [5:0]          cause_q;
  logic [BeatBits-1:0] layer_beats_q, beat_q;
  logic                pair_valid, w_fire, act_fire;
  logic [2:0]          ev;

  assign pair_valid = u_out_valid && m_out_valid;
  // Beat pairs go to the MAC array only while the layer's activations are loaded and no error is up;
  // after an error both sides drain.
  assign w_valid     = pair_valid && x_loaded_q && !err_q;
  assign u_out_ready = err_q || (w_ready && x_loaded_q && m_out_valid);
  assign m_out_ready = err_q || (w_ready && x_loaded_q && u_out_valid);
  assign w_fire      = w_valid && w_ready;
  assign w_last      = beat_q == layer_beats_q - 1'b1;

  // MAC weight beat: group 0 = numbers 0, 1 with nibble 0; group 1 = numbers 2, 3 with nibble 1;
  // a group is {meta[3:0], v1[15:0], v0[15:0]}, a value the top half of the unpacker's fp32 word.
  assign w_data = {m_out_data[11:8], u_out_data[127:112], u_out_data[95:80],
                   m_out_data[3:0],  u_out_data[63:48],   u_out_data[31:16]};

  // Activations only while the previous layer's weights are all in (x_loaded_q low).
  assign act_ready_o = a_act_ready && !x_loaded_q;
  assign act_fire    = act_valid_i && act_ready_o;

  // Errors of the top, found on a beat pair going to the MAC array and on configuration writes
  always_comb begin
    ev = ErrNone;
    if (w_fire) begin
      if (u_out_count != 3'd4) ev = ErrValuePart;
      else if (m_out_count != 2'd2) ev = ErrMetaPart;
      else if (u_out_last != m_out_last) ev = ErrChunkEnds;
      else if (w_last && !u_out_last) ev = ErrLayerEnd;
      else if (m_out_data[7:4] != 4'd0 || m_out_data[15:12] != 4'd0) ev = ErrMetaSym;
    end
    if (ev == ErrNone && cfg_bad) ev = ErrCfg;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      x_loaded_q    <= 1'b0;
      open_q        <= 1'b0;
      layer_beats_q <= BeatBits'(1);
      beat_q        <= '0;
      err_q         <= 1'b0;
      cause_q       <= '0;
    end else begin
      if (act_fire && act_last_i) x_loaded_q <= 1'b1;
      else if (w_fire && w_last) x_loaded_q <= 1'b0;
      if (top_cfg_fire && sel_t && !cfg_bad) layer_beats_q <= cfg_data_i[BeatBits-1:0];
      if (top_cfg_fire && sel_t && !cfg_bad) open_q <= 1'b1;
      else if (w_fire && w_last) open_q <= 1'b0;
      if (w_fire) beat_q <= w_last ? '0 : beat_q + 1'b1;
      if (!err_q) begin
        // The first error since reset; blocks in stream order when several rise together.
        if (v_err) begin
          err_q <= 1'b1; cause_q <= {BlkVDec, v_cause};
        end else if (m_err) begin
          err_q <= 1'b1; cause_q <= {BlkMDec, m_cause};
        end else if (u_err) begin
          err_q <= 1'b1; cause_q <= {BlkUnp, u_cause};
        end else if (a_err) begin
          err_q <= 1'b1; cause_q <= {BlkMac, a_cause};
        end else if (ev != ErrNone) begin
          err_q <= 1'b1; cause_q <= {BlkTop, ev};
        end
      end
    end
  end
  assign err_o       = err_q;
  assign err_cause_o = cause_q;

  ws_sparse_mac_array #(
    .Rows          (1),
    .GroupsPerCycle(2),
    .MaxK          (MaxK)
  ) u_mac (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .cfg_valid_i(cfg_valid_i && sel_a && !open_q),
    .cfg_ready_o(a_cfg_ready),
    .cfg_addr_i (offset[KW:0]),
    .cfg_data_i (cfg_data_i),
    .act_valid_i(act_valid_i && !x_loaded_q),
    .act_ready_o(a_act_ready),
    .act_data_i (act_data_i),
    .act_last_i (act_last_i),
    .w_valid_i  (w_valid),
    .w_ready_o  (w_ready),
    .w_data_i   (w_data),
    .w_last_i   (w_last),
    .out_valid_o(y_valid_o),
    .out_ready_i(y_ready_i),
    .out_data_o (y_data_o),
    .out_last_o (y_last_o),
    .err_clear_i(1'b0),
    .err_o      (a_err),
    .err_cause_o(a_cause)
  );

`ifndef SYNTHESIS
  // AXI-Stream rule on the output, and as assumptions on the configuration and activation inputs
  // (the blocks check the descriptor, word and raw inputs themselves).
  logic        y_stall_q, cfg_stall_q, act_stall_q;
  logic [32:0] y_prev_q;
  logic [47:0] cfg_prev_q;
  logic [16:0] act_prev_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      y_stall_q   <= 1'b0;
      cfg_stall_q <= 1'b0;
      act_stall_q <= 1'b0;
    end else begin
      if (y_stall_q) begin
        assert (y_valid_o && {y_last_o, y_data_o} == y_prev_q)
          else $error("ws_weight_pipeline: y beat changed or dropped before it was taken");
      end
      if (cfg_stall_q) begin
        assert (cfg_valid_i && {cfg_addr_i, cfg_data_i} == cfg_prev_q)
          else $error("ws_weight_pipeline: config write changed or dropped before it was taken");
      end
      if (act_stall_q) begin
        assert (act_valid_i && {act_last_i, act_data_i} == act_prev_q)
          else $error("ws_weight_pipeline: activation changed or dropped before it was taken");
      end
      // The join's own handshake: a pair offered to the MAC array stays until taken or an error drains it.
      y_stall_q   <= y_valid_o && !y_ready_i;
      cfg_stall_q <= cfg_valid_i && !cfg_ready_o;
      act_stall_q <= act_valid_i && !act_ready_o;
    end
  end
  always @(posedge clk_i) begin
    y_prev_q   <= {y_last_o, y_data_o};
    cfg_prev_q <= {cfg_addr_i, cfg_data_i};
    act_prev_q <= {act_last_i, act_data_i};
  end
`endif
endmodule
