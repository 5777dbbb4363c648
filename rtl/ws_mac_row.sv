`default_nettype none
// ws_mac_row: the datapath of one output row, shared by the sparse and the dense array so that both
// have the same arithmetic (docs/mac_array.md sections 2 and 3). Free-running: every register
// advances every cycle, and ws_mac_ctrl's schedule says which cycles carry a beat.
//
//   Lanes multipliers (ws_mac_mul) -> a balanced pairwise tree of adders (ws_mac_add), one register
//   per level -> the beat's sum r
//   -> partial sums: beat b of a row adds r into s[b mod P] (P = ws_pkg::MAC_ACC_PARTIALS); a row's
//   first P beats start from +0. The read of s[k] takes one stage and the adder MAC_ADD_STAGES,
//   so a partial sum is free again before beat b + P can need it.
//   -> at the row's end, s[0 .. P-1] (those the row never reached are +0) go through the same
//   pairwise tree, serially: one pair per cycle into adder 1, then each level's adder takes pairs
//   of consecutive results of the level before, behind delay registers of 1, 2 and 4 cycles.
// Timing (cycle numbers of ws_mac_ctrl): operands on w_i/x_i at cycle m give the beat's sum at
// m + MUL + ADD * log2(Lanes) = r, where rd_hot_i names its partial sum; wr_en_i/wr_hot_i
// at r + READ - 1 + ADD (READ = ws_pkg::MAC_ACC_READ_STAGES) store the new partial sum; the pair reads of the row ending there follow on the next
// P/2 cycles; y_o holds the row's result 9 + 4 ADD cycles after the row's last store (P = 16).
// The schedule inputs (acc_*, wr_*, cmb_*) come one cycle ahead of these cycles: the row registers
// them beside the selects and clock enables they drive (ws_mac_ctrl sits far from the rows).
module ws_mac_row #(
  parameter int Lanes = 4  // multipliers: a power of two, at least 2
) (
  input  wire                 clk_i,
  input  wire                 int_i,        // the beat's mode: 1 INT8, 0 BF16
  input  wire  [Lanes*16-1:0] w_i,          // lane l in bits 16l+15:16l
  input  wire  [Lanes*16-1:0] x_i,
  input  wire  [15:0]         rd_hot_i,     // the beat's partial sum s[k] where bit k is set
                                            // (one-hot; none: +0, the row's first P beats)
  input  wire                 wr_en_i,      // the adder's result is a partial sum ...
  input  wire  [15:0]         wr_hot_i,     // ... store it into s[k] where bit k is set (one-hot)
  input  wire  [2:0]          cmb_pair_i,   // combine: read s[2i] and s[2i+1] ...
  input  wire  [1:0]          cmb_zero_i,   // ... as +0 where set (partial sums past the row's end)
  output logic [31:0]         y_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_lanes, Lanes >= 2 && Lanes == 2 ** $clog2(Lanes),
                  ("ws_mac_row: Lanes = %0d, must be a power of two >= 2", Lanes))
  `WS_PARAM_CHECK(g_check_partials, ws_pkg::MAC_ACC_PARTIALS == 16,
                  ("ws_mac_row: the combine schedule is written for 16 partial sums"))
  `WS_PARAM_CHECK(g_check_read, ws_pkg::MAC_ACC_READ_STAGES == 1,
                  ("ws_mac_row: the partial sums' read is written for 1 stage"))
  localparam int P     = ws_pkg::MAC_ACC_PARTIALS;
  localparam int Nodes = 2 * Lanes - 1;

  // ---------------------------------------------------------------------------------------------
  // Products and the tree. Heap layout: node 0 is the root, node i adds nodes 2i+1 and 2i+2; the
  // products are the leaves Lanes-1 .. 2*Lanes-2 in lane order. Every node is a register.
  logic [Lanes*32-1:0]     prod;
  logic [Lanes-1:0]        prod_int;
  logic [(Lanes-1)*32-1:0] node_q;
  logic [Lanes-2:0]        node_int_q;
  logic [Nodes*32-1:0]     node;       // {leaves, inner nodes}
  logic [Nodes-1:0]        node_int;   // each node's mode (both children of a node share it)
  logic                    unused_node_int;

  assign node            = {prod, node_q};
  assign node_int        = {prod_int, node_int_q};
  assign unused_node_int = ^node_int;

  for (genvar l = 0; l < Lanes; l++) begin : g_mul
    ws_mac_mul u_mul (
      .clk_i(clk_i),
      .int_i(int_i),
      .w_i  (w_i[16*l +: 16]),
      .x_i  (x_i[16*l +: 16]),
      .int_o(prod_int[l]),
      .p_o  (prod[32*l +: 32])
    );
  end

  for (genvar i = 0; i < Lanes - 1; i++) begin : g_add
    logic [31:0] sum;
    logic        sum_int;
    ws_mac_add u_add (
      .clk_i(clk_i),
      .int_i(node_int[2*i+1]),
      .a_i  (node[32*(2*i+1) +: 32]),
      .b_i  (node[32*(2*i+2) +: 32]),
      .int_o(sum_int),
      .s_o  (sum)
    );
    always_ff @(posedge clk_i) begin
      node_q[32*i +: 32] <= sum;
      node_int_q[i]      <= sum_int;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Partial sums
  logic [P*32-1:0] part;
  logic [31:0]     acc_a, acc_b, acc_sum;
  logic            acc_int, acc_sum_int, row_int;
  logic            wr_en_q;
  logic [P-1:0]    rd_hot_q, wr_hot_q;
  logic [2:0]      cmb_pair_q;
  logic [1:0]      cmb_zero_q;

  // Kept: every row has the same schedule, and Yosys would merge the rows' copies into one register
  // whose nets span the rows (docs/synth.md, "The issue's last roads, measured").
  (* keep *) always_ff @(posedge clk_i) begin
    rd_hot_q    <= rd_hot_i;
    wr_en_q     <= wr_en_i;
    wr_hot_q    <= wr_hot_i;
    cmb_pair_q  <= cmb_pair_i;
    cmb_zero_q  <= cmb_zero_i;
  end

  // The read is one stage (ws_pkg::MAC_ACC_READ_STAGES): the select into acc_a/acc_b; the adder's
  // own operand registers (its stage 0) then sit beside its decode.
  logic [31:0] part_sel;  // the read as AND-OR: rd_hot_q is one-hot or zero
  always_comb begin
    part_sel = '0;
    for (int k = 0; k < P; k++) part_sel = part_sel | (part[32*k +: 32] & {32{rd_hot_q[k]}});
  end

  always_ff @(posedge clk_i) begin
    acc_a     <= part_sel;
    acc_b     <= node[31:0];
    acc_int   <= node_int[0];
  end

  ws_mac_add u_acc (
    .clk_i(clk_i),
    .int_i(acc_int),
    .a_i  (acc_a),
    .b_i  (acc_b),
    .int_o(acc_sum_int),
    .s_o  (acc_sum)
  );

  for (genvar k = 0; k < P; k++) begin : g_part
    always_ff @(posedge clk_i) begin
      if (wr_hot_q[k]) part[32*k +: 32] <= acc_sum;  // decoded in a register: no logic before the enable
    end
  end
  always_ff @(posedge clk_i) begin
    if (wr_en_q) row_int <= acc_sum_int;  // the mode of the row whose partial sums are stored
  end

  // ---------------------------------------------------------------------------------------------
  // Combine: level 1 takes a pair per cycle; level n pairs results 2^(n-2) cycles apart.
  logic [31:0] c1_a, c1_b, c1_sum, c1_q, c1_hold;
  logic [31:0] c2_sum, c2_q, c3_sum, c3_q, c4_sum;
  logic [63:0] c2_hold;   // c2_q delayed by 1 and 2 cycles
  logic [127:0] c3_hold;  // c3_q delayed by 1 .. 4 cycles
  logic        c1_int, c1_sum_int, c1_q_int, c2_sum_int, c2_q_int, c3_sum_int, c3_q_int;
  logic        unused_c4_int;

  always_ff @(posedge clk_i) begin
    c1_a   <= cmb_zero_q[0] ? 32'd0 : part[64*cmb_pair_q +: 32];
    c1_b   <= cmb_zero_q[1] ? 32'd0 : part[64*cmb_pair_q + 32 +: 32];
    // The row's mode, taken with its first pair: the next row's stores may change row_int meanwhile.
    c1_int <= (cmb_pair_q == 3'd0) ? row_int : c1_int;
  end

  ws_mac_add u_c1 (
    .clk_i(clk_i),
    .int_i(c1_int),
    .a_i  (c1_a),
    .b_i  (c1_b),
    .int_o(c1_sum_int),
    .s_o  (c1_sum)
  );

  always_ff @(posedge clk_i) begin
    c1_q     <= c1_sum;
    c1_q_int <= c1_sum_int;
    c1_hold  <= c1_q;
  end

  ws_mac_add u_c2 (
    .clk_i(clk_i),
    .int_i(c1_q_int),
    .a_i  (c1_hold),
    .b_i  (c1_q),
    .int_o(c2_sum_int),
    .s_o  (c2_sum)
  );

  always_ff @(posedge clk_i) begin
    c2_q     <= c2_sum;
    c2_q_int <= c2_sum_int;
    c2_hold  <= {c2_hold[31:0], c2_q};
  end

  ws_mac_add u_c3 (
    .clk_i(clk_i),
    .int_i(c2_q_int),
    .a_i  (c2_hold[63:32]),
    .b_i  (c2_q),
    .int_o(c3_sum_int),
    .s_o  (c3_sum)
  );

  always_ff @(posedge clk_i) begin
    c3_q     <= c3_sum;
    c3_q_int <= c3_sum_int;
    c3_hold  <= {c3_hold[95:0], c3_q};
  end

  ws_mac_add u_c4 (
    .clk_i(clk_i),
    .int_i(c3_q_int),
    .a_i  (c3_hold[127:96]),
    .b_i  (c3_q),
    .int_o(unused_c4_int),
    .s_o  (c4_sum)
  );

  always_ff @(posedge clk_i) begin
    y_o <= c4_sum;
  end
endmodule
`resetall
