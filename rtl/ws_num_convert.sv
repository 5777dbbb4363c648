`default_nettype none
// ws_num_convert: one number of a format table (docs/numfmt.md) to the word the unpacker emits:
// the IEEE fp32 bit patterns, or an int32 in integer mode. Three parts with a register after each
// of the first two, so word_o follows the inputs by two clocks (in_en_i loads the input register,
// mid_en_i the one between the halves).
//
// A finite number is sign * sig * 2^lsb with sig = implicit_one << frac_bits | frac (< 2^24) and
// lsb = scale - frac_bits. One left shift of sig serves every case:
//   fp32      sig << min(lz, lsb + 149): the leading one to bit 23 while the exponent
//             lsb + 150 - lz stays >= 1, else an fp32 subnormal with its lsb at 2^-149
//   inf_nan   payload sig << (23 - frac_bits), the implicit one dropped at bit 23
//   int32     sig << lsb, negated (the negation before the shift: -(sig << s) = (-sig) << s mod 2^32)
// Input part: everything the entry alone decides (range flags and mask on lsb, the shift and the
// exponent of a number with an implicit one, the word kind with and without fraction bits), so the
// fraction, which arrives late (cut from the bit window in the cycle before), meets only AND-OR
// reductions and the leading-zero count in the first half. First half: the leading zeros of a
// fraction without implicit one and the shift. Second half: the shift, the exponent (the entry's
// minus those leading zeros: after the register, beside the shift, since the count's tree and the
// subtraction's carry in one cycle were the unpacker's critical path) and the word.
module ws_num_convert (
  input  wire         clk_i,
  input  wire         in_en_i,     // load the input register
  input  wire         mid_en_i,    // load the register between the halves
  input  wire         int_mode_i,  // 1: int32 output
  input  wire  [2:0]  cls_i,       // numfmt::Class
  input  wire         neg_i,
  input  wire         implicit_i,
  input  wire  [9:0]  scale_i,     // two's complement
  input  wire  [10:0] lsb_i,       // scale_i - frac_bits_i, two's complement (computed earlier)
  input  wire  [4:0]  frac_bits_i, // 0..23
  input  wire  [22:0] frac_i,      // zero above frac_bits_i
  output logic [31:0] word_o
);
  localparam logic [2:0] ClsFinite  = 3'd2;
  localparam logic [2:0] ClsNanMax  = 3'd3;
  localparam logic [2:0] ClsInf     = 3'd4;
  localparam logic [2:0] ClsNaN     = 3'd5;
  localparam logic [2:0] ClsInfNaN  = 3'd6;

  // How the second half builds the word.
  localparam logic [1:0] WordShifted = 2'd0;  // fp32 {neg, exp, shifted[22:0]} or int32 +-shifted
  localparam logic [1:0] WordZero    = 2'd1;  // {neg, 0} (fp32), 0 (int32)
  localparam logic [1:0] WordInf     = 2'd2;
  localparam logic [1:0] WordNaN     = 2'd3;  // quiet NaN, sign kept

  // ---------------------------------------------------------------------------------------------
  // Input part: from the entry's fields only
  logic signed [10:0] lsb;
  logic signed [9:0]  scale;
  logic [4:0]  sub_sh;    // lsb + 149 mod 32: the shift that puts sig's lsb at 2^-149 (149 = 128 + 21)
  logic [23:0] top_mask;  // sig's bits whose leading one makes a normal fp32 (weight >= 2^-126)
  logic [22:0] frac_mask;
  logic        normal_imp, fixed;
  logic [4:0]  shamt_pre;
  logic [7:0]  exp_pre;
  logic [1:0]  kind_zero, kind_nonzero;  // the word kind when the fraction is zero / not zero

  assign lsb       = $signed(lsb_i);
  assign scale     = $signed(scale_i);
  assign sub_sh    = lsb_i[4:0] + 5'd21;
  assign frac_mask = ~(23'h7fffff << frac_bits_i);

  // top_mask[i]: lsb + i >= -126. With lsb = 32 h + l (l = lsb[4:0]) and -126 - i = 32 hc + lc
  // (hc -5 or -4), that is h > hc or h == hc and l >= lc: two flags of h shared by every bit and
  // one 5-input function of l per bit, no carry chain (the range compares' carries and a shift by
  // 2 - l were the unpacker's critical path).
  logic signed [5:0] lsb_hi;
  logic              hi_gt5, hi_eq5, hi_gt4, hi_eq4;
  assign lsb_hi = $signed(lsb_i[10:5]);
  assign hi_gt5 = lsb_hi > -6'sd5;
  assign hi_eq5 = lsb_hi == -6'sd5;
  assign hi_gt4 = lsb_hi > -6'sd4;
  assign hi_eq4 = lsb_hi == -6'sd4;
  for (genvar i = 0; i < 24; i++) begin : g_top
    localparam int C  = -126 - i;
    localparam int Lc = C < -128 ? C + 160 : C + 128;  // C - 32 hc
    localparam logic [31:0] Ge = 32'hffffffff << Lc;   // bit l: l >= Lc
    if (C < -128) begin : g_h5
      assign top_mask[i] = hi_gt5 || (hi_eq5 && Ge[lsb_i[4:0]]);
    end else begin : g_h4
      assign top_mask[i] = hi_gt4 || (hi_eq4 && Ge[lsb_i[4:0]]);
    end
  end
  // With an implicit one the leading one has weight 2^scale: normal from scale >= -126, exponent
  // scale + 127, leading zeros 23 - frac_bits.
  assign normal_imp = scale >= -10'sd126;
  // The shift and exponent are the entry's own unless a fraction without implicit one decides them.
  assign fixed      = int_mode_i || cls_i == ClsInfNaN || implicit_i;

  always_comb begin
    if (int_mode_i)              shamt_pre = lsb_i[4:0];
    else if (cls_i == ClsInfNaN) shamt_pre = 5'(5'd23 - frac_bits_i);
    else if (!implicit_i)        shamt_pre = sub_sh;  // the subnormal shift; a normal one is lz
    else if (normal_imp)         shamt_pre = 5'(5'd23 - frac_bits_i);
    else                         shamt_pre = sub_sh;
  end

  always_comb begin
    if (cls_i == ClsInfNaN)      exp_pre = 8'hff;
    else if (!implicit_i)        exp_pre = 8'(lsb + 11'sd150);  // minus lz when normal
    else if (normal_imp)         exp_pre = 8'(scale + 10'sd127);
    else                         exp_pre = 8'd0;
  end

  always_comb begin
    kind_zero    = WordZero;  // zeros, and every class an integer table cannot hold
    kind_nonzero = WordZero;
    if (int_mode_i) begin
      if (cls_i == ClsFinite) begin
        kind_zero    = WordShifted;
        kind_nonzero = WordShifted;
      end
    end else begin
      unique case (cls_i)
        ClsFinite, ClsNanMax: begin
          kind_zero    = implicit_i ? WordShifted : WordZero;
          kind_nonzero = WordShifted;  // or NaN: the all-ones fraction of finite_nan_max
        end
        ClsInf:    begin kind_zero = WordInf; kind_nonzero = WordInf; end
        ClsNaN:    begin kind_zero = WordNaN; kind_nonzero = WordNaN; end
        ClsInfNaN: begin kind_zero = WordInf; kind_nonzero = WordShifted; end
        default:   ;
      endcase
    end
  end

  // The leading-zero count's first level, per nibble of {0, frac}: any bit set, leading zeros. It
  // sits before the input register, so the first half starts from the nibbles (the whole count
  // and the shift's multiplexer after it were the unpacker's critical path).
  logic [5:0]  nib_nz;
  logic [11:0] nib_lz;
  always_comb begin
    logic [3:0] n;
    for (int k = 0; k < 6; k++) begin
      n = k == 5 ? {1'b0, frac_i[22:20]} : frac_i[4*k +: 4];
      nib_nz[k]         = n != 4'd0;
      nib_lz[2*k +: 2]  = n[3] ? 2'd0 : n[2] ? 2'd1 : n[1] ? 2'd2 : 2'd3;
    end
  end

  // Input register (datapath: no reset)
  logic [22:0] frac_q, frac_mask_q;
  logic [5:0]  nib_nz_q;
  logic [11:0] nib_lz_q;
  logic [23:0] top_mask_q;
  logic [4:0]  shamt_pre_q;
  logic [7:0]  exp_pre_q;
  logic [1:0]  kind_zero_q, kind_nonzero_q;
  logic        fixed_q, nan_max_q, implicit_q, neg_in_q, int_in_q;

  always_ff @(posedge clk_i) begin
    if (in_en_i) begin
      frac_q         <= frac_i;
      nib_nz_q       <= nib_nz;
      nib_lz_q       <= nib_lz;
      frac_mask_q    <= frac_mask;
      top_mask_q     <= top_mask;
      shamt_pre_q    <= shamt_pre;
      exp_pre_q      <= exp_pre;
      kind_zero_q    <= kind_zero;
      kind_nonzero_q <= kind_nonzero;
      fixed_q        <= fixed;
      nan_max_q      <= !int_mode_i && cls_i == ClsNanMax;
      implicit_q     <= implicit_i;
      neg_in_q       <= neg_i;
      int_in_q       <= int_mode_i;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // First half
  logic [23:0] sig, frac24, imp_bit;
  logic [4:0]  lzc, shamt, lz;
  logic        normal, is_nan_max;
  logic [7:0]  exp;
  logic [1:0]  kind;

  assign frac24  = {1'b0, frac_q};
  // The implicit one sits just above the fraction's mask.
  assign imp_bit = implicit_q ? {frac_mask_q, 1'b1} & ~{1'b0, frac_mask_q} : 24'd0;
  assign sig     = imp_bit | frac24;

  // Leading zeros of the 24 bits (24 for zero) from the nibbles: the first non-empty nibble of the
  // upper four and of the lower two, then the upper if it has a bit (a 23-deep priority chain
  // would be the critical path).
  logic [3:0] lz_hi;
  logic [2:0] lz_lo;
  assign lz_hi = nib_nz_q[5] ? {2'd0, nib_lz_q[10 +: 2]} : nib_nz_q[4] ? {2'd1, nib_lz_q[8 +: 2]}
               : nib_nz_q[3] ? {2'd2, nib_lz_q[6 +: 2]} : {2'd3, nib_lz_q[4 +: 2]};
  assign lz_lo = nib_nz_q[1] ? {1'b0, nib_lz_q[2 +: 2]} : {1'b1, nib_lz_q[0 +: 2]};
  assign lzc   = nib_nz_q[5:2] != 4'd0 ? {1'b0, lz_hi} : nib_nz_q[1:0] != 2'd0 ? {2'b10, lz_lo} : 5'd24;

  // A fraction without implicit one is a normal fp32 when one of its bits lies in the mask.
  assign normal     = (frac24 & top_mask_q) != 24'd0;
  assign shamt      = !fixed_q && normal ? lzc : shamt_pre_q;
  assign exp        = fixed_q || normal ? exp_pre_q : 8'd0;
  assign lz         = !fixed_q && normal ? lzc : 5'd0;  // subtracted from exp in the second half
  assign is_nan_max = nan_max_q && frac_q == frac_mask_q;
  assign kind       = is_nan_max ? WordNaN : nib_nz_q != 6'd0 ? kind_nonzero_q : kind_zero_q;

  // ---------------------------------------------------------------------------------------------
  // Register between the halves (datapath: no reset)
  logic [31:0] sig_q;  // int32 mode: already negated for a negative number
  logic [4:0]  shamt_q;
  logic [7:0]  exp_q;
  logic [4:0]  lz_q;
  logic [1:0]  kind_q;
  logic        neg_q, int_q;

  always_ff @(posedge clk_i) begin
    if (mid_en_i) begin
      // -(sig << s) = (-sig) << s mod 2^32: the negation runs here, beside the leading-zero count,
      // not after the second half's shift
      sig_q   <= (int_in_q && neg_in_q) ? 32'd0 - {8'd0, sig} : {8'd0, sig};
      shamt_q <= shamt;
      exp_q   <= exp;
      lz_q    <= lz;
      kind_q  <= kind;
      neg_q   <= neg_in_q;
      int_q   <= int_in_q;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Second half
  logic [31:0] shifted;
  logic [7:0]  exp_out;
  assign shifted = sig_q << shamt_q;
  assign exp_out = exp_q - {3'd0, lz_q};

  always_comb begin
    unique case (kind_q)
      WordShifted: word_o = int_q ? shifted : {neg_q, exp_out, shifted[22:0]};
      WordInf:     word_o = {neg_q, 8'hff, 23'd0};
      WordNaN:     word_o = {neg_q, 8'hff, 23'h400000};
      default:     word_o = int_q ? 32'd0 : {neg_q, 31'd0};
    endcase
  end
endmodule
`resetall
