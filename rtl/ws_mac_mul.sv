`default_nettype none
// ws_mac_mul: one multiplier lane of the MAC arrays, both modes (docs/mac_array.md section 2).
// mode_i 1 (BF16): bf16 x bf16 -> fp32. mode_i 0 (INT8): int8 (bits 7:0) x int8 -> int32.
module ws_mac_mul (
  input  wire         mode_i,
  input  wire  [15:0] w_i,
  input  wire  [15:0] x_i,
  output logic [31:0] p_o
);
  logic        [31:0] p_bf16;
  logic signed [15:0] p_int8;

  ws_bf16_mul u_bf16 (
    .a_i(w_i),
    .b_i(x_i),
    .p_o(p_bf16)
  );
  assign p_int8 = $signed(w_i[7:0]) * $signed(x_i[7:0]);
  assign p_o    = mode_i ? p_bf16 : {{16{p_int8[15]}}, p_int8};
endmodule
`resetall
