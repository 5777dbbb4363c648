`default_nettype none
// ws_mac_ctrl: control shared by ws_sparse_mac_array and ws_dense_mac_array (docs/mac_array.md
// section 3): configuration registers, the activation buffer and its gather (through the permutation
// table when UsePerm), the beat counter, the pipeline's valid/first/last flags, the output handshake
// and the sticky error. The datapath registers live in the arrays and in ws_mac_row.
module ws_mac_ctrl #(
  parameter int Cols     = 8,    // activation columns per weight beat (a power of two, >= 2)
  parameter int Stages   = 2,    // pipeline stages from the products to the tree root (1 + levels)
  parameter int MaxK     = 256,  // activation buffer entries (a power of two, >= 2 * Cols)
  parameter int UsePerm  = 1     // 1: column j reads x[perm[j]] (sparse array); 0: x[j]
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  // Configuration writes (see ws_sparse_mac_array); ready only while idle
  input  wire                       cfg_valid_i,
  output logic                      cfg_ready_o,
  input  wire  [$clog2(MaxK):0]     cfg_addr_i,
  input  wire  [31:0]               cfg_data_i,
  // Activations, x[0] first, act_last_i on the final one; ready only while idle
  input  wire                       act_valid_i,
  output logic                      act_ready_o,
  input  wire  [15:0]               act_data_i,
  input  wire                       act_last_i,
  // Weight-stream handshake (the data goes to the array)
  input  wire                       w_valid_i,
  output logic                      w_ready_o,
  input  wire                       w_last_i,
  input  wire                       w_meta_bad_i,  // the beat on w_data carries invalid metadata
  // Output handshake (the data register is in the array)
  output logic                      out_valid_o,
  input  wire                       out_ready_i,
  output logic                      out_last_o,
  // Sticky error: the first cause since reset or the last err_clear_i pulse
  input  wire                       err_clear_i,
  output logic                      err_o,
  output logic [2:0]                err_cause_o,   // ws_pkg::mac_err_e
  // To the datapath
  output logic                      mode_o,        // 1: BF16, 0: INT8
  output logic                      en_o,          // every pipeline register advances
  output logic                      w_fire_o,      // S1 takes the beat on w_data and x_gather_o
  output logic [Cols*16-1:0]        x_gather_o,    // the activations of the beat on w_data
  output logic                      acc_valid_o,   // the tree roots hold a beat
  output logic                      acc_first_o,   // ... the first beat of a row
  output logic                      emit_o         // the output register takes the sums
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_cols, Cols >= 2 && Cols == 2 ** $clog2(Cols),
                  ("ws_mac_ctrl: Cols = %0d, must be a power of two >= 2", Cols))
  `WS_PARAM_CHECK(g_check_max_k, MaxK >= 2 * Cols && MaxK == 2 ** $clog2(MaxK),
                  ("ws_mac_ctrl: MaxK = %0d, must be a power of two >= %0d", MaxK, 2 * Cols))
  `WS_PARAM_CHECK(g_check_stages, Stages >= 2,
                  ("ws_mac_ctrl: Stages = %0d, must be >= 2", Stages))

  localparam int KW      = $clog2(MaxK);
  localparam int LogCols = $clog2(Cols);
  localparam int Beats   = MaxK / Cols;            // most beats per row
  localparam int BW      = $clog2(Beats);          // beat counter
  localparam int RBW     = $clog2(Beats + 1);      // row_beats register

  logic             mode_q, in_frame_q, out_valid_q, out_last_q;
  logic [2:0]       ev;  // ws_pkg::mac_err_e
  logic [RBW-1:0]   row_beats_q;
  logic [BW-1:0]    beat_q;
  logic [KW-1:0]    act_ptr_q;
  logic             s1_valid_q, s1_first_q, s1_last_row_q, s1_last_mat_q;
  logic [Stages-1:0] st_valid_q, st_first_q, st_last_row_q, st_last_mat_q;
  logic [MaxK*16-1:0] xbuf_q;
  logic [Cols*KW-1:0] col_idx;  // per lane: the buffer entry it reads

  logic en, idle, w_fire, cfg_fire, act_fire, row_end, act_overflow;
  logic cfg_is_perm, ctrl_bad, perm_bad, cfg_bad, ctrl_we, perm_we;
  ws_pkg::mac_ctrl_t ctrl;

  assign en       = !out_valid_q || out_ready_i;
  assign idle     = !in_frame_q && !s1_valid_q && (st_valid_q == '0);
  assign w_fire   = w_valid_i && en;
  assign cfg_fire = cfg_valid_i && idle;
  assign act_fire = act_valid_i && idle;
  assign row_end  = RBW'(beat_q) + RBW'(1) == row_beats_q;

  // Configuration: address 0 is CTRL (ws_pkg::mac_ctrl_t); address MaxK + j is perm[j].
  assign cfg_is_perm = cfg_addr_i[KW];
  assign ctrl        = cfg_data_i;
  logic unused_reserved;  // CTRL bits no mode uses yet
  assign unused_reserved = ^ctrl.reserved;
  assign ctrl_bad    = (ctrl.row_beats == 16'd0) || ({16'd0, ctrl.row_beats} > Beats);
  assign perm_bad    = (UsePerm == 0) || (cfg_data_i[31:KW] != '0);
  assign cfg_bad     = cfg_is_perm ? perm_bad : ((cfg_addr_i[KW-1:0] != '0) || ctrl_bad);
  assign ctrl_we     = cfg_fire && !cfg_is_perm && !cfg_bad;
  assign perm_we     = cfg_fire && cfg_is_perm && !cfg_bad;
  assign act_overflow = !act_last_i && (act_ptr_q == KW'(MaxK - 1));

  // Activation buffer: a register file, written one entry per transfer. No reset (datapath).
  for (genvar j = 0; j < MaxK; j++) begin : g_xbuf
    always_ff @(posedge clk_i) begin
      if (act_fire && act_ptr_q == KW'(j)) xbuf_q[16*j +: 16] <= act_data_i;
    end
  end

  // Which entry each lane reads: column beat*Cols + l, through the permutation table if any.
  if (UsePerm != 0) begin : g_perm
    logic [MaxK*KW-1:0] perm_q;  // reset to the identity
    for (genvar j = 0; j < MaxK; j++) begin : g_entry
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) perm_q[KW*j +: KW] <= KW'(j);
        else if (perm_we && cfg_addr_i[KW-1:0] == KW'(j)) perm_q[KW*j +: KW] <= cfg_data_i[KW-1:0];
      end
    end
    assign col_idx = perm_q[Cols*KW*beat_q +: Cols*KW];
  end else begin : g_direct
    logic unused_perm;  // no table: the perm write enable and data bits go nowhere
    assign unused_perm = ^{perm_we, cfg_data_i[KW-1:1]};
    for (genvar l = 0; l < Cols; l++) begin : g_lane
      assign col_idx[KW*l +: KW] = {beat_q, LogCols'(l)};
    end
  end
  for (genvar l = 0; l < Cols; l++) begin : g_gather
    assign x_gather_o[16*l +: 16] = xbuf_q[16*col_idx[KW*l +: KW] +: 16];
  end

  // Sticky error, lowest cause of the cycle first.
  always_comb begin
    ev = ws_pkg::MAC_ERR_NONE;
    if (act_fire && act_overflow)          ev = ws_pkg::MAC_ERR_ACT;
    if (cfg_fire && cfg_bad)               ev = ws_pkg::MAC_ERR_CONFIG;
    if (w_fire && w_last_i && !row_end)    ev = ws_pkg::MAC_ERR_FRAME;
    if (w_fire && w_meta_bad_i)            ev = ws_pkg::MAC_ERR_META;
  end

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev),
    .err_o,
    .cause_o(err_cause_o)
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mode_q        <= 1'b0;
      row_beats_q   <= RBW'(1);
      beat_q        <= '0;
      in_frame_q    <= 1'b0;
      act_ptr_q     <= '0;
      s1_valid_q    <= 1'b0;
      s1_first_q    <= 1'b0;
      s1_last_row_q <= 1'b0;
      s1_last_mat_q <= 1'b0;
      st_valid_q    <= '0;
      st_first_q    <= '0;
      st_last_row_q <= '0;
      st_last_mat_q <= '0;
      out_valid_q   <= 1'b0;
      out_last_q    <= 1'b0;
    end else begin
      if (ctrl_we) begin
        mode_q      <= ctrl.mode;
        row_beats_q <= ctrl.row_beats[RBW-1:0];
      end
      if (act_fire) act_ptr_q <= (act_last_i || act_overflow) ? '0 : act_ptr_q + KW'(1);
      if (w_fire) begin
        // A misplaced w_last still ends the row, so the matrix always completes.
        beat_q     <= (row_end || w_last_i) ? '0 : beat_q + BW'(1);
        in_frame_q <= !w_last_i;
      end
      if (en) begin
        s1_valid_q <= w_fire;
        if (w_fire) begin
          s1_first_q    <= beat_q == '0;
          s1_last_row_q <= row_end || w_last_i;
          s1_last_mat_q <= w_last_i;
        end
        st_valid_q    <= {st_valid_q[Stages-2:0], s1_valid_q};
        st_first_q    <= {st_first_q[Stages-2:0], s1_first_q};
        st_last_row_q <= {st_last_row_q[Stages-2:0], s1_last_row_q};
        st_last_mat_q <= {st_last_mat_q[Stages-2:0], s1_last_mat_q};
        out_valid_q   <= st_valid_q[Stages-1] && st_last_row_q[Stages-1];
        if (st_valid_q[Stages-1] && st_last_row_q[Stages-1]) out_last_q <= st_last_mat_q[Stages-1];
      end
    end
  end

  assign cfg_ready_o = idle;
  assign act_ready_o = idle;
  assign w_ready_o   = en;
  assign out_valid_o = out_valid_q;
  assign out_last_o  = out_last_q;
  assign mode_o      = mode_q;
  assign en_o        = en;
  assign w_fire_o    = w_fire;
  assign acc_valid_o = st_valid_q[Stages-1];
  assign acc_first_o = st_first_q[Stages-1];
  assign emit_o      = en && st_valid_q[Stages-1] && st_last_row_q[Stages-1];
endmodule
`resetall
