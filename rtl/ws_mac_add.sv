`default_nettype none
// ws_mac_add: the adder of the MAC arrays, pipelined (docs/mac_array.md sections 2 and 3). Per
// operation, int_i chooses fp32 + fp32 (IEEE 754 binary32: round to nearest even, gradual underflow,
// overflow to inf, inf - inf and any NaN input give the canonical quiet NaN 0x7FC00000, an exact
// cancellation gives +0, -0 + -0 = -0) or int32 + int32 (wrapping). The fp32 steps are those of
// ws::fp32_add (model/hw/mac_arith.cpp); an int32 addition uses the significand adder with no
// alignment and no normalisation.
//
// Free-running, one operation per cycle: operands on a_i/b_i during cycle c give s_o during cycle
// c + ws_pkg::MAC_ADD_STAGES - 1, combinationally from the eighth register; the caller registers
// s_o (the ninth stage), so an accumulator can write it straight into its partial sum. int_o is
// the int_i of the operation on s_o. Stages (at most about 3 LUT levels or one carry chain each on
// ECP5, where a routing hop costs 1 to 1.5 ns):
//   1 magnitude compare, exponent differences, trailing zeros of both significands, special cases
//   2 order by magnitude, alignment shift by 8s
//   3 alignment shift by 0 .. 7, sticky bit, operand inversion for a subtraction, normalisation
//     stopper
//   4 add
//   5 leading zeros per 8-bit block (limited by the stopper: no shift below exponent 1), zero test
//   6 leading zeros in all, normalisation shift by 8s
//   7 normalisation shift by 0 .. 7, exponent, the result of the special cases and of int32
//   8 round to nearest even (the increment)
//   9 final exponent, overflow, result
module ws_mac_add (
  input  wire         clk_i,
  input  wire         int_i,   // 1: int32 + int32 (INT8 mode), 0: fp32 + fp32 (BF16 mode)
  input  wire  [31:0] a_i,
  input  wire  [31:0] b_i,
  output logic        int_o,
  output logic [31:0] s_o
);
  localparam logic [31:0] CanonicalNaN = 32'h7FC0_0000;

  `include "ws_lead_zeros.svh"

  // Operands are aligned on their raw exponent fields: a subnormal (field 0) counts with exponent 0
  // and its significand doubled, {fraction, 0}, which is its value at exponent 1 and keeps the
  // exponent difference a plain subtraction of the fields. A subnormal big operand means both are
  // subnormal; its exponent 0 then makes the normalisation shift 0, and stage 6's handling of a
  // carry out (take t[27:1]) halves the doubled sum back.
  //
  // Sticky bit: the alignment by d shifts a set bit out when d exceeds the lowest set bit of the
  // small operand's {m, 3'b000}. For a fraction f that bit is tzf = 4 + trailing zeros of f (27 for
  // f = 0) when subnormal, tzf - 1 when normal. tzf comes in two steps of about two LUT levels
  // each (stages 1 and 2): per 8-bit block of {f, 4'b0000} from the bottom whether it is zero and
  // its own trailing zeros; then the first non-zero block.
  function automatic logic [14:0] low_bit_blocks(input logic [22:0] f);  // {zero[2:0], tz[3..0]}
    logic [31:0] v, r;
    v = {5'b11111, f, 4'b0000};  // the top block is never zero
    for (int i = 0; i < 32; i++) r[i] = v[31 - i];
    for (int k = 0; k < 4; k++) begin
      if (k < 3) low_bit_blocks[12 + k] = v[8*k +: 8] == 8'd0;
      low_bit_blocks[3*k +: 3] = 3'(lead_zeros32({r[31 - 8*k -: 8], 24'hFFFFFF}));
    end
  endfunction

  function automatic logic [4:0] low_bit(input logic [14:0] blocks);
    logic [2:0] z;
    z = blocks[14:12];
    if (!z[0])      low_bit = {2'd0, blocks[2:0]};
    else if (!z[1]) low_bit = {2'd1, blocks[5:3]};
    else if (!z[2]) low_bit = {2'd2, blocks[8:6]};
    else            low_bit = {2'd3, blocks[11:9]};
  endfunction

  // ---------------------------------------------------------------------------------------------
  // Stage 1
  logic        a_sub, b_sub;   // subnormal or zero
  logic [23:0] ma, mb;         // significands: {1, f}, or {f, 0} for a subnormal
  logic        a_nan, b_nan, a_inf, b_inf;
  logic        b_bigger;       // |b| > |a|: the borrow of |a| - |b|, one carry chain
  logic [30:0] unused_mag_diff;

  assign {b_bigger, unused_mag_diff} = {1'b0, a_i[30:0]} - {1'b0, b_i[30:0]};
  assign a_sub = a_i[30:23] == 8'd0;
  assign b_sub = b_i[30:23] == 8'd0;
  assign ma    = a_sub ? {a_i[22:0], 1'b0} : {1'b1, a_i[22:0]};
  assign mb    = b_sub ? {b_i[22:0], 1'b0} : {1'b1, b_i[22:0]};
  assign a_nan = (a_i[30:23] == 8'hFF) && (a_i[22:0] != 23'd0);
  assign b_nan = (b_i[30:23] == 8'hFF) && (b_i[22:0] != 23'd0);
  assign a_inf = (a_i[30:23] == 8'hFF) && (a_i[22:0] == 23'd0);
  assign b_inf = (b_i[30:23] == 8'hFF) && (b_i[22:0] == 23'd0);

  logic [31:0] r1_ma, r1_mb;         // {5'b0, m, 3'b000}, or the operand itself for int32
  logic [7:0]  r1_ea, r1_eb;
  logic        r1_sign_a, r1_sign_b, r1_sub_a, r1_sub_b, r1_nz_a, r1_nz_b;
  logic        r1_int, r1_swap, r1_sub;
  logic        r1_a_nan, r1_b_nan, r1_a_inf, r1_b_inf;  // combined in stage 2
  logic [7:0]  r1_d_ab, r1_d_ba;
  logic [14:0] r1_low_a, r1_low_b;   // low_bit_blocks of the fractions

  always_ff @(posedge clk_i) begin
    r1_ma       <= int_i ? a_i : {5'd0, ma, 3'b000};
    r1_mb       <= int_i ? b_i : {5'd0, mb, 3'b000};
    r1_ea       <= a_i[30:23];
    r1_eb       <= b_i[30:23];
    r1_sign_a   <= a_i[31];
    r1_sign_b   <= b_i[31];
    r1_sub_a    <= a_sub;
    r1_sub_b    <= b_sub;
    r1_nz_a     <= !int_i && !(a_sub && (a_i[22:0] == 23'd0));
    r1_nz_b     <= !int_i && !(b_sub && (b_i[22:0] == 23'd0));
    r1_int      <= int_i;
    r1_swap     <= !int_i && b_bigger;  // b is the big operand
    r1_sub      <= !int_i && (a_i[31] ^ b_i[31]);
    r1_a_nan    <= a_nan;
    r1_b_nan    <= b_nan;
    r1_a_inf    <= a_inf;
    r1_b_inf    <= b_inf;
    r1_d_ab     <= int_i ? 8'd0 : a_i[30:23] - b_i[30:23];
    r1_d_ba     <= b_i[30:23] - a_i[30:23];
    r1_low_a    <= low_bit_blocks(a_i[22:0]);
    r1_low_b    <= low_bit_blocks(b_i[22:0]);
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 2: the big operand's significand goes to X, the small one's is shifted right by d: by
  // its 8s here, for both orders at once (the order picks one of them after the shift).
  logic [31:0] s2_a8, s2_b8;  // a's significand as the small one (by d_ba), and b's (by d_ab)
  logic [7:0]  s2_e_big;

  assign s2_a8    = r1_ma >> {r1_d_ba[4:3], 3'b000};
  assign s2_b8    = r1_mb >> {r1_d_ab[4:3], 3'b000};
  assign s2_e_big = r1_swap ? r1_eb : r1_ea;

  logic [31:0] r2_x, r2_y;
  logic [7:0]  r2_d;
  logic        r2_far;          // d >= 32: nothing but the sticky bit is left of the small operand
  logic [4:0]  r2_tzf;          // tzf of the small operand
  logic        r2_small_sub, r2_nz_small, r2_int, r2_sub, r2_sign, r2_nan, r2_inf, r2_inf_sign;
  logic [7:0]  r2_e_big;
  logic        r2_stop;         // the normalisation stops at exponent 1: at bit r2_stop_at
  logic [4:0]  r2_stop_at;      // 27 - e_big (e_big <= 27)

  always_ff @(posedge clk_i) begin
    r2_x         <= r1_swap ? r1_mb : r1_ma;
    r2_y         <= r1_swap ? s2_a8 : s2_b8;
    r2_d         <= r1_swap ? r1_d_ba : r1_d_ab;
    r2_far       <= r1_swap ? (r1_d_ba[7:5] != 3'd0) : (r1_d_ab[7:5] != 3'd0);
    r2_tzf       <= r1_swap ? low_bit(r1_low_a) : low_bit(r1_low_b);
    r2_small_sub <= r1_swap ? r1_sub_a : r1_sub_b;
    r2_nz_small  <= r1_swap ? r1_nz_a : r1_nz_b;
    r2_int       <= r1_int;
    r2_sub       <= r1_sub;
    r2_sign      <= r1_swap ? r1_sign_b : r1_sign_a;
    r2_nan       <= r1_a_nan || r1_b_nan || (r1_a_inf && r1_b_inf && (r1_sign_a ^ r1_sign_b));
    r2_inf       <= r1_a_inf || r1_b_inf;
    r2_inf_sign  <= r1_a_inf ? r1_sign_a : r1_sign_b;
    r2_e_big     <= s2_e_big;
    r2_stop      <= s2_e_big <= 8'd27;
    r2_stop_at   <= 5'd27 - s2_e_big[4:0];
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 3
  logic [31:0] s3_y;
  logic        s3_sticky;

  assign s3_sticky = r2_nz_small && (r2_small_sub ? (r2_d > {3'd0, r2_tzf}) : (r2_d >= {3'd0, r2_tzf}));

  always_comb begin
    s3_y    = r2_far ? 32'd0 : (r2_y >> r2_d[2:0]);
    s3_y[0] = s3_y[0] | s3_sticky;
  end

  logic [31:0] r3_x, r3_y;
  logic [27:0] r3_stop;  // one bit at 27 - e_big (none above 27): the shift stops at exponent 1
  logic        r3_int, r3_sub, r3_sign, r3_nan, r3_inf, r3_inf_sign;
  logic [7:0]  r3_e_big;

  always_ff @(posedge clk_i) begin
    r3_x        <= r2_x;
    r3_y        <= s3_y ^ {32{r2_sub}};
    r3_stop     <= r2_stop ? (28'd1 << r2_stop_at) : 28'd0;
    r3_int      <= r2_int;
    r3_sub      <= r2_sub;
    r3_sign     <= r2_sign;
    r3_nan      <= r2_nan;
    r3_inf      <= r2_inf;
    r3_inf_sign <= r2_inf_sign;
    r3_e_big    <= r2_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 4: x + (y ^ sub) + sub as one adder, the carry-in riding in an extra low bit.
  logic [32:0] s4_sum;
  logic        unused_carry_in;  // the extra low bit only carries sub into bit 1
  assign s4_sum          = {r3_x, 1'b1} + {r3_y, r3_sub};
  assign unused_carry_in = s4_sum[0];

  logic [31:0] r4_t;
  logic [27:0] r4_v;     // t[27:0] | stop, for the leading zeros
  logic        r4_int, r4_sub, r4_sign, r4_nan, r4_inf, r4_inf_sign;
  logic [7:0]  r4_e_big;

  always_ff @(posedge clk_i) begin
    r4_t        <= s4_sum[32:1];
    r4_v        <= s4_sum[28:1] | r3_stop;
    r4_int      <= r3_int;
    r4_sub      <= r3_sub;
    r4_sign     <= r3_sign;
    r4_nan      <= r3_nan;
    r4_inf      <= r3_inf;
    r4_inf_sign <= r3_inf_sign;
    r4_e_big    <= r3_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 5: the fp32 sum is t[27:0] (bit 27 the carry). u = its leading zeros, at most e_big
  // (the stopper): the left shift that normalises, or 0 after a carry, which the shift then takes
  // back as a right shift by one. Per 8-bit block of t | stop: all zero, and its leading zeros.
  logic [27:0] r5_t;
  logic [3:0]  r5_t_hi;  // t[31:28] (int32)
  logic [3:1]  r5_zb;    // blocks v[27:20], v[19:12], v[11:4] are zero (the last, v[3:0], never)
  logic [2:0]  r5_f3, r5_f2, r5_f1, r5_f0;  // leading zeros within each block
  logic        r5_zero, r5_int, r5_sub, r5_sign, r5_nan, r5_inf, r5_inf_sign;
  logic [7:0]  r5_e_big;

  always_ff @(posedge clk_i) begin
    r5_t        <= r4_t[27:0];
    r5_t_hi     <= r4_t[31:28];
    r5_zb[3]    <= !r4_int && (r4_v[27:20] == 8'd0);
    r5_zb[2]    <= !r4_int && (r4_v[19:12] == 8'd0);
    r5_zb[1]    <= !r4_int && (r4_v[11:4] == 8'd0);
    r5_f3       <= r4_int ? 3'd0 : 3'(lead_zeros32({r4_v[27:20], 24'hFFFFFF}));
    r5_f2       <= 3'(lead_zeros32({r4_v[19:12], 24'hFFFFFF}));
    r5_f1       <= 3'(lead_zeros32({r4_v[11:4], 24'hFFFFFF}));
    r5_f0       <= 3'(lead_zeros32({r4_v[3:0], 28'hFFFFFFF}));
    r5_zero     <= r4_t[27:0] == 28'd0;
    r5_int      <= r4_int;
    r5_sub      <= r4_sub;
    r5_sign     <= r4_sign;
    r5_nan      <= r4_nan;
    r5_inf      <= r4_inf;
    r5_inf_sign <= r4_inf_sign;
    r5_e_big    <= r4_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 6: u = 8 * (zero blocks before the first set bit) + that block's leading zeros; shift by
  // the 8s.
  logic [1:0]  s6_c;
  logic [2:0]  s6_f;

  always_comb begin
    s6_c = r5_zb[3] ? (r5_zb[2] ? (r5_zb[1] ? 2'd3 : 2'd2) : 2'd1) : 2'd0;
    case (s6_c)
      2'd0:    s6_f = r5_f3;
      2'd1:    s6_f = r5_f2;
      2'd2:    s6_f = r5_f1;
      default: s6_f = r5_f0;
    endcase
  end

  // The special cases and int32 become one constant result; what the exponent field becomes when
  // it overflows or is a constant is known here (overflow needs u = 0 or 1, that is c = 0 and the
  // top block's count 0 or 1), so that stage 7 only picks between that and its subtraction.
  logic [31:0] s6_const;
  logic        s6_is_const, s6_ovf0, s6_ovf1;  // ovf: e_n >= 255, e_n + 1 >= 255

  always_comb begin
    if (r5_int)       s6_const = {r5_t_hi, r5_t};
    else if (r5_nan)  s6_const = CanonicalNaN;
    else if (r5_inf)  s6_const = {r5_inf_sign, 8'hFF, 23'd0};
    else              s6_const = r5_sub ? 32'd0 : {r5_sign, 31'd0};  // exact zero
  end
  assign s6_is_const = r5_int || r5_nan || r5_inf || r5_zero;
  assign s6_ovf0     = !r5_zb[3] && (r5_f3 == 3'd0) && (r5_e_big == 8'd254);
  assign s6_ovf1     = !r5_zb[3] && (((r5_f3 == 3'd0) && (r5_e_big >= 8'd253))
                                     || ((r5_f3 == 3'd1) && (r5_e_big == 8'd254)));

  logic [27:0] r6_t;     // t << 8c
  logic [4:0]  r6_u;
  logic [7:0]  r6_e_big1, r6_e_big2;  // e_big + 1, e_big + 2 (mod 256): stage 7 subtracts u from each
  logic        r6_sel0, r6_sel1;      // the field without / with a carry is r6_v0 / r6_v1, not e - u
  logic [7:0]  r6_v0, r6_v1;
  logic        r6_x0_zero;            // without a carry, the field is 0 unless the hidden bit is set
  logic        r6_mant_const;         // the mantissa is r6_mc: a constant, or an overflow without carry
  logic [22:0] r6_mc;
  logic        r6_sign, r6_int;

  always_ff @(posedge clk_i) begin
    r6_t          <= r5_t << {s6_c, 3'b000};
    r6_u          <= {s6_c, s6_f};
    r6_e_big1     <= r5_e_big + 8'd1;
    r6_e_big2     <= r5_e_big + 8'd2;
    r6_sel0       <= s6_is_const || s6_ovf0;
    r6_sel1       <= s6_is_const || s6_ovf1;
    r6_v0         <= s6_is_const ? s6_const[30:23] : 8'hFF;
    r6_v1         <= s6_is_const ? s6_const[30:23] : 8'hFF;
    r6_x0_zero    <= !s6_is_const && !s6_ovf0;
    r6_mant_const <= s6_is_const || s6_ovf0;
    r6_mc         <= s6_is_const ? s6_const[22:0] : 23'd0;
    r6_sign       <= s6_is_const ? s6_const[31] : r5_sign;
    r6_int        <= r5_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 7: shift by the rest of u; the exponent field without (x0) and with (x1) a rounding carry;
  // the round-up bit from the low bits.
  logic [27:4] s7_w;      // the normalised sum above its low bits
  logic [4:0]  s7_low;    // its low 5 bits, beside the wide shift (0 when u >= 8)

  assign s7_w   = 24'((r6_t << r6_u[2:0]) >> 4);
  assign s7_low = (r6_u[2:0] > 3'd4) ? 5'd0 : (r6_t[4:0] << r6_u[2:0]);

  logic [23:0] r7_m;         // the significand before rounding (hidden bit at 23, or 0: subnormal)
  logic        r7_round_up;  // round to nearest even: guard and (sticky or round or odd)
  logic [7:0]  r7_x0, r7_x1; // exponent field without / with a rounding carry; overflow gives FF
  logic        r7_x0_zero;   // ... the field without a carry is 0 unless the hidden bit is set
  logic        r7_mant_const;// mantissa from r7_mc: a constant result or an overflow without carry
  logic [22:0] r7_mc;
  logic        r7_sign, r7_int;

  always_ff @(posedge clk_i) begin
    r7_m          <= s7_w[27:4];
    // guard w[3], then round w[2], sticky w[1] | w[0], and the last kept bit w[4]
    r7_round_up   <= s7_low[3] && (s7_low[2] || s7_low[1] || s7_low[0] || s7_low[4]);
    r7_x0         <= r6_sel0 ? r6_v0 : r6_e_big1 - {3'd0, r6_u};  // e_n, 1 .. 255
    r7_x1         <= r6_sel1 ? r6_v1 : r6_e_big2 - {3'd0, r6_u};  // e_n + 1
    r7_x0_zero    <= r6_x0_zero;
    r7_mant_const <= r6_mant_const;
    r7_mc         <= r6_mc;
    r7_sign       <= r6_sign;
    r7_int        <= r6_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 8: round.
  logic [24:0] s8_mant_r;
  assign s8_mant_r = {1'b0, r7_m} + {24'd0, r7_round_up};

  logic [24:0] r8_mant_r;
  logic [7:0]  r8_x0, r8_x1;
  logic        r8_x0_zero, r8_mant_const, r8_sign, r8_int;
  logic [22:0] r8_mc;

  always_ff @(posedge clk_i) begin
    r8_mant_r     <= s8_mant_r;
    r8_x0         <= r7_x0;
    r8_x1         <= r7_x1;
    r8_x0_zero    <= r7_x0_zero;
    r8_mant_const <= r7_mant_const;
    r8_mc         <= r7_mc;
    r8_sign       <= r7_sign;
    r8_int        <= r7_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 9: a carry out of the significand (it becomes 2^23 with the exponent one up) picks x1.
  // Without one, a result with no hidden bit is subnormal (its exponent is 1 then, so only the
  // field's low bit needs clearing).
  logic       carry;
  logic [7:0] field;

  assign carry = r8_mant_r[24];
  assign field = carry ? r8_x1 : {r8_x0[7:1], r8_x0[0] && !(r8_x0_zero && !r8_mant_r[23])};

  assign s_o   = {r8_sign, field, r8_mant_const ? r8_mc : r8_mant_r[22:0]};
  assign int_o = r8_int;
endmodule
`resetall
