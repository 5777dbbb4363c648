`default_nettype none
// ws_sticky_error: the error flag of every block. It holds the first non-zero cause since reset or
// since the last clear_i pulse; a cause that arrives on the clearing cycle wins over the clear.
module ws_sticky_error #(
  parameter int CauseBits = 3
) (
  input  wire                  clk_i,
  input  wire                  rst_ni,
  input  wire                  clear_i,
  input  wire  [CauseBits-1:0] cause_i,  // 0: no error this cycle
  output logic                 err_o,
  output logic [CauseBits-1:0] cause_o
);
  logic                 err_q;
  logic [CauseBits-1:0] cause_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      err_q   <= 1'b0;
      cause_q <= '0;
    end else if (cause_i != '0 && (!err_q || clear_i)) begin
      err_q   <= 1'b1;
      cause_q <= cause_i;
    end else if (clear_i) begin
      err_q   <= 1'b0;
      cause_q <= '0;
    end
  end

  assign err_o   = err_q;
  assign cause_o = cause_q;
endmodule
`resetall
