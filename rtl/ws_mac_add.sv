`default_nettype none
// ws_mac_add: the adder of the MAC arrays, pipelined (docs/mac_array.md sections 2 and 3). Per
// operation, int_i chooses fp32 + fp32 (IEEE 754 binary32: round to nearest even, gradual underflow,
// overflow to inf, inf - inf and any NaN input give the canonical quiet NaN 0x7FC00000, an exact
// cancellation gives +0, -0 + -0 = -0) or int32 + int32 (wrapping). The fp32 steps are those of
// ws::fp32_add (model/hw/mac_arith.cpp); an int32 addition uses the significand adder with no
// alignment and no normalisation.
//
// Free-running, one operation per cycle: operands on a_i/b_i during cycle c give s_o during cycle
// c + ws_pkg::MAC_ADD_STAGES - 1, combinationally from the tenth register; the caller registers
// s_o (the eleventh stage), so an accumulator can write it straight into its partial sum. int_o is
// the int_i of the operation on s_o. Stages (at most about 3 LUT levels or one carry chain each on
// ECP5, where a routing hop costs 1 to 1.5 ns; no select computed in a stage fans out to a whole
// significand in the same stage):
//   0 the operands into registers, and one LUT of their decode: per 4-bit piece of the exponent
//     field whether it is 0 / F, per 4-bit piece of the fraction whether it is 0 (from the register
//     of the block that made an operand, a multiplier or another adder, the route alone took 3-3.5
//     ns; the placer may leave these registers by that block, so stage 1 keeps its decode short)
//   1 decode: exponent field 0 / FF, fraction 0 (from stage 0's pieces), magnitude compare,
//     exponent differences, trailing zeros per 8-bit block of both fractions
//   2 significands, special cases, the lowest set bit of both fractions
//   3 order by magnitude, alignment shift by 8s, sticky bit for both orders (one borrow chain each)
//   4 alignment shift by 0 .. 7, the order's sticky bit (a registered select), operand inversion
//     for a subtraction, normalisation stopper
//   5 add
//   6 leading zeros per 8-bit block (limited by the stopper: no shift below exponent 1), zero test
//   7 leading zeros in all, normalisation shift by 8s
//   8 normalisation shift by 0 .. 7, exponent, the result of the special cases and of int32
//   9 round to nearest even (the increment)
//  10 final exponent, overflow, result
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
  // subnormal; its exponent 0 then makes the normalisation shift 0, and stage 7's handling of a
  // carry out (take t[27:1]) halves the doubled sum back.
  //
  // Sticky bit: the alignment by d shifts a set bit out when d exceeds the lowest set bit of the
  // small operand's {m, 3'b000}. For a fraction f that bit is tzf = 4 + trailing zeros of f (27 for
  // f = 0) when subnormal, tzf - 1 when normal. tzf comes in two steps of about two LUT levels
  // each (stages 1 and 2): per 8-bit block of {f, 4'b0000} from the bottom whether it is zero and
  // its own trailing zeros; then the first non-zero block.
  // The block zero flags come from stage 0's pieces (fz: f[4i+3:4i] == 0, i = 0 .. 4).
  function automatic logic [14:0] low_bit_blocks(input logic [22:0] f, input logic [4:0] fz);
    logic [31:0] v, r;                                  // {zero[2:0], tz[3..0]}
    v = {5'b11111, f, 4'b0000};  // the top block is never zero
    for (int i = 0; i < 32; i++) r[i] = v[31 - i];
    low_bit_blocks[12] = fz[0];                         // {f[3:0], 4'b0000}
    low_bit_blocks[13] = fz[1] && fz[2];                // f[11:4]
    low_bit_blocks[14] = fz[3] && fz[4];                // f[19:12]
    for (int k = 0; k < 4; k++) low_bit_blocks[3*k +: 3] = 3'(lead_zeros32({r[31 - 8*k -: 8], 24'hFFFFFF}));
  endfunction

  // Branch-free: Verilator 5.006's line coverage counts only the first arm of an if chain inside a
  // function, so the arms of the earlier form showed as never taken although they are (the bench's
  // MacLeaf.AdderStickyBitInEveryBlock puts the lowest set bit in every block).
  function automatic logic [4:0] low_bit(input logic [14:0] blocks);
    logic [1:0] c;  // the first non-zero block from the bottom (the top block never is zero)
    c = !blocks[12] ? 2'd0 : !blocks[13] ? 2'd1 : !blocks[14] ? 2'd2 : 2'd3;
    low_bit = {c, blocks[3*c +: 3]};
  endfunction

  // ---------------------------------------------------------------------------------------------
  // Stage 0: registers and one LUT level, so the long route from the operands' source ends here.
  logic [31:0] a_q, b_q;
  logic        int_q;
  logic [5:0]  fz_a_q, fz_b_q;   // per 4-bit piece of the fraction (the top one 3 bits): zero
  logic [1:0]  ez_a_q, ez_b_q;   // per 4-bit piece of the exponent field: 0
  logic [1:0]  ef_a_q, ef_b_q;   // ... F

  always_ff @(posedge clk_i) begin
    a_q   <= a_i;
    b_q   <= b_i;
    int_q <= int_i;
    for (int i = 0; i < 5; i++) begin
      fz_a_q[i] <= a_i[4*i +: 4] == 4'h0;
      fz_b_q[i] <= b_i[4*i +: 4] == 4'h0;
    end
    fz_a_q[5] <= a_i[22:20] == 3'h0;
    fz_b_q[5] <= b_i[22:20] == 3'h0;
    for (int i = 0; i < 2; i++) begin
      ez_a_q[i] <= a_i[23 + 4*i +: 4] == 4'h0;
      ez_b_q[i] <= b_i[23 + 4*i +: 4] == 4'h0;
      ef_a_q[i] <= a_i[23 + 4*i +: 4] == 4'hF;
      ef_b_q[i] <= b_i[23 + 4*i +: 4] == 4'hF;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 1: decode each operand's fields into flags; the magnitude compare and the exponent
  // differences (one carry chain each). Nothing here fans out to a whole significand.
  logic        b_bigger;       // |b| > |a|: the borrow of |a| - |b|
  logic [30:0] unused_mag_diff;

  assign {b_bigger, unused_mag_diff} = {1'b0, a_q[30:0]} - {1'b0, b_q[30:0]};

  logic [31:0] r1_a, r1_b;
  logic        r1_int, r1_b_bigger;
  logic        r1_sub_a, r1_sub_b;       // exponent field 0: subnormal or zero
  logic        r1_emax_a, r1_emax_b;     // exponent field FF: infinity or NaN
  logic        r1_fzero_a, r1_fzero_b;   // fraction 0
  logic [7:0]  r1_d_ab, r1_d_ba;
  logic [14:0] r1_low_a, r1_low_b;       // low_bit_blocks of the fractions

  always_ff @(posedge clk_i) begin
    r1_a        <= a_q;
    r1_b        <= b_q;
    r1_int      <= int_q;
    r1_b_bigger <= b_bigger;
    r1_sub_a    <= &ez_a_q;
    r1_sub_b    <= &ez_b_q;
    r1_emax_a   <= &ef_a_q;
    r1_emax_b   <= &ef_b_q;
    r1_fzero_a  <= &fz_a_q;
    r1_fzero_b  <= &fz_b_q;
    r1_d_ab     <= int_q ? 8'd0 : a_q[30:23] - b_q[30:23];
    r1_d_ba     <= b_q[30:23] - a_q[30:23];
    r1_low_a    <= low_bit_blocks(a_q[22:0], fz_a_q[4:0]);
    r1_low_b    <= low_bit_blocks(b_q[22:0], fz_b_q[4:0]);
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 2: the significands (their select comes from a register now), the special cases, the
  // lowest set bit of each fraction.
  logic [23:0] ma, mb;         // significands: {1, f}, or {f, 0} for a subnormal

  assign ma = r1_sub_a ? {r1_a[22:0], 1'b0} : {1'b1, r1_a[22:0]};
  assign mb = r1_sub_b ? {r1_b[22:0], 1'b0} : {1'b1, r1_b[22:0]};

  logic [31:0] r2_ma, r2_mb;         // {5'b0, m, 3'b000}, or the operand itself for int32
  logic [7:0]  r2_ea, r2_eb;
  logic        r2_sign_a, r2_sign_b, r2_sub_a, r2_sub_b, r2_nz_a, r2_nz_b;
  logic        r2_int, r2_swap, r2_sub;
  logic        r2_a_nan, r2_b_nan, r2_a_inf, r2_b_inf;  // combined in stage 3
  logic [7:0]  r2_d_ab, r2_d_ba;
  logic [4:0]  r2_tzf_a, r2_tzf_b;   // tzf of each fraction (see low_bit)

  always_ff @(posedge clk_i) begin
    r2_ma       <= r1_int ? r1_a : {5'd0, ma, 3'b000};
    r2_mb       <= r1_int ? r1_b : {5'd0, mb, 3'b000};
    r2_ea       <= r1_a[30:23];
    r2_eb       <= r1_b[30:23];
    r2_sign_a   <= r1_a[31];
    r2_sign_b   <= r1_b[31];
    r2_sub_a    <= r1_sub_a;
    r2_sub_b    <= r1_sub_b;
    r2_nz_a     <= !r1_int && !(r1_sub_a && r1_fzero_a);
    r2_nz_b     <= !r1_int && !(r1_sub_b && r1_fzero_b);
    r2_int      <= r1_int;
    r2_swap     <= !r1_int && r1_b_bigger;  // b is the big operand
    r2_sub      <= !r1_int && (r1_a[31] ^ r1_b[31]);
    r2_a_nan    <= r1_emax_a && !r1_fzero_a;
    r2_b_nan    <= r1_emax_b && !r1_fzero_b;
    r2_a_inf    <= r1_emax_a && r1_fzero_a;
    r2_b_inf    <= r1_emax_b && r1_fzero_b;
    r2_d_ab     <= r1_d_ab;
    r2_d_ba     <= r1_d_ba;
    r2_tzf_a    <= low_bit(r1_low_a);
    r2_tzf_b    <= low_bit(r1_low_b);
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 3: the big operand's significand goes to X, the small one's is shifted right by d: by
  // its 8s here, for both orders at once (the order picks one of them after the shift).
  logic [31:0] s3_a8, s3_b8;  // a's significand as the small one (by d_ba), and b's (by d_ab)
  logic [7:0]  s3_e_big;

  assign s3_a8    = r2_ma >> {r2_d_ba[4:3], 3'b000};
  assign s3_b8    = r2_mb >> {r2_d_ab[4:3], 3'b000};
  assign s3_e_big = r2_swap ? r2_eb : r2_ea;

  // The sticky bit for either order (a small: shifted by d_ba; b small: by d_ab), each one borrow
  // chain of registers registered on its own; stage 4 picks one with the registered order (the
  // compare, its order's select and the route between them were mac27's 159.5 MHz limit).
  // d >= tzf + sub (sub: the subnormal's tzf is one higher) is "no borrow" of
  // {d, 0} - {tzf, sub}: 2d - 2tzf - sub >= 0.
  logic [9:0] s3_bd_a, s3_bd_b;
  logic       unused_bd;
  assign s3_bd_a   = {1'b0, r2_d_ba, 1'b0} - {4'd0, r2_tzf_a, r2_sub_a};
  assign s3_bd_b   = {1'b0, r2_d_ab, 1'b0} - {4'd0, r2_tzf_b, r2_sub_b};
  assign unused_bd = ^{s3_bd_a[8:0], s3_bd_b[8:0]};

  logic [31:0] r3_x, r3_y;
  logic [2:0]  r3_d;            // the alignment by 0 .. 7 left for stage 4
  logic        r3_far;          // d >= 32: nothing but the sticky bit is left of the small operand
  logic        r3_sticky_a;     // the alignment of a (as the small one) shifts a set bit out
  logic        r3_sticky_b;     // ... of b
  logic        r3_swap;         // b is the big operand: stage 4 takes r3_sticky_a
  logic        r3_int, r3_sub, r3_sign, r3_nan, r3_inf, r3_inf_sign;
  logic [7:0]  r3_e_big;
  logic        r3_stop;         // the normalisation stops at exponent 1: at bit r3_stop_at
  logic [4:0]  r3_stop_at;      // 27 - e_big (e_big <= 27)

  always_ff @(posedge clk_i) begin
    r3_x         <= r2_swap ? r2_mb : r2_ma;
    r3_y         <= r2_swap ? s3_a8 : s3_b8;
    r3_d         <= r2_swap ? r2_d_ba[2:0] : r2_d_ab[2:0];
    r3_far       <= r2_swap ? (r2_d_ba[7:5] != 3'd0) : (r2_d_ab[7:5] != 3'd0);
    r3_sticky_a  <= r2_nz_a && !s3_bd_a[9];
    r3_sticky_b  <= r2_nz_b && !s3_bd_b[9];
    r3_swap      <= r2_swap;
    r3_int       <= r2_int;
    r3_sub       <= r2_sub;
    r3_sign      <= r2_swap ? r2_sign_b : r2_sign_a;
    r3_nan       <= r2_a_nan || r2_b_nan || (r2_a_inf && r2_b_inf && (r2_sign_a ^ r2_sign_b));
    r3_inf       <= r2_a_inf || r2_b_inf;
    r3_inf_sign  <= r2_a_inf ? r2_sign_a : r2_sign_b;
    r3_e_big     <= s3_e_big;
    r3_stop      <= s3_e_big <= 8'd27;
    r3_stop_at   <= 5'd27 - s3_e_big[4:0];
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 4
  logic [31:0] s4_y;

  always_comb begin
    s4_y    = r3_far ? 32'd0 : (r3_y >> r3_d);
    s4_y[0] = s4_y[0] | (r3_swap ? r3_sticky_a : r3_sticky_b);
  end

  logic [31:0] r4_x, r4_y;
  logic [27:0] r4_stop;  // one bit at 27 - e_big (none above 27): the shift stops at exponent 1
  logic        r4_int, r4_sub, r4_sign, r4_nan, r4_inf, r4_inf_sign;
  logic [7:0]  r4_e_big;

  always_ff @(posedge clk_i) begin
    r4_x        <= r3_x;
    r4_y        <= s4_y ^ {32{r3_sub}};
    r4_stop     <= r3_stop ? (28'd1 << r3_stop_at) : 28'd0;
    r4_int      <= r3_int;
    r4_sub      <= r3_sub;
    r4_sign     <= r3_sign;
    r4_nan      <= r3_nan;
    r4_inf      <= r3_inf;
    r4_inf_sign <= r3_inf_sign;
    r4_e_big    <= r3_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 5: x + (y ^ sub) + sub as one adder, the carry-in riding in an extra low bit.
  logic [32:0] s5_sum;
  logic        unused_carry_in;  // the extra low bit only carries sub into bit 1
  assign s5_sum          = {r4_x, 1'b1} + {r4_y, r4_sub};
  assign unused_carry_in = s5_sum[0];

  logic [31:0] r5_t;
  logic [27:0] r5_v;     // t[27:0] | stop, for the leading zeros
  logic        r5_int, r5_sub, r5_sign, r5_nan, r5_inf, r5_inf_sign;
  logic [7:0]  r5_e_big;

  always_ff @(posedge clk_i) begin
    r5_t        <= s5_sum[32:1];
    r5_v        <= s5_sum[28:1] | r4_stop;
    r5_int      <= r4_int;
    r5_sub      <= r4_sub;
    r5_sign     <= r4_sign;
    r5_nan      <= r4_nan;
    r5_inf      <= r4_inf;
    r5_inf_sign <= r4_inf_sign;
    r5_e_big    <= r4_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 6: the fp32 sum is t[27:0] (bit 27 the carry). u = its leading zeros, at most e_big
  // (the stopper): the left shift that normalises, or 0 after a carry, which the shift then takes
  // back as a right shift by one. Per 8-bit block of t | stop: all zero, and its leading zeros.
  logic [27:0] r6_t;
  logic [3:0]  r6_t_hi;  // t[31:28] (int32)
  logic [3:1]  r6_zb;    // blocks v[27:20], v[19:12], v[11:4] are zero (the last, v[3:0], never)
  logic [2:0]  r6_f3, r6_f2, r6_f1, r6_f0;  // leading zeros within each block
  logic        r6_zero, r6_int, r6_sub, r6_sign, r6_nan, r6_inf, r6_inf_sign;
  logic [7:0]  r6_e_big;

  always_ff @(posedge clk_i) begin
    r6_t        <= r5_t[27:0];
    r6_t_hi     <= r5_t[31:28];
    r6_zb[3]    <= !r5_int && (r5_v[27:20] == 8'd0);
    r6_zb[2]    <= !r5_int && (r5_v[19:12] == 8'd0);
    r6_zb[1]    <= !r5_int && (r5_v[11:4] == 8'd0);
    r6_f3       <= r5_int ? 3'd0 : 3'(lead_zeros32({r5_v[27:20], 24'hFFFFFF}));
    r6_f2       <= 3'(lead_zeros32({r5_v[19:12], 24'hFFFFFF}));
    r6_f1       <= 3'(lead_zeros32({r5_v[11:4], 24'hFFFFFF}));
    r6_f0       <= 3'(lead_zeros32({r5_v[3:0], 28'hFFFFFFF}));
    r6_zero     <= r5_t[27:0] == 28'd0;
    r6_int      <= r5_int;
    r6_sub      <= r5_sub;
    r6_sign     <= r5_sign;
    r6_nan      <= r5_nan;
    r6_inf      <= r5_inf;
    r6_inf_sign <= r5_inf_sign;
    r6_e_big    <= r5_e_big;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 7: u = 8 * (zero blocks before the first set bit) + that block's leading zeros; shift by
  // the 8s. Each pair of blocks picks first (upper pair by zb[3], lower by zb[1]), then the pairs by
  // zb[3] && zb[2]: two LUT4 levels per bit from registers (the select through the encoded count c
  // was four, the limit of docs/mac_array.md section 7).
  logic [1:0]  s7_c;
  logic [2:0]  s7_f, s7_fh, s7_fl;
  logic [27:0] s7_th, s7_tl;
  logic        s7_zh;  // blocks 3 and 2 are zero

  always_comb begin
    s7_zh = r6_zb[3] && r6_zb[2];
    s7_fh = r6_zb[3] ? r6_f2 : r6_f3;
    s7_fl = r6_zb[1] ? r6_f0 : r6_f1;
    s7_f  = s7_zh ? s7_fl : s7_fh;
    s7_c  = {s7_zh, s7_zh ? r6_zb[1] : r6_zb[3]};
    s7_th = r6_zb[3] ? {r6_t[19:0], 8'd0} : r6_t;
    s7_tl = r6_zb[1] ? {r6_t[3:0], 24'd0} : {r6_t[11:0], 16'd0};
  end

  // The special cases and int32 become one constant result; what the exponent field becomes when
  // it overflows or is a constant is known here (overflow needs u = 0 or 1, that is c = 0 and the
  // top block's count 0 or 1), so that stage 8 only picks between that and its subtraction.
  logic [31:0] s7_const;
  logic        s7_is_const, s7_ovf0, s7_ovf1;  // ovf: e_n >= 255, e_n + 1 >= 255

  always_comb begin
    if (r6_int)       s7_const = {r6_t_hi, r6_t};
    else if (r6_nan)  s7_const = CanonicalNaN;
    else if (r6_inf)  s7_const = {r6_inf_sign, 8'hFF, 23'd0};
    else              s7_const = r6_sub ? 32'd0 : {r6_sign, 31'd0};  // exact zero
  end
  assign s7_is_const = r6_int || r6_nan || r6_inf || r6_zero;
  assign s7_ovf0     = !r6_zb[3] && (r6_f3 == 3'd0) && (r6_e_big == 8'd254);
  assign s7_ovf1     = !r6_zb[3] && (((r6_f3 == 3'd0) && (r6_e_big >= 8'd253))
                                     || ((r6_f3 == 3'd1) && (r6_e_big == 8'd254)));

  logic [27:0] r7_t;     // t << 8c
  logic [4:0]  r7_u;
  logic [7:0]  r7_e_big1, r7_e_big2;  // e_big + 1, e_big + 2 (mod 256): stage 8 subtracts u from each
  logic        r7_sel0, r7_sel1;      // the field without / with a carry is r7_v0 / r7_v1, not e - u
  logic [7:0]  r7_v0, r7_v1;
  logic        r7_x0_zero;            // without a carry, the field is 0 unless the hidden bit is set
  logic        r7_mant_const;         // the mantissa is r7_mc: a constant, or an overflow without carry
  logic [22:0] r7_mc;
  logic        r7_sign, r7_int;

  always_ff @(posedge clk_i) begin
    r7_t          <= s7_zh ? s7_tl : s7_th;  // t << 8c
    r7_u          <= {s7_c, s7_f};
    r7_e_big1     <= r6_e_big + 8'd1;
    r7_e_big2     <= r6_e_big + 8'd2;
    r7_sel0       <= s7_is_const || s7_ovf0;
    r7_sel1       <= s7_is_const || s7_ovf1;
    r7_v0         <= s7_is_const ? s7_const[30:23] : 8'hFF;
    r7_v1         <= s7_is_const ? s7_const[30:23] : 8'hFF;
    r7_x0_zero    <= !s7_is_const && !s7_ovf0;
    r7_mant_const <= s7_is_const || s7_ovf0;
    r7_mc         <= s7_is_const ? s7_const[22:0] : 23'd0;
    r7_sign       <= s7_is_const ? s7_const[31] : r6_sign;
    r7_int        <= r6_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 8: shift by the rest of u; the exponent field without (x0) and with (x1) a rounding carry;
  // the round-up bit from the low bits.
  logic [27:4] s8_w;      // the normalised sum above its low bits
  logic [4:0]  s8_low;    // its low 5 bits, beside the wide shift (0 when u >= 8)

  assign s8_w   = 24'((r7_t << r7_u[2:0]) >> 4);
  assign s8_low = (r7_u[2:0] > 3'd4) ? 5'd0 : (r7_t[4:0] << r7_u[2:0]);

  logic [23:0] r8_m;         // the significand before rounding (hidden bit at 23, or 0: subnormal)
  logic        r8_round_up;  // round to nearest even: guard and (sticky or round or odd)
  logic [7:0]  r8_x0, r8_x1; // exponent field without / with a rounding carry; overflow gives FF
  logic        r8_x0_zero;   // ... the field without a carry is 0 unless the hidden bit is set
  logic        r8_mant_const;// mantissa from r8_mc: a constant result or an overflow without carry
  logic [22:0] r8_mc;
  logic        r8_sign, r8_int;

  always_ff @(posedge clk_i) begin
    r8_m          <= s8_w[27:4];
    // guard w[3], then round w[2], sticky w[1] | w[0], and the last kept bit w[4]
    r8_round_up   <= s8_low[3] && (s8_low[2] || s8_low[1] || s8_low[0] || s8_low[4]);
    r8_x0         <= r7_sel0 ? r7_v0 : r7_e_big1 - {3'd0, r7_u};  // e_n, 1 .. 255
    r8_x1         <= r7_sel1 ? r7_v1 : r7_e_big2 - {3'd0, r7_u};  // e_n + 1
    r8_x0_zero    <= r7_x0_zero;
    r8_mant_const <= r7_mant_const;
    r8_mc         <= r7_mc;
    r8_sign       <= r7_sign;
    r8_int        <= r7_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 9: round.
  logic [24:0] s9_mant_r;
  assign s9_mant_r = {1'b0, r8_m} + {24'd0, r8_round_up};

  logic [24:0] r9_mant_r;
  logic [7:0]  r9_x0, r9_x1;
  logic        r9_x0_zero, r9_mant_const, r9_sign, r9_int;
  logic [22:0] r9_mc;

  always_ff @(posedge clk_i) begin
    r9_mant_r     <= s9_mant_r;
    r9_x0         <= r8_x0;
    r9_x1         <= r8_x1;
    r9_x0_zero    <= r8_x0_zero;
    r9_mant_const <= r8_mant_const;
    r9_mc         <= r8_mc;
    r9_sign       <= r8_sign;
    r9_int        <= r8_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 10: a carry out of the significand (it becomes 2^23 with the exponent one up) picks x1.
  // Without one, a result with no hidden bit is subnormal (its exponent is 1 then, so only the
  // field's low bit needs clearing).
  logic       carry;
  logic [7:0] field;

  assign carry = r9_mant_r[24];
  assign field = carry ? r9_x1 : {r9_x0[7:1], r9_x0[0] && !(r9_x0_zero && !r9_mant_r[23])};

  assign s_o   = {r9_sign, field, r9_mant_const ? r9_mc : r9_mant_r[22:0]};
  assign int_o = r9_int;
endmodule
`resetall
