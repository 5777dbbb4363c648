`default_nettype none
// ws_sparse_mac_array: y = W x for a 2:4-sparse W, Rows output rows at a time, GroupsPerCycle groups
// of 4 columns per row per cycle, INT8 or BF16 (docs/mac_array.md).
//
// Weight beat: for row r and group g, a ws_pkg::sparse_group_t at (r*GroupsPerCycle + g)*36;
// meta = idx0 | idx1 << 2 with idx0 < idx1 picks the group's columns of v0 and v1. Beats
// go row block by row block, row_beats (CTRL) beats per row, w_last on the matrix's final beat.
// Column j of the packed matrix multiplies x[perm[j]]: the activation buffer is read through the
// permutation table (reset to the identity).
// Output beat: Rows 32-bit results (row r in bits 32r+31:32r) after each row block, out_last on the
// matrix's final block. Per row: acc = 0, then per beat acc = add(acc, tree of the beat's 2G products).
// Configuration (cfg port, only while idle): address 0 = CTRL {row_beats[15:0], 15'b0, mode}, mode
// 1 = BF16; address MaxK + j = perm[j]. Errors: see ws_mac_ctrl.
module ws_sparse_mac_array #(
  parameter int Rows           = 4,
  parameter int GroupsPerCycle = 2,    // a power of two
  parameter int MaxK           = 256   // longest row (columns), a power of two >= 8 * GroupsPerCycle
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
  input  wire  [Rows*GroupsPerCycle*ws_pkg::SPARSE_GROUP_BITS-1:0] w_data_i,
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
  `WS_PARAM_CHECK(g_check_rows, Rows >= 1, ("ws_sparse_mac_array: Rows = %0d, must be >= 1", Rows))
  `WS_PARAM_CHECK(g_check_groups, GroupsPerCycle >= 1 && GroupsPerCycle == 2 ** $clog2(GroupsPerCycle),
                  ("ws_sparse_mac_array: GroupsPerCycle = %0d, must be a power of two", GroupsPerCycle))

  localparam int G     = GroupsPerCycle;
  localparam int Lanes = 2 * G;   // multipliers per row
  localparam int Cols  = 4 * G;   // columns per beat
  localparam int GB    = ws_pkg::SPARSE_GROUP_BITS;
  localparam int WBits = Rows * G * GB;

  logic                mode, en, w_fire, acc_valid, acc_first, emit, meta_bad;
  logic [Cols*16-1:0]  x_gather;
  logic [WBits-1:0]    s1_w_q;
  logic [Cols*16-1:0]  s1_x_q;
  logic [Rows*32-1:0]  sums, out_data_q;

  // Metadata check on the incoming beat: idx0 must be below idx1.
  always_comb begin
    meta_bad = 1'b0;
    for (int k = 0; k < Rows * G; k++) begin
      if (w_data_i[GB*k + ws_pkg::SPARSE_GROUP_META_LSB +: 2]
          >= w_data_i[GB*k + ws_pkg::SPARSE_GROUP_META_LSB + 2 +: 2]) meta_bad = 1'b1;
    end
  end

  ws_mac_ctrl #(
    .Cols   (Cols),
    .Stages (1 + $clog2(Lanes)),
    .MaxK   (MaxK),
    .UsePerm(1)
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
    .w_meta_bad_i(meta_bad),
    .out_valid_o (out_valid_o),
    .out_ready_i (out_ready_i),
    .out_last_o  (out_last_o),
    .err_clear_i (err_clear_i),
    .err_o       (err_o),
    .err_cause_o (err_cause_o),
    .mode_o      (mode),
    .en_o        (en),
    .w_fire_o    (w_fire),
    .x_gather_o  (x_gather),
    .acc_valid_o (acc_valid),
    .acc_first_o (acc_first),
    .emit_o      (emit)
  );

  // S1: the accepted beat and its gathered activations (datapath: no reset).
  always_ff @(posedge clk_i) begin
    if (w_fire) begin
      s1_w_q <= w_data_i;
      s1_x_q <= x_gather;
    end
  end

  for (genvar r = 0; r < Rows; r++) begin : g_row
    logic [Lanes*16-1:0] w_lanes, x_lanes;
    // Each group's metadata picks 2 of its 4 activations (as it is: a bad nibble is flagged, not fixed).
    for (genvar g = 0; g < G; g++) begin : g_group
      localparam int At = GB * (r * G + g);
      logic [3:0] meta;
      assign meta = s1_w_q[At + ws_pkg::SPARSE_GROUP_META_LSB +: 4];
      assign w_lanes[32*g +: 16]      = s1_w_q[At + ws_pkg::SPARSE_GROUP_V0_LSB +: 16];
      assign w_lanes[32*g + 16 +: 16] = s1_w_q[At + ws_pkg::SPARSE_GROUP_V1_LSB +: 16];
      assign x_lanes[32*g +: 16]      = s1_x_q[64*g + 16*meta[1:0] +: 16];
      assign x_lanes[32*g + 16 +: 16] = s1_x_q[64*g + 16*meta[3:2] +: 16];
    end
    ws_mac_row #(.Lanes(Lanes)) u_row (
      .clk_i      (clk_i),
      .en_i       (en),
      .mode_i     (mode),
      .w_i        (w_lanes),
      .x_i        (x_lanes),
      .acc_valid_i(acc_valid),
      .acc_first_i(acc_first),
      .sum_o      (sums[32*r +: 32])
    );
  end

  always_ff @(posedge clk_i) begin
    if (emit) out_data_q <= sums;
  end
  assign out_data_o = out_data_q;

  // AXI-Stream rule on the output and, as assumptions about the environment, on the three inputs.
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, {out_last_o, out_data_o})
  `WS_ASSERT_STREAM(w_stable, w_valid_i, w_ready_o, {w_last_i, w_data_i})
  `WS_ASSERT_STREAM(act_stable, act_valid_i, act_ready_o, {act_last_i, act_data_i})
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_addr_i, cfg_data_i})
endmodule
`resetall
