`default_nettype none
// ws_mac_mul: one multiplier lane of the MAC arrays, pipelined (docs/mac_array.md sections 2 and 3).
// Per operation, int_i chooses bf16 x bf16 -> fp32 (the 8 x 8-bit significand product is exact in
// fp32; it is rounded to nearest even only below the normal range, overflow gives inf, 0 x inf and
// NaN inputs give the canonical quiet NaN; the steps of ws::bf16_mul) or int8 (bits 7:0) x int8 ->
// int32. Both go through one DSP multiplier (ws_dsp_mul, 9 x 9 bits signed: the bf16 significand
// with its hidden bit, or the sign-extended int8); exponent, sign and special cases go beside it.
//
// Free-running, one operation per cycle: operands during cycle c give p_o (registered) during cycle
// c + ws_pkg::MAC_MUL_STAGES. Stages: 1 the DSP's operands into fabric registers and a copy of
// both operands, 2-3 the DSP (input and product registers), beside them the exponent sum and the
// special cases from the copies; 4 the product
// into a fabric register; 5 leading and trailing zeros of each byte of the product; 6 those of the
// product (one byte's count or 8 plus the other's) and its shift by 8, one LUT level from
// registers (placed by stage 7's carry chains); 7 normalisation shift, exponent, shift
// into the subnormal range and its sticky bit; 8-9 that shift (by 8s, then by 0 .. 7), the guard
// bit and the result of every case but a subnormal one; 10 rounding of a subnormal product,
// output register.
module ws_mac_mul (
  input  wire         clk_i,
  input  wire         int_i,   // 1: int8 x int8 (INT8 mode), 0: bf16 x bf16 (BF16 mode)
  input  wire  [15:0] w_i,
  input  wire  [15:0] x_i,
  output logic        int_o,
  output logic [31:0] p_o
);
  localparam logic [31:0] CanonicalNaN = 32'h7FC0_0000;
  // The result of an operation, known from stage 5 on.
  localparam logic [2:0] KindSubnormal = 3'd0;  // rounded below the normal range
  localparam logic [2:0] KindNormal    = 3'd1;  // the exact product
  localparam logic [2:0] KindInt       = 3'd2;  // int8 x int8
  localparam logic [2:0] KindNaN       = 3'd3;
  localparam logic [2:0] KindInf       = 3'd4;  // an infinite operand, or overflow
  localparam logic [2:0] KindZero      = 3'd5;

  `include "ws_lead_zeros.svh"

  // ---------------------------------------------------------------------------------------------
  // Stage 1: the DSP's operands into fabric registers beside it; stages 2-3 the DSP (its input and
  // product registers). Beside them the exponent sum and the special cases.
  logic              w_nan, x_nan, w_inf, x_inf, w_zero, x_zero;
  logic [7:0]        ew1, ex1;
  logic signed [8:0] dsp_a, dsp_b, dsp_a_q, dsp_b_q;
  logic signed [17:0] dsp_p;
  logic [14:0]       w_q, x_q;  // stage 1: the operands' magnitudes, copied beside the logic below
                                // (the operand registers sit away from it, by the DSP's inputs)

  assign w_nan  = (w_q[14:7] == 8'hFF) && (w_q[6:0] != 7'd0);
  assign x_nan  = (x_q[14:7] == 8'hFF) && (x_q[6:0] != 7'd0);
  assign w_inf  = (w_q[14:7] == 8'hFF) && (w_q[6:0] == 7'd0);
  assign x_inf  = (x_q[14:7] == 8'hFF) && (x_q[6:0] == 7'd0);
  assign w_zero = w_q[14:0] == 15'd0;
  assign x_zero = x_q[14:0] == 15'd0;
  assign ew1    = (w_q[14:7] == 8'd0) ? 8'd1 : w_q[14:7];  // subnormals at exponent 1
  assign ex1    = (x_q[14:7] == 8'd0) ? 8'd1 : x_q[14:7];
  assign dsp_a  = int_i ? {w_i[7], w_i[7:0]} : {1'b0, w_i[14:7] != 8'd0, w_i[6:0]};
  assign dsp_b  = int_i ? {x_i[7], x_i[7:0]} : {1'b0, x_i[14:7] != 8'd0, x_i[6:0]};

  always_ff @(posedge clk_i) begin
    dsp_a_q <= dsp_a;
    dsp_b_q <= dsp_b;
  end

  ws_dsp_mul #(.Width(9)) u_dsp (
    .clk_i(clk_i),
    .a_i  (dsp_a_q),
    .b_i  (dsp_b_q),
    .p_o  (dsp_p)
  );

  // Per operation: int, sign, NaN, infinity, zero (per operand in stage 2 from the copies, combined
  // in stage 3), and the exponent sum: the fields with subnormals at 1 (stage 2), their sum (stage
  // 3, a carry chain from registers: after the field test in the same stage the route into the chain
  // was the 155.7 MHz limit); stage 4 derives from it e0, the exponent field of the product when its
  // top bit is at 15, and the constants that the later compares need (each then one carry chain).
  logic [3:0]         d_int, d_sign;
  logic [3:2]         d_nan, d_inf, d_zero;
  logic               d_w_nan, d_x_nan, d_w_inf, d_x_inf, d_w_zero, d_x_zero;
  logic [7:0]         d_ew1_q, d_ex1_q;
  logic [8:0]         d_esum_q;

  always_ff @(posedge clk_i) begin
    w_q       <= w_i[14:0];
    x_q       <= x_i[14:0];
    d_int[0]  <= int_i;
    d_sign[0] <= w_i[15] ^ x_i[15];
    d_w_nan   <= w_nan;
    d_x_nan   <= x_nan;
    d_w_inf   <= w_inf;
    d_x_inf   <= x_inf;
    d_w_zero  <= w_zero;
    d_x_zero  <= x_zero;
    d_ew1_q   <= ew1;
    d_ex1_q   <= ex1;
    d_esum_q  <= {1'b0, d_ew1_q} + {1'b0, d_ex1_q};
    d_nan[2]  <= d_w_nan || d_x_nan || (d_w_inf && d_x_zero) || (d_x_inf && d_w_zero);
    d_inf[2]  <= d_w_inf || d_x_inf;
    d_zero[2] <= d_w_zero || d_x_zero;
    d_int[3:1]  <= d_int[2:0];
    d_sign[3:1] <= d_sign[2:0];
    d_nan[3]    <= d_nan[2];
    d_inf[3]    <= d_inf[2];
    d_zero[3]   <= d_zero[2];
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 4: the product into the fabric (the DSP sits away from the logic that follows), and the
  // exponent constants.
  logic [15:0]        r2_p;
  logic               unused_p_top;  // every product fits 16 bits (int8: -16256 .. 16384)
  assign unused_p_top = ^dsp_p[17:16];
  logic signed [10:0] r2_e0, r2_e0m1, r2_e0m255, r2_ne0, r2_ne0m10, r2_ne0m9, r2_ne0m8;

  always_ff @(posedge clk_i) begin
    r2_p      <= dsp_p[15:0];
    r2_e0     <= $signed({2'b00, d_esum_q}) - 11'sd126;
    r2_e0m1   <= $signed({2'b00, d_esum_q}) - 11'sd127;
    r2_e0m255 <= $signed({2'b00, d_esum_q}) - 11'sd381;
    r2_ne0    <= 11'sd127 - $signed({2'b00, d_esum_q});
    r2_ne0m10 <= 11'sd117 - $signed({2'b00, d_esum_q});
    r2_ne0m9  <= 11'sd118 - $signed({2'b00, d_esum_q});
    r2_ne0m8  <= 11'sd119 - $signed({2'b00, d_esum_q});
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 5: leading and trailing zeros of each byte of the product (a byte's count from 8 bits,
  // two LUT levels; the whole product's 16-bit count here was four, the 172 MHz limit of
  // docs/mac_array.md section 7).
  logic [15:0]        r3_p;      // the product, shifted left by 8 already when its top byte is 0
  logic [3:0]         r3_lz, r3_tz;
  logic [2:0]         r3_shl;
  logic signed [10:0] r3_e0, r3_e0m1, r3_e0m255, r3_ne0, r3_ne0m10, r3_ne0m9, r3_ne0m8;
  logic               r3_sign, r3_fixed;  // r3_fixed: the kind is known without the exponent
  logic [2:0]         r3_kind;
  logic [7:0]         lo_rev, hi_rev;  // the bytes reversed, for the trailing zeros
  // Stage 5's results; stage 6 makes r3_* from them, which feed stage 7 only.
  logic [15:0]        z5_p;
  logic               z5_hi0, z5_lo0;  // the product's high / low byte is 0
  logic [2:0]         z5_lzh, z5_lzl, z5_tzh, z5_tzl;  // per byte (of a non-zero byte)
  logic signed [10:0] z5_e0, z5_e0m1, z5_e0m255, z5_ne0, z5_ne0m10, z5_ne0m9, z5_ne0m8;
  logic               z5_int, z5_sign, z5_fixed;
  logic [2:0]         z5_kind;

  always_comb begin
    for (int i = 0; i < 8; i++) begin
      lo_rev[i] = r2_p[7 - i];
      hi_rev[i] = r2_p[15 - i];
    end
  end

  always_ff @(posedge clk_i) begin
    z5_p      <= r2_p;
    z5_hi0    <= r2_p[15:8] == 8'd0;
    z5_lo0    <= r2_p[7:0] == 8'd0;
    z5_lzh    <= 3'(lead_zeros32({r2_p[15:8], 24'hFF_FFFF}));
    z5_lzl    <= 3'(lead_zeros32({r2_p[7:0], 24'hFF_FFFF}));
    z5_tzh    <= 3'(lead_zeros32({hi_rev, 24'hFF_FFFF}));
    z5_tzl    <= 3'(lead_zeros32({lo_rev, 24'hFF_FFFF}));
    z5_e0     <= r2_e0;
    z5_e0m1   <= r2_e0m1;
    z5_e0m255 <= r2_e0m255;
    z5_ne0    <= r2_ne0;
    z5_ne0m10 <= r2_ne0m10;
    z5_ne0m9  <= r2_ne0m9;
    z5_ne0m8  <= r2_ne0m8;
    z5_int    <= d_int[3];
    z5_sign   <= d_sign[3];
    z5_fixed  <= d_int[3] || d_nan[3] || d_inf[3] || d_zero[3];
    z5_kind   <= d_int[3] ? KindInt : d_nan[3] ? KindNaN : d_inf[3] ? KindInf : KindZero;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 6: the product's counts from its bytes' (lz = 8 + the low byte's when the high byte is
  // 0; a zero product, whose counts nothing uses, gets 8 for both) and its shift by 8, one
  // LUT of registers each, so the route from stage 5 into stage 7's carry chains is a cycle apart.
  always_ff @(posedge clk_i) begin
    r3_p      <= (!z5_int && z5_hi0) ? {z5_p[7:0], 8'd0} : z5_p;
    r3_lz     <= z5_hi0 ? {1'b1, z5_lzl} : {1'b0, z5_lzh};
    r3_shl    <= z5_int ? 3'd0 : z5_hi0 ? z5_lzl : z5_lzh;  // int8 is not shifted
    r3_tz     <= z5_lo0 ? {1'b1, z5_tzh} : {1'b0, z5_tzl};
    r3_e0     <= z5_e0;
    r3_e0m1   <= z5_e0m1;
    r3_e0m255 <= z5_e0m255;
    r3_ne0    <= z5_ne0;
    r3_ne0m10 <= z5_ne0m10;
    r3_ne0m9  <= z5_ne0m9;
    r3_ne0m8  <= z5_ne0m8;
    r3_sign   <= z5_sign;
    r3_fixed  <= z5_fixed;
    r3_kind   <= z5_kind;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 7: normalise (top bit at 15). With pn = p << lz and m = pn << 8 the 24-bit significand:
  // e = e0 - lz is the exponent field, sh = 1 - e = ne0 + lz the right shift of a product below the
  // normal range, and a bit below the guard is set when the lowest set bit of m (8 + tz + lz) is
  // below sh - 1, that is when tz + 9 < ne0. Four independent carry chains.
  logic signed [10:0] lz_s, tz_s, s4_sh, s4_at_guard, s4_at_odd;

  assign lz_s        = $signed({7'd0, r3_lz});
  assign tz_s        = $signed({7'd0, r3_tz});
  assign s4_sh       = r3_ne0 + lz_s;
  assign s4_at_guard = r3_ne0m9 + lz_s;  // sh - 9: the guard bit m[sh - 1] is pn[sh - 9]
  assign s4_at_odd   = r3_ne0m8 + lz_s;  // sh - 8: the last kept bit m[sh] is pn[sh - 8]

  logic [15:0] r4_pn;
  logic [7:0]  r4_e;
  logic [4:0]  r4_sh;
  logic [10:0] r4_at_guard, r4_at_odd;  // positions in pn of the guard and the last kept bit
  logic        r4_far, r4_sticky, r4_sign;
  logic [2:0]  r4_kind;  // which result: Kind* below

  always_ff @(posedge clk_i) begin
    r4_pn     <= r3_p << r3_shl;  // the rest of lz; int8 is not shifted (the select is stage 6's:
                                  // from a registered int flag here it added a LUT level
                                  // and a 2.8 ns route)
    r4_e      <= 8'(r3_e0 - lz_s);
    r4_sh     <= s4_sh[4:0];
    r4_at_guard <= s4_at_guard;
    r4_at_odd   <= s4_at_odd;
    r4_far    <= s4_sh[10:5] != 6'd0;  // sh >= 32 (or negative: then the result is normal anyway)
    r4_sticky <= r3_ne0m10 >= tz_s;   // ne0 - 10 - tz >= 0
    // e >= 255 (overflow) gives inf, e >= 1 the exact product, else a subnormal one
    r4_kind   <= r3_fixed ? r3_kind : (r3_e0m255 >= lz_s) ? KindInf
               : (r3_e0m1 >= lz_s) ? KindNormal : KindSubnormal;
    r4_sign   <= r3_sign;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 8: the shift into the subnormal range (by 1 .. 31; from 25 on nothing is left to round
  // up), by its 8s here; the round-up bit; every other case is a constant result already.
  logic [31:0] s6_const;
  logic        s6_is_const;

  always_comb begin
    unique case (r4_kind)
      KindInt:    s6_const = {{16{r4_pn[15]}}, r4_pn};
      KindNaN:    s6_const = CanonicalNaN;
      KindInf:    s6_const = {r4_sign, 8'hFF, 23'd0};
      KindZero:   s6_const = {r4_sign, 31'd0};
      KindNormal: s6_const = {r4_sign, r4_e, r4_pn[14:0], 8'd0};
      default:    s6_const = 32'd0;
    endcase
  end
  assign s6_is_const = r4_kind != KindSubnormal;

  // The guard bit m[sh - 1] and the last kept bit m[sh] straight from pn (m = pn << 8), beside
  // the wide shift, so that stage 10 starts its increment from a register (round-up in stage 9).
  logic s6_guard, s6_odd;
  assign s6_guard = (r4_at_guard[10:4] == 7'd0) && r4_pn[r4_at_guard[3:0]];  // 0 outside pn
  assign s6_odd   = (r4_at_odd[10:4] == 7'd0) && r4_pn[r4_at_odd[3:0]];

  logic [23:0] r5_m;       // m >> (8 * sh[4:3])
  logic [2:0]  r5_sh;      // sh[2:0]
  logic        r5_guard, r5_odd, r5_sticky, r5_sign, r5_is_const, r5_int;
  logic [31:0] r5_const;

  always_ff @(posedge clk_i) begin
    r5_m        <= r4_far ? 24'd0 : ({r4_pn, 8'd0} >> {r4_sh[4:3], 3'b000});
    r5_sh       <= r4_sh[2:0];
    r5_guard    <= s6_guard;
    r5_odd      <= s6_odd;
    r5_sticky   <= r4_sticky;
    r5_sign     <= r4_sign;
    r5_is_const <= s6_is_const;
    r5_const    <= s6_const;
    r5_int      <= r4_kind == KindInt;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 9: the shift by sh[2:0].
  logic [23:0] r6_mant;
  logic        r6_round_up, r6_sign, r6_is_const, r6_int;
  logic [31:0] r6_const;

  always_ff @(posedge clk_i) begin
    r6_mant     <= r5_m >> r5_sh;
    r6_round_up <= r5_guard && (r5_sticky || r5_odd);
    r6_sign     <= r5_sign;
    r6_is_const <= r5_is_const;
    r6_const    <= r5_const;
    r6_int      <= r5_int;
  end

  // ---------------------------------------------------------------------------------------------
  // Stage 10: round to nearest even (a carry into bit 23 is exponent field 1, as it should be).
  logic [23:0] mant_r;
  assign mant_r = r6_mant + {23'd0, r6_round_up};

  always_ff @(posedge clk_i) begin
    p_o   <= r6_is_const ? r6_const : {r6_sign, 7'd0, mant_r};
    int_o <= r6_int;
  end
endmodule
`resetall
