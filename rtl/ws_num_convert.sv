`default_nettype none
// ws_num_convert: one number of a format table (docs/numfmt.md) to the word the unpacker emits:
// the IEEE fp32 bit pattern, or an int32 in integer mode. Two halves with a register between them
// (loaded when en_i is high), so word_o follows the inputs by one clock.
//
// A finite number is sign * sig * 2^lsb with sig = implicit_one << frac_bits | frac (< 2^24) and
// lsb = scale - frac_bits. One left shift of sig serves every case:
//   fp32      sig << min(lz, lsb + 149): the leading one to bit 23 while the exponent
//             lsb + 150 - lz stays >= 1, else an fp32 subnormal with its lsb at 2^-149
//   inf_nan   payload sig << (23 - frac_bits), the implicit one dropped at bit 23
//   int32     sig << lsb, negated (the negation before the shift: -(sig << s) = (-sig) << s mod 2^32)
// First half: the leading zeros lz of sig (known from frac_bits with an implicit one, else counted
// on the fraction), the shift and the exponent. Second half: the shift and the word.
module ws_num_convert (
  input  wire         clk_i,
  input  wire         en_i,
  input  wire         int_mode_i,  // 1: int32 output
  input  wire  [2:0]  cls_i,       // numfmt::Class
  input  wire         neg_i,
  input  wire         implicit_i,
  input  wire  [10:0] lsb_i,       // scale - frac_bits, two's complement
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
  // First half
  logic signed [10:0] lsb;
  logic [4:0]  sub_sh;  // lsb + 149 mod 32: the shift that puts sig's lsb at 2^-149 (149 = 128 + 21)
  logic [23:0] sig, frac24, top_mask;
  logic [4:0]  lzc, lz, shamt;
  logic        normal, is_nan_max;
  logic [7:0]  exp;
  logic [1:0]  kind;

  assign lsb    = $signed(lsb_i);
  assign sub_sh = lsb_i[4:0] + 5'd21;
  assign sig    = (24'(implicit_i) << frac_bits_i) | {1'b0, frac_i};
  assign frac24 = {1'b0, frac_i};

  // Leading zeros in 8-bit groups, then the first non-empty group: a short tree where a 23-deep
  // priority chain would be the critical path.
  function automatic logic [3:0] lz8(input logic [7:0] v);  // 8 when v is 0
    lz8 = 4'd8;
    for (int i = 0; i < 8; i++) begin
      if (v[i]) lz8 = 4'(7 - i);
    end
  endfunction

  assign lzc = frac24[23:16] != 8'd0 ? 5'(lz8(frac24[23:16]))
             : frac24[15:8]  != 8'd0 ? 5'd8 + 5'(lz8(frac24[15:8]))
             :                         5'd16 + 5'(lz8(frac24[7:0]));
  assign lz  = implicit_i ? 5'(5'd23 - frac_bits_i) : lzc;

  // Normal fp32 when sig's leading one lands at 2^-126 or above (lz <= sub_sh): decided from a mask
  // of the fraction beside the leading-zero count, not after it. The range checks compare lsb with
  // constants (sub_sh >= 23 is lsb >= -126, sub_sh < 0 is lsb < -149) and the shift needs only
  // 23 - sub_sh = -126 - lsb mod 32 = 2 - lsb[4:0], so no wide adder precedes the mask.
  always_comb begin
    if (lsb >= -11'sd126)     top_mask = 24'hffffff;
    else if (lsb < -11'sd149) top_mask = 24'h0;
    else                      top_mask = 24'hffffff << (5'd2 - lsb_i[4:0]);
  end
  assign normal     = (sig & top_mask) != 24'd0;
  assign exp        = normal ? 8'(lsb + 11'sd150 - $signed({6'd0, lz})) : 8'd0;
  assign is_nan_max = cls_i == ClsNanMax && frac_i == ~(23'h7fffff << frac_bits_i);

  always_comb begin
    if (int_mode_i)              shamt = lsb[4:0];
    else if (cls_i == ClsInfNaN) shamt = 5'(5'd23 - frac_bits_i);
    else if (normal)             shamt = lz;
    else                         shamt = sub_sh;
  end

  always_comb begin
    kind = WordZero;  // zeros, and every class an integer table cannot hold
    if (int_mode_i) begin
      if (cls_i == ClsFinite) kind = WordShifted;
    end else begin
      unique case (cls_i)
        ClsFinite, ClsNanMax: kind = is_nan_max ? WordNaN : sig != 24'd0 ? WordShifted : WordZero;
        ClsInf:               kind = WordInf;
        ClsNaN:               kind = WordNaN;
        ClsInfNaN:            kind = frac_i != 23'd0 ? WordShifted : WordInf;
        default:              kind = WordZero;
      endcase
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Register between the halves (datapath: no reset)
  logic [31:0] sig_q;  // int32 mode: already negated for a negative number
  logic [4:0]  shamt_q;
  logic [7:0]  exp_q;
  logic [1:0]  kind_q;
  logic        neg_q, int_q;

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      // -(sig << s) = (-sig) << s mod 2^32: the negation runs here, beside the leading-zero count,
      // not after the second half's shift
      sig_q   <= (int_mode_i && neg_i) ? 32'd0 - {8'd0, sig} : {8'd0, sig};
      shamt_q <= shamt;
      exp_q   <= cls_i == ClsInfNaN ? 8'hff : exp;
      kind_q  <= kind;
      neg_q   <= neg_i;
      int_q   <= int_mode_i;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Second half
  logic [31:0] shifted;
  assign shifted = sig_q << shamt_q;

  always_comb begin
    unique case (kind_q)
      WordShifted: word_o = int_q ? shifted : {neg_q, exp_q, shifted[22:0]};
      WordInf:     word_o = {neg_q, 8'hff, 23'd0};
      WordNaN:     word_o = {neg_q, 8'hff, 23'h400000};
      default:     word_o = int_q ? 32'd0 : {neg_q, 31'd0};
    endcase
  end
endmodule
`resetall
