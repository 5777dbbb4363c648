`default_nettype none
// ws_num_convert: one number of a format table (docs/numfmt.md) to the word the unpacker emits:
// the IEEE fp32 bit pattern, or an int32 in integer mode. Combinational.
//
// A finite number is sign * sig * 2^lsb with sig = implicit_one << frac_bits | frac (< 2^24) and
// lsb = scale - frac_bits. One left shift of sig serves every case. The leading one of sig sits at
// frac_bits when there is an implicit one, so the leading-zero count is needed (and counted on the
// fraction alone, off the path of sig) only for significands without one:
//   fp32      sig << min(lz, lsb + 149): the leading one to bit 23 while the exponent
//             lsb + 150 - lz stays >= 1, else an fp32 subnormal with its lsb at 2^-149
//   inf_nan   payload sig << (23 - frac_bits), the implicit one dropped at bit 23
//   int32     sig << lsb, then negated
module ws_num_convert (
  input  wire         int_mode_i,  // 1: int32 output
  input  wire  [2:0]  cls_i,       // numfmt::Class
  input  wire         neg_i,
  input  wire         implicit_i,
  input  wire  [9:0]  scale_i,     // two's complement
  input  wire  [4:0]  frac_bits_i, // 0..23
  input  wire  [22:0] frac_i,      // zero above frac_bits_i
  output logic [31:0] word_o
);
  localparam logic [2:0] ClsZero    = 3'd1;
  localparam logic [2:0] ClsFinite  = 3'd2;
  localparam logic [2:0] ClsNanMax  = 3'd3;
  localparam logic [2:0] ClsInf     = 3'd4;
  localparam logic [2:0] ClsNaN     = 3'd5;
  localparam logic [2:0] ClsInfNaN  = 3'd6;

  logic [23:0] sig;
  logic signed [10:0] lsb;     // weight of sig's last bit
  logic signed [10:0] sub_sh;  // lsb + 149: the shift that puts that bit at 2^-149
  logic [4:0]  lzc;            // leading zeros of {0, frac} in 24 bits (24 when frac is 0)
  logic [4:0]  lz;             // leading zeros of sig
  logic        normal;         // the result is a normal fp32
  logic [4:0]  shamt;
  logic [31:0] shifted;
  logic [7:0]  exp;
  logic        is_nan_max;

  assign sig    = (24'(implicit_i) << frac_bits_i) | {1'b0, frac_i};
  assign lsb    = $signed({scale_i[9], scale_i} - {6'd0, frac_bits_i});
  assign sub_sh = lsb + 11'sd149;

  // Leading zeros in 8-bit groups, then the first non-empty group: a short tree where a 23-deep
  // priority chain would be the critical path.
  function automatic logic [3:0] lz8(input logic [7:0] v);  // 8 when v is 0
    lz8 = 4'd8;
    for (int i = 0; i < 8; i++) begin
      if (v[i]) lz8 = 4'(7 - i);
    end
  endfunction

  logic [23:0] frac24;
  assign frac24 = {1'b0, frac_i};
  assign lzc    = frac24[23:16] != 8'd0 ? 5'(lz8(frac24[23:16]))
                : frac24[15:8]  != 8'd0 ? 5'd8 + 5'(lz8(frac24[15:8]))
                :                         5'd16 + 5'(lz8(frac24[7:0]));
  assign lz     = implicit_i ? 5'(5'd23 - frac_bits_i) : lzc;

  // Normal fp32 when the leading one lands at 2^-126 or above: with an implicit one when
  // scale >= -126, without one when frac has a bit at position 23 - sub_sh or higher (lz <= sub_sh).
  // Decided from the registered fields and a mask, beside the leading-zero count, not after it.
  logic [23:0] top_mask;
  always_comb begin
    if (sub_sh >= 11'sd23)    top_mask = 24'hffffff;
    else if (sub_sh < 11'sd0) top_mask = 24'h0;
    else                      top_mask = 24'hffffff << (5'd23 - sub_sh[4:0]);
  end
  assign normal = implicit_i ? $signed(scale_i) >= -10'sd126 : (frac24 & top_mask) != 24'd0;
  assign exp    = normal ? 8'(lsb + 11'sd150 - $signed({6'd0, lz})) : 8'd0;
  assign is_nan_max = cls_i == ClsNanMax && frac_i == ~(23'h7fffff << frac_bits_i);

  always_comb begin
    if (int_mode_i)              shamt = lsb[4:0];
    else if (cls_i == ClsInfNaN) shamt = 5'(5'd23 - frac_bits_i);
    else if (normal)             shamt = lz;
    else                         shamt = sub_sh[4:0];
    shifted = {8'd0, sig} << shamt;
  end

  always_comb begin
    word_o = {neg_i, 31'd0};  // zeros, and every class an integer table cannot hold
    if (int_mode_i) begin
      word_o = cls_i == ClsFinite ? (neg_i ? 32'd0 - shifted : shifted) : 32'd0;
    end else begin
      unique case (cls_i)
        ClsFinite, ClsNanMax: begin
          if (is_nan_max)      word_o = {neg_i, 8'hff, 23'h400000};
          else if (sig != 24'd0) word_o = {neg_i, exp, shifted[22:0]};
        end
        ClsInf:    word_o = {neg_i, 8'hff, 23'd0};
        ClsNaN:    word_o = {neg_i, 8'hff, 23'h400000};
        ClsInfNaN: word_o = {neg_i, 8'hff, shifted[22:0]};
        ClsZero:   word_o = {neg_i, 31'd0};
        default:   word_o = {neg_i, 31'd0};
      endcase
    end
  end
endmodule
