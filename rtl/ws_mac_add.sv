`default_nettype none
// ws_mac_add: one adder of the MAC arrays, both modes (docs/mac_array.md section 2).
// mode_i 1 (BF16): fp32 + fp32 (ws_fp32_add). mode_i 0 (INT8): int32 + int32, wrapping modulo 2^32.
module ws_mac_add (
  input  wire         mode_i,
  input  wire  [31:0] a_i,
  input  wire  [31:0] b_i,
  output logic [31:0] s_o
);
  logic [31:0] s_fp32;

  ws_fp32_add u_fp32 (
    .a_i  (a_i),
    .b_i  (b_i),
    .sum_o(s_fp32)
  );
  assign s_o = mode_i ? s_fp32 : a_i + b_i;
endmodule
`resetall
