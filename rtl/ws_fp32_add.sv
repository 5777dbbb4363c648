`default_nettype none
// ws_fp32_add: combinational IEEE 754 binary32 adder (docs/mac_array.md section 2): round to nearest
// even, gradual underflow, overflow to inf, inf - inf and any NaN input give the canonical quiet NaN
// 0x7FC00000, exact cancellation gives +0. The steps follow ws::fp32_add (model/hw/mac_arith.cpp):
// order by magnitude, align with guard/round/sticky bits, add, normalise, round.
module ws_fp32_add (
  input  wire  [31:0] a_i,
  input  wire  [31:0] b_i,
  output logic [31:0] sum_o
);
  localparam logic [31:0] CanonicalNaN = 32'h7FC0_0000;

  logic        a_nan, b_nan, a_inf, b_inf, subtract;
  logic [31:0] hi;
  logic [30:0] lo;           // the sign of the smaller operand only matters through subtract
  logic [7:0]  e_big, e_small, d;
  logic [26:0] m_big, m_small, m_align, lost;
  logic [27:0] s;           // the sum with 3 extra bits (guard, round, sticky) and a carry bit
  logic [26:0] s_n;         // normalised: hidden bit at 26, or below it for a subnormal result
  logic [4:0]  lz, shl;
  logic [8:0]  e_n;
  logic [24:0] mant_r;
  logic [23:0] mant_f;
  logic [9:0]  e_f;
  logic        round_up;

  assign a_nan = (a_i[30:23] == 8'hFF) && (a_i[22:0] != 23'd0);
  assign b_nan = (b_i[30:23] == 8'hFF) && (b_i[22:0] != 23'd0);
  assign a_inf = (a_i[30:23] == 8'hFF) && (a_i[22:0] == 23'd0);
  assign b_inf = (b_i[30:23] == 8'hFF) && (b_i[22:0] == 23'd0);
  assign subtract = a_i[31] ^ b_i[31];

  // |hi| >= |lo|; the result takes the sign of hi.
  assign hi   = (b_i[30:0] > a_i[30:0]) ? b_i : a_i;
  assign lo   = (b_i[30:0] > a_i[30:0]) ? a_i[30:0] : b_i[30:0];
  // Subnormals: exponent 1 with hidden bit 0.
  assign e_big   = (hi[30:23] == 8'd0) ? 8'd1 : hi[30:23];
  assign e_small = (lo[30:23] == 8'd0) ? 8'd1 : lo[30:23];
  assign m_big   = {hi[30:23] != 8'd0, hi[22:0], 3'b000};
  assign m_small = {lo[30:23] != 8'd0, lo[22:0], 3'b000};
  assign d       = e_big - e_small;

  // Align the smaller operand; the bits shifted out survive as the sticky bit.
  always_comb begin
    lost = m_small & ~({27{1'b1}} << d);
    if (d >= 8'd27) m_align = {26'd0, m_small != 27'd0};
    else            m_align = (m_small >> d) | {26'd0, lost != 27'd0};
  end

  assign s = subtract ? {1'b0, m_big} - {1'b0, m_align} : {1'b0, m_big} + {1'b0, m_align};

  // Leading zeros of a 27-bit value (27 for zero).
  function automatic logic [4:0] lead_zeros(input logic [26:0] v);
    lead_zeros = 5'd27;
    for (int i = 0; i < 27; i++) begin
      if (v[i]) lead_zeros = 5'(26 - i);
    end
  endfunction

  assign lz = lead_zeros(s[26:0]);

  // Carry out: one right shift, keeping the sticky bit. Otherwise a left shift, but not below
  // exponent 1 (the result is then subnormal).
  assign shl = s[27] ? 5'd0 : ({3'd0, lz} < e_big - 8'd1) ? lz : 5'(e_big - 8'd1);
  assign s_n = s[27] ? {s[27:2], s[1] | s[0]} : s[26:0] << shl;
  assign e_n = s[27] ? {1'b0, e_big} + 9'd1 : {1'b0, e_big} - {4'd0, shl};

  // Round to nearest even; a carry out of the significand bumps the exponent.
  assign round_up = s_n[2] && (s_n[1] || s_n[0] || s_n[3]);
  assign mant_r   = {1'b0, s_n[26:3]} + {24'd0, round_up};
  assign mant_f   = mant_r[24] ? mant_r[24:1] : mant_r[23:0];
  assign e_f      = {1'b0, e_n} + {9'd0, mant_r[24]};

  assign sum_o = (a_nan || b_nan || (a_inf && b_inf && subtract)) ? CanonicalNaN
               : a_inf            ? a_i
               : b_inf            ? b_i
               : (s == 28'd0)     ? (subtract ? 32'd0 : {hi[31], 31'd0})  // exact zero: +0 unless -0 + -0
               : (e_f >= 10'd255) ? {hi[31], 8'hFF, 23'd0}
               : {hi[31], mant_f[23] ? e_f[7:0] : 8'd0, mant_f[22:0]};
endmodule
`resetall
