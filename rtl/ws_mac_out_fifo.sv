`default_nettype none
// ws_mac_out_fifo: the MAC arrays' result queue (docs/mac_array.md section 3). The datapath runs
// free, so results arrive whether or not the output is taken; ws_mac_ctrl accepts a row's last beat
// only while this queue (Depth entries plus the output register) has room for its result.
// A pushed entry reaches the output register at the earliest on the cycle after the push (no
// bypass); the output holds until taken (AXI-Stream rule). The memory has an asynchronous read:
// LUT RAM on ECP5 (TRELLIS_DPR16X4), flip-flops on iCE40.
module ws_mac_out_fifo #(
  parameter int Width = 33,
  parameter int Depth = 16   // a power of two, >= 2
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              push_i,
  input  wire  [Width-1:0] push_data_i,
  output logic             out_valid_o,
  input  wire              out_ready_i,
  output logic [Width-1:0] out_data_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_depth, Depth >= 2 && Depth == 2 ** $clog2(Depth),
                  ("ws_mac_out_fifo: Depth = %0d, must be a power of two >= 2", Depth))
  localparam int AW = $clog2(Depth);

`ifdef WS_ECP5
  (* ram_style = "distributed" *)
`endif
  logic [Width-1:0] mem [Depth];
  // Pointers with one bit more than the address: the queue is empty when they are equal. The
  // output handshake then reaches only clock enables (load), no counter's carry chain. "Not empty"
  // is a register of its own, ne_q (mac28: the pointers' compare in front of load, the clock enable
  // of the read pointer that addresses the whole memory, was the sparse array's 163.4 MHz limit);
  // rp1_q = rp_q + 1 tells when a load takes the last entry. Only the write pointer is reset: while
  // the queue is empty the read pointers follow it (the reset's route to the read pointer by the
  // memory was the dense array's 175.7 MHz limit), so they are defined after one clock in reset.
  logic [AW:0]      wp_q, rp_q, rp1_q, count;
  logic             ne_q, load;

  // The output register takes the oldest entry when it is empty or being taken.
  assign load  = ne_q && (!out_valid_o || out_ready_i);
  assign count = ne_q ? wp_q - rp_q : '0;  // the pointers mean nothing while the queue is empty

  always_ff @(posedge clk_i) begin
    if (push_i) mem[wp_q[AW-1:0]] <= push_data_i;
    if (load) out_data_o <= mem[rp_q[AW-1:0]];
    if (!ne_q) begin
      rp_q  <= wp_q;
      rp1_q <= wp_q + (AW+1)'(1);
    end else if (load) begin
      rp_q  <= rp1_q;
      rp1_q <= rp1_q + (AW+1)'(1);
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wp_q        <= '0;
      ne_q        <= 1'b0;
      out_valid_o <= 1'b0;
    end else begin
      if (push_i) wp_q <= wp_q + (AW+1)'(1);
      ne_q <= push_i || (ne_q && !(load && wp_q == rp1_q));
      if (load) out_valid_o <= 1'b1;
      else if (out_ready_i) out_valid_o <= 1'b0;
    end
  end

  `WS_ASSERT(ne_matches, !ne_q || (wp_q != rp_q && rp1_q == rp_q + (AW+1)'(1)),
             ("ws_mac_out_fifo: the not-empty flag or rp_q + 1 disagrees with the pointers"))
  `WS_ASSERT(no_overflow, !(push_i && count == (AW+1)'(Depth) && !load),
             ("ws_mac_out_fifo: push into a full queue"))
endmodule
`resetall
