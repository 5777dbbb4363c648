`default_nettype none
// ws_stream_check: the AXI-Stream stability check behind `WS_ASSERT_STREAM (ws_assert.svh).
// Simulation only: the whole module is absent under SYNTHESIS.
`ifndef SYNTHESIS
module ws_stream_check #(
  parameter int    Bits = 1,
  parameter string Name = "stream"
) (
  input wire            clk_i,
  input wire            rst_ni,
  input wire            valid_i,
  input wire            ready_i,
  input wire [Bits-1:0] data_i
);
  logic            stall_q;  // valid without ready on the last edge: the beat must still be there
  logic [Bits-1:0] prev_q;

  always @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      stall_q <= 1'b0;
    end else begin
      if (stall_q) begin
        assert (valid_i && data_i == prev_q)
          else $error("%m: %s changed or dropped before it was taken", Name);
      end
      stall_q <= valid_i && !ready_i;
    end
  end
  always @(posedge clk_i) prev_q <= data_i;
endmodule
`endif
`resetall
