`default_nettype none
// ws_sparse_mac_array: y = W x for a 2:4-sparse W, Rows output rows at a time, GroupsPerCycle groups
// of 4 columns per row per cycle, INT8 or BF16 (docs/mac_array.md).
//
// Weight beat: for row r and group g, 36 bits at (r*GroupsPerCycle + g)*36: {meta[3:0], v1[15:0],
// v0[15:0]}; meta = idx0 | idx1 << 2 with idx0 < idx1 picks the group's columns of v0 and v1. Beats
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
  input  wire  [Rows*GroupsPerCycle*36-1:0] w_data_i,
  input  wire                              w_last_i,
  output logic                             out_valid_o,
  input  wire                              out_ready_i,
  output logic [Rows*32-1:0]               out_data_o,
  output logic                             out_last_o,
  input  wire                              err_clear_i,
  output logic                             err_o,
  output logic [2:0]                       err_cause_o
);
  localparam int G     = GroupsPerCycle;
  localparam int Lanes = 2 * G;   // multipliers per row
  localparam int Cols  = 4 * G;   // columns per beat
  localparam int WBits = Rows * G * 36;

  logic                mode, en, w_fire, acc_valid, acc_first, emit, meta_bad;
  logic [Cols*16-1:0]  x_gather;
  logic [WBits-1:0]    s1_w_q;
  logic [Cols*16-1:0]  s1_x_q;
  logic [Rows*32-1:0]  sums, out_data_q;

  // Metadata check on the incoming beat: idx0 must be below idx1.
  always_comb begin
    meta_bad = 1'b0;
    for (int k = 0; k < Rows * G; k++) begin
      if (w_data_i[36*k+32 +: 2] >= w_data_i[36*k+34 +: 2]) meta_bad = 1'b1;
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
      localparam int At = 36 * (r * G + g);
      logic [3:0] meta;
      assign meta = s1_w_q[At+32 +: 4];
      assign w_lanes[32*g +: 32]      = s1_w_q[At +: 32];
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

`ifndef SYNTHESIS
  // AXI-Stream rule: once valid, a beat holds until it is taken. Checked on the output and, as
  // assumptions about the environment, on the three inputs.
  logic                  out_stall_q, w_stall_q, act_stall_q, cfg_stall_q;
  logic [Rows*32:0]      out_prev_q;
  logic [WBits:0]        w_prev_q;
  logic [16:0]           act_prev_q;
  logic [$clog2(MaxK)+32:0] cfg_prev_q;
  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_stall_q <= 1'b0;
      w_stall_q   <= 1'b0;
      act_stall_q <= 1'b0;
      cfg_stall_q <= 1'b0;
    end else begin
      if (out_stall_q) begin
        assert (out_valid_o && {out_last_o, out_data_o} == out_prev_q)
          else $error("ws_sparse_mac_array: output beat changed or dropped before it was taken");
      end
      if (w_stall_q) begin
        assert (w_valid_i && {w_last_i, w_data_i} == w_prev_q)
          else $error("ws_sparse_mac_array: weight beat changed or dropped before it was taken");
      end
      if (act_stall_q) begin
        assert (act_valid_i && {act_last_i, act_data_i} == act_prev_q)
          else $error("ws_sparse_mac_array: activation changed or dropped before it was taken");
      end
      if (cfg_stall_q) begin
        assert (cfg_valid_i && {cfg_addr_i, cfg_data_i} == cfg_prev_q)
          else $error("ws_sparse_mac_array: config write changed or dropped before it was taken");
      end
      out_stall_q <= out_valid_o && !out_ready_i;
      w_stall_q   <= w_valid_i && !w_ready_o;
      act_stall_q <= act_valid_i && !act_ready_o;
      cfg_stall_q <= cfg_valid_i && !cfg_ready_o;
    end
  end
  always @(posedge clk_i) begin
    out_prev_q <= {out_last_o, out_data_o};
    w_prev_q   <= {w_last_i, w_data_i};
    act_prev_q <= {act_last_i, act_data_i};
    cfg_prev_q <= {cfg_addr_i, cfg_data_i};
  end
`endif
endmodule
