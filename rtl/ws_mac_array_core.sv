`default_nettype none
// ws_mac_array_core: everything ws_sparse_mac_array and ws_dense_mac_array share (docs/mac_array.md
// section 3): the control (ws_mac_ctrl), the weight beat's stages S1 and S2, the S3 registers, the
// Rows datapaths (ws_mac_row), the result queue and the stream assertions. What differs between the
// two arrays is only the format of a beat: the array turns the beat in S2 (s2_w_o) and the beat's
// activations (x_cols_o) into each multiplier's weight and activation (s3_w_i, s3_x_i, combinational),
// and this module registers them as S3.
module ws_mac_array_core #(
  parameter int Rows     = 4,
  parameter int Lanes    = 4,    // multipliers per row
  parameter int Cols     = 8,    // activation columns per beat
  parameter int MaxK     = 256,
  parameter int UsePerm  = 1,    // 1: the permutation table (sparse array)
  parameter int BeatBits = 64    // w_data's width
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  input  wire                       cfg_valid_i,
  output logic                      cfg_ready_o,
  input  wire  [$clog2(MaxK):0]     cfg_addr_i,
  input  wire  [31:0]               cfg_data_i,
  input  wire                       act_valid_i,
  output logic                      act_ready_o,
  input  wire  [15:0]               act_data_i,
  input  wire                       act_last_i,
  input  wire                       w_valid_i,
  output logic                      w_ready_o,
  input  wire  [BeatBits-1:0]       w_data_i,
  input  wire                       w_last_i,
  input  wire                       w_meta_bad_i,  // the beat on w_data carries invalid metadata
  output logic                      out_valid_o,
  input  wire                       out_ready_i,
  output logic [Rows*32-1:0]        out_data_o,
  output logic                      out_last_o,
  input  wire                       err_clear_i,
  output logic                      err_o,
  output logic [2:0]                err_cause_o,   // ws_pkg::mac_err_e
  // The array's format: the beat and its activations in S2, and from them each multiplier's operands
  output logic [BeatBits-1:0]       s2_w_o,
  output logic [Cols*16-1:0]        x_cols_o,
  input  wire  [Rows*Lanes*16-1:0]  s3_w_i,        // row r, lane l at bits (r*Lanes + l)*16
  input  wire  [Rows*Lanes*16-1:0]  s3_x_i
);
  `include "ws_assert.svh"

  logic                     s2_int, wr_en, push, push_last;
  logic [15:0]              rd_hot, wr_hot;
  logic [2:0]               cmb_pair;
  logic [1:0]               cmb_zero;
  logic [BeatBits-1:0]      s1_w_q, s2_w_q;  // S1, S2: the beat (free-running; the schedule knows which)
  logic [Rows*Lanes*16-1:0] s3_w_q, s3_x_q;  // S3: per row and multiplier, weight and activation
  logic                     s3_int_q;
  logic [Rows*32-1:0]       ys;

  ws_mac_ctrl #(
    .Cols   (Cols),
    .Lanes  (Lanes),
    .MaxK   (MaxK),
    .UsePerm(UsePerm)
  ) u_ctrl (
    .clk_i       (clk_i),
    .rst_ni      (rst_ni),
    .cfg_valid_i (cfg_valid_i),
    .cfg_ready_o (cfg_ready_o),
    .cfg_addr_i  (cfg_addr_i),
    .cfg_data_i  (cfg_data_i),
    .act_valid_i (act_valid_i),
    .act_ready_o (act_ready_o),
    .act_data_i  (act_data_i),
    .act_last_i  (act_last_i),
    .w_valid_i   (w_valid_i),
    .w_ready_o   (w_ready_o),
    .w_last_i    (w_last_i),
    .w_meta_bad_i(w_meta_bad_i),
    .out_valid_i (out_valid_o),
    .out_ready_i (out_ready_i),
    .err_clear_i (err_clear_i),
    .err_o       (err_o),
    .err_cause_o (err_cause_o),
    .x_cols_o    (x_cols_o),
    .s2_int_o    (s2_int),
    .rd_hot_o    (rd_hot),
    .wr_en_o     (wr_en),
    .wr_hot_o    (wr_hot),
    .cmb_pair_o  (cmb_pair),
    .cmb_zero_o  (cmb_zero),
    .push_o      (push),
    .push_last_o (push_last)
  );

  // S1 and S2 wait for the column RAMs (their data meets the beat in S2); S3 holds the operands.
  always_ff @(posedge clk_i) begin
    s1_w_q   <= w_data_i;
    s2_w_q   <= s1_w_q;
    s3_w_q   <= s3_w_i;
    s3_x_q   <= s3_x_i;
    s3_int_q <= s2_int;
  end
  assign s2_w_o = s2_w_q;

  for (genvar r = 0; r < Rows; r++) begin : g_row
    ws_mac_row #(.Lanes(Lanes)) u_row (
      .clk_i      (clk_i),
      .int_i      (s3_int_q),
      .w_i        (s3_w_q[Lanes*16*r +: Lanes*16]),
      .x_i        (s3_x_q[Lanes*16*r +: Lanes*16]),
      .rd_hot_i   (rd_hot),
      .wr_en_i    (wr_en),
      .wr_hot_i   (wr_hot),
      .cmb_pair_i (cmb_pair),
      .cmb_zero_i (cmb_zero),
      .y_o        (ys[32*r +: 32])
    );
  end

  ws_mac_out_fifo #(.Width(Rows*32 + 1), .Depth(16)) u_out (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .push_i     (push),
    .push_data_i({push_last, ys}),
    .out_valid_o(out_valid_o),
    .out_ready_i(out_ready_i),
    .out_data_o ({out_last_o, out_data_o})
  );

  // AXI-Stream rule on the output and, as assumptions about the environment, on the three inputs.
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, {out_last_o, out_data_o})
  `WS_ASSERT_STREAM(w_stable, w_valid_i, w_ready_o, {w_last_i, w_data_i})
  `WS_ASSERT_STREAM(act_stable, act_valid_i, act_ready_o, {act_last_i, act_data_i})
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_addr_i, cfg_data_i})
endmodule
`resetall
