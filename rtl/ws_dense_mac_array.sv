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

  logic [WBits-1:0]   s2_w;
  logic [Cols*16-1:0] x_cols;  // during S2: the beat's activations, column by column

  ws_mac_array_core #(
    .Rows    (Rows),
    .Lanes   (Lanes),
    .Cols    (Cols),
    .MaxK    (MaxK),
    .UsePerm (0),
    .BeatBits(WBits)
  ) u_core (
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
    .w_data_i    (w_data_i),
    .w_last_i    (w_last_i),
    .w_meta_bad_i(1'b0),
    .out_valid_o (out_valid_o),
    .out_ready_i (out_ready_i),
    .out_data_o  (out_data_o),
    .out_last_o  (out_last_o),
    .err_clear_i (err_clear_i),
    .err_o       (err_o),
    .err_cause_o (err_cause_o),
    .s2_w_o      (s2_w),
    .x_cols_o    (x_cols),
    .s3_w_i      (s2_w),            // the beat's lanes are the multipliers' weights ...
    .s3_x_i      ({Rows{x_cols}})   // ... and every row multiplies the same activations
  );
endmodule
`resetall
