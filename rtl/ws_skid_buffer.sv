`default_nettype none
// ws_skid_buffer: a register slice for one valid/ready stream. in_ready_o, out_valid_o and out_data_o
// all come straight from flip-flops, so no combinational path crosses it in either direction: a long
// ready chain is cut in two. Full throughput (one transfer per cycle in and out), one cycle of latency.
//
// The output register holds the head of the stream. in_ready_o is high while the spare register is
// empty; a word that arrives while the output register is full and not being taken parks in the spare
// register (and in_ready_o falls on the next cycle), and moves to the output register when that
// drains. Same scheme as verilog-axis's axis_register (REG_TYPE 2) and PULP's spill_register.
module ws_skid_buffer #(
  parameter int Width = 32  // data bits (put last/count fields in here too)
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              in_valid_i,
  output logic             in_ready_o,
  input  wire  [Width-1:0] in_data_i,
  output logic             out_valid_o,
  input  wire              out_ready_i,
  output logic [Width-1:0] out_data_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_width, Width >= 1, ("ws_skid_buffer: Width = %0d, must be >= 1", Width))

  logic             out_valid_q, spare_valid_q;
  logic [Width-1:0] out_data_q, spare_data_q;
  logic             in_fire, out_free;

  assign in_ready_o = !spare_valid_q;
  assign in_fire    = in_valid_i && !spare_valid_q;
  assign out_free   = !out_valid_q || out_ready_i;  // the output register may load this cycle

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_valid_q   <= 1'b0;
      spare_valid_q <= 1'b0;
    end else if (out_free) begin
      out_valid_q   <= spare_valid_q || in_fire;  // the spare word first: it is older
      spare_valid_q <= 1'b0;
    end else if (in_fire) begin
      spare_valid_q <= 1'b1;
    end
  end

  // Data registers: no reset.
  always_ff @(posedge clk_i) begin
    if (out_free) out_data_q <= spare_valid_q ? spare_data_q : in_data_i;
    // The spare register follows the input while it is empty (read only once spare_valid_q is set,
    // and then it holds), so its enable is a flip-flop and not the input's late valid.
    if (!spare_valid_q) spare_data_q <= in_data_i;
  end

  assign out_valid_o = out_valid_q;
  assign out_data_o  = out_data_q;

  `WS_ASSERT_STREAM(in_stable, in_valid_i, in_ready_o, in_data_i)
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, out_data_o)
endmodule
`resetall
