`default_nettype none
// ws_mac_row: the datapath of one output row, shared by the sparse and the dense array so that both
// have the same arithmetic (docs/mac_array.md section 3). Per beat: Lanes products, a balanced
// pairwise adder tree (one register level per tree level), then acc = add(first ? 0 : acc, root).
// Every register advances with en_i; the array tracks which stages hold a beat.
module ws_mac_row #(
  parameter int Lanes = 4  // multipliers: a power of two, at least 2
) (
  input  wire                  clk_i,
  input  wire                  en_i,         // the pipeline advances this cycle
  input  wire                  mode_i,       // 1: BF16, 0: INT8
  input  wire  [Lanes*16-1:0]  w_i,          // lane l in bits 16l+15:16l
  input  wire  [Lanes*16-1:0]  x_i,
  input  wire                  acc_valid_i,  // the tree root holds a beat
  input  wire                  acc_first_i,  // ... the first of its row
  output logic [31:0]          sum_o         // acc after adding the root (valid with acc_valid_i)
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_lanes, Lanes >= 2 && Lanes == 2 ** $clog2(Lanes),
                  ("ws_mac_row: Lanes = %0d, must be a power of two >= 2", Lanes))
  localparam int Nodes = 2 * Lanes - 1;

  // Heap layout: node 0 is the root, node i adds nodes 2i+1 and 2i+2, the products are the leaves
  // Lanes-1 .. 2*Lanes-2 in lane order. Every node is a register.
  logic [Nodes*32-1:0] node_d, node_q;
  logic [31:0]         acc_q;

  for (genvar l = 0; l < Lanes; l++) begin : g_mul
    ws_mac_mul u_mul (
      .mode_i(mode_i),
      .w_i   (w_i[16*l +: 16]),
      .x_i   (x_i[16*l +: 16]),
      .p_o   (node_d[32*(Lanes-1+l) +: 32])
    );
  end

  for (genvar i = 0; i < Lanes - 1; i++) begin : g_add
    ws_mac_add u_add (
      .mode_i(mode_i),
      .a_i   (node_q[32*(2*i+1) +: 32]),
      .b_i   (node_q[32*(2*i+2) +: 32]),
      .s_o   (node_d[32*i +: 32])
    );
  end

  ws_mac_add u_acc (
    .mode_i(mode_i),
    .a_i   (acc_first_i ? 32'd0 : acc_q),
    .b_i   (node_q[31:0]),
    .s_o   (sum_o)
  );

  // Datapath registers: no reset.
  always_ff @(posedge clk_i) begin
    if (en_i) node_q <= node_d;
    if (en_i && acc_valid_i) acc_q <= sum_o;
  end
endmodule
`resetall
