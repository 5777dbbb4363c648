`default_nettype none
// ws_dense_mac_array: the dense baseline of ws_sparse_mac_array (docs/mac_array.md section 5): the
// same multipliers (2 * GroupsPerCycle per row), the same ws_mac_row arithmetic and pipeline, the
// same control, ports and configuration, but every weight is streamed and multiplied, zero or not,
// and there is no permutation table (perm writes are a config error; x[j] goes to column j).
//
// Weight beat: for row r and lane l, 16 bits at (r*2*GroupsPerCycle + l)*16: W[row][beat*2G + l].
// Beats go row block by row block, row_beats (CTRL) beats per row, w_last on the final beat.
// Output, configuration and errors: as ws_sparse_mac_array.
module ws_dense_mac_array #(
  parameter int Rows           = 4,
  parameter int GroupsPerCycle = 2,    // a power of two
  parameter int MaxK           = 256   // longest row (columns), a power of two, 8 * GroupsPerCycle .. 8192
                                       // (the same bounds as the sparse array)
) (
  input  wire                              clk_i,
  input  wire                              rst_ni,
  input  wire                              cfg_valid_i,
  output logic                             cfg_ready_o,
  input  wire  [$clog2(MaxK):0]            cfg_addr_i,
  input  wire  [31:0]                      cfg_data_i,
  input  wire                              act_valid_i,
  output logic                             act_ready_o,
  input  wire  [15:0]                      act_data_i,
  input  wire                              act_last_i,
  input  wire                              w_valid_i,
  output logic                             w_ready_o,
  input  wire  [Rows*GroupsPerCycle*32-1:0]           w_data_i,
  input  wire                              w_last_i,
  output logic                             out_valid_o,
  input  wire                              out_ready_i,
  output logic [Rows*32-1:0]               out_data_o,
  output logic                             out_last_o,
  input  wire                              err_clear_i,
  output logic                             err_o,
  output logic [2:0]                       err_cause_o   // ws_pkg::mac_err_e
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_rows, Rows >= 1, ("ws_dense_mac_array: Rows = %0d, must be >= 1", Rows))
  `WS_PARAM_CHECK(g_check_groups, GroupsPerCycle >= 1 && GroupsPerCycle == 2 ** $clog2(GroupsPerCycle),
                  ("ws_dense_mac_array: GroupsPerCycle = %0d, must be a power of two", GroupsPerCycle))

  localparam int G     = GroupsPerCycle;
  localparam int Lanes = 2 * G;   // multipliers per row
  localparam int Cols  = Lanes;   // columns per beat
  localparam int WBits = Rows * Lanes * 16;

  logic                     s2_int, acc_first, wr_en, push, push_last;
  logic [3:0]               acc_k, wr_k;
  logic [2:0]               cmb_pair;
  logic [1:0]               cmb_zero;
  logic [Cols*16-1:0]       x_cols;       // during S2: the beat's activations, column by column
  logic [WBits-1:0]         s1_w_q, s2_w_q;  // S1, S2: the beat (free-running; the schedule knows which)
  logic [Rows*Lanes*16-1:0] s3_w_q, s3_x_q;  // S3: per row and multiplier, weight and activation
  logic                     s3_int_q;
  logic [Rows*32-1:0]       ys;

  ws_mac_ctrl #(
    .Cols   (Cols),
    .Lanes  (Lanes),
    .MaxK   (MaxK),
    .UsePerm(0)
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
    .w_meta_bad_i(1'b0),
    .out_valid_i (out_valid_o),
    .out_ready_i (out_ready_i),
    .err_clear_i (err_clear_i),
    .err_o       (err_o),
    .err_cause_o (err_cause_o),
    .x_cols_o    (x_cols),
    .s2_int_o    (s2_int),
    .acc_k_o     (acc_k),
    .acc_first_o (acc_first),
    .wr_en_o     (wr_en),
    .wr_k_o      (wr_k),
    .cmb_pair_o  (cmb_pair),
    .cmb_zero_o  (cmb_zero),
    .push_o      (push),
    .push_last_o (push_last)
  );

  // S1, S2, S3 (the same three stages as the sparse array, here without a select).
  always_ff @(posedge clk_i) begin
    s1_w_q   <= w_data_i;
    s2_w_q   <= s1_w_q;
    s3_w_q   <= s2_w_q;
    s3_x_q   <= {Rows{x_cols}};
    s3_int_q <= s2_int;
  end

  for (genvar r = 0; r < Rows; r++) begin : g_row
    ws_mac_row #(.Lanes(Lanes)) u_row (
      .clk_i      (clk_i),
      .int_i      (s3_int_q),
      .w_i        (s3_w_q[Lanes*16*r +: Lanes*16]),
      .x_i        (s3_x_q[Lanes*16*r +: Lanes*16]),
      .acc_k_i    (acc_k),
      .acc_first_i(acc_first),
      .wr_en_i    (wr_en),
      .wr_k_i     (wr_k),
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
