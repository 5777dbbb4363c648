`default_nettype none
// ws_sparse_mac_array: y = W x for a 2:4-sparse W, Rows output rows at a time, GroupsPerCycle groups
// of 4 columns per row per cycle, INT8 or BF16 (docs/mac_array.md).
//
// Weight beat: for row r and group g, a ws_pkg::sparse_group_t at (r*GroupsPerCycle + g)*36;
// meta = idx0 | idx1 << 2 with idx0 < idx1 picks the group's columns of v0 and v1. Beats
// go row block by row block, row_beats (CTRL) beats per row, w_last on the matrix's final beat.
// Column j of the packed matrix multiplies x[perm[j]]: the activations are stored by column as they
// load (through the permutation table, reset to the identity), two banks so that the next matrix's
// activations load while this one streams.
// Output beat: Rows 32-bit results (row r in bits 32r+31:32r) after each row block, out_last on the
// matrix's final block. Per row: 16 partial sums, beat b into s[b mod 16], combined pairwise at the
// row's end (docs/mac_array.md section 2).
// Configuration: address 0 = CTRL {row_beats[15:0], 15'b0, mode}, mode 1 = BF16, taken by the next
// activation vector; address MaxK + j = perm[j]. Errors: see ws_mac_ctrl.
module ws_sparse_mac_array #(
  parameter int Rows           = 4,
  parameter int GroupsPerCycle = 2,    // a power of two
  parameter int MaxK           = 256   // longest row (columns), a power of two, 8 * GroupsPerCycle .. 8192
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

  logic                     s2_int, acc_first, wr_en, push, push_last;
  logic [3:0]               acc_k, wr_k;
  logic [2:0]               cmb_pair;
  logic [1:0]               cmb_zero;
  logic [Cols*16-1:0]       x_cols;       // during S2: the beat's activations, column by column
  logic [WBits-1:0]         s1_w_q, s2_w_q;  // S1, S2: the beat (free-running; the schedule knows which)
  logic [Rows*Lanes*16-1:0] s3_w_q, s3_x_q;  // S3: per row and multiplier, weight and activation
  logic                     s3_int_q;
  logic [Rows*32-1:0]       ys;
  logic                     meta_bad;

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
    .Lanes  (Lanes),
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

  // S1 and S2 wait for the column RAMs; then S3: each group's metadata picks 2 of its 4
  // activations (as it is: a bad nibble is flagged, not fixed).
  always_ff @(posedge clk_i) begin
    s1_w_q   <= w_data_i;
    s2_w_q   <= s1_w_q;
    s3_int_q <= s2_int;
  end

  for (genvar r = 0; r < Rows; r++) begin : g_s3
    for (genvar g = 0; g < G; g++) begin : g_group
      localparam int At = GB * (r * G + g);
      localparam int L  = Lanes * 16 * r + 32 * g;  // this group's two lanes in the S3 vectors
      logic [3:0] meta;
      assign meta = s2_w_q[At + ws_pkg::SPARSE_GROUP_META_LSB +: 4];
      always_ff @(posedge clk_i) begin
        s3_w_q[L +: 16]      <= s2_w_q[At + ws_pkg::SPARSE_GROUP_V0_LSB +: 16];
        s3_w_q[L + 16 +: 16] <= s2_w_q[At + ws_pkg::SPARSE_GROUP_V1_LSB +: 16];
        s3_x_q[L +: 16]      <= x_cols[64*g + 16*meta[1:0] +: 16];
        s3_x_q[L + 16 +: 16] <= x_cols[64*g + 16*meta[3:2] +: 16];
      end
    end
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
