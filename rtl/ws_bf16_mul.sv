`default_nettype none
// ws_bf16_mul: combinational bf16 x bf16 -> fp32 (docs/mac_array.md section 2). The 8 x 8-bit
// significand product is exact in fp32; rounding (to nearest even) happens only below the normal
// range (gradual underflow) and overflow gives inf. 0 * inf and NaN inputs give the canonical quiet
// NaN. Same steps as ws::bf16_mul (model/hw/mac_arith.cpp).
module ws_bf16_mul (
  input  wire  [15:0] a_i,
  input  wire  [15:0] b_i,
  output logic [31:0] p_o
);
  localparam logic [31:0] CanonicalNaN = 32'h7FC0_0000;

  logic               sign, a_nan, b_nan, a_inf, b_inf, a_zero, b_zero;
  logic [7:0]         ma, mb, ea, eb;
  logic [15:0]        prod, prod_n;
  logic [3:0]         lz;
  logic signed [10:0] e;        // fp32 exponent field of the normalised product
  logic [4:0]         sh;       // right shift into the subnormal range, at most 25
  logic [48:0]        shifted;  // {significand, 25 bits shifted out}
  logic [23:0]        mant_r;   // < 2^23 before rounding, so no carry out
  logic               round_up;

  assign sign   = a_i[15] ^ b_i[15];
  assign a_nan  = (a_i[14:7] == 8'hFF) && (a_i[6:0] != 7'd0);
  assign b_nan  = (b_i[14:7] == 8'hFF) && (b_i[6:0] != 7'd0);
  assign a_inf  = (a_i[14:7] == 8'hFF) && (a_i[6:0] == 7'd0);
  assign b_inf  = (b_i[14:7] == 8'hFF) && (b_i[6:0] == 7'd0);
  assign a_zero = a_i[14:0] == 15'd0;
  assign b_zero = b_i[14:0] == 15'd0;
  // Subnormals: exponent 1, hidden bit 0.
  assign ea   = (a_i[14:7] == 8'd0) ? 8'd1 : a_i[14:7];
  assign eb   = (b_i[14:7] == 8'd0) ? 8'd1 : b_i[14:7];
  assign ma   = {a_i[14:7] != 8'd0, a_i[6:0]};
  assign mb   = {b_i[14:7] != 8'd0, b_i[6:0]};
  assign prod = ma * mb;

  // Leading zeros of the (non-zero) product.
  function automatic logic [3:0] lead_zeros(input logic [15:0] v);
    lead_zeros = 4'd15;
    for (int i = 0; i < 16; i++) begin
      if (v[i]) lead_zeros = 4'(15 - i);
    end
  endfunction

  assign lz = lead_zeros(prod);
  assign prod_n = prod << lz;
  // value = prod_n * 2^(ea + eb - 268 - lz), prod_n in [2^15, 2^16)
  assign e = $signed({3'd0, ea}) + $signed({3'd0, eb}) - 11'sd126 - $signed({7'd0, lz});

  // Subnormal result: shift right by 1 - e (clamped: 25 already rounds everything to zero).
  assign sh       = (e < -11'sd24) ? 5'd25 : 5'(11'sd1 - e);
  assign shifted  = {prod_n, 33'd0} >> sh;
  assign round_up = shifted[24] && ((shifted[23:0] != 24'd0) || shifted[25]);
  assign mant_r   = shifted[48:25] + {23'd0, round_up};

  assign p_o = (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) ? CanonicalNaN
             : (a_inf || b_inf)   ? {sign, 8'hFF, 23'd0}
             : (a_zero || b_zero) ? {sign, 31'd0}
             : (e >= 11'sd255)    ? {sign, 8'hFF, 23'd0}
             : (e >= 11'sd1)      ? {sign, e[7:0], prod_n[14:0], 8'd0}
             : {sign, 7'd0, mant_r};  // a carry into bit 23 is exponent field 1
endmodule
`resetall
