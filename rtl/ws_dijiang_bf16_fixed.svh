// bf16 to DiJiang's signed fixed point (docs/dijiang_hw.md section 2): ws_pkg::DIJ_X_BITS bits with
// DIJ_X_FRAC = 8 fraction bits, round to nearest even (exact for |x| >= 1/2). A value not finite or
// of magnitude 512 or more saturates to +-(2^17 - 1) with bit 18 (the range error) set. Returns
// {range error, value}. Include inside a module (the feature map's x, the state unit's v); the C++
// twin is ws::dijiang_x_fixed.
function automatic logic [18:0] dij_bf16_fixed(input logic [15:0] h);
  logic [7:0]  e;
  logic [7:0]  m;           // significand 1.f as an integer, 128 .. 255
  logic [17:0] mag;
  logic [3:0]  sh;          // right shift 1 .. 9
  logic [7:0]  rem, half;
  logic        range;
  e = h[14:7];
  m = {1'b1, h[6:0]};
  mag = '0;
  sh = '0;
  rem = '0;
  half = '0;
  range = e >= 8'd136;
  if (range) begin
    mag = 18'h1FFFF;
  end else if (e >= 8'd126) begin
    mag = 18'(m) << (e - 8'd126);
  end else if (e >= 8'd117) begin  // shifts of 1 .. 9 round; beyond, below 2^-10: 0
    sh   = 4'(8'd126 - e);
    mag  = 18'(m) >> sh;
    rem  = m & ((8'd1 << sh) - 8'd1);
    half = sh == 4'd9 ? 8'd0 : 8'd1 << (sh - 4'd1);
    if (sh == 4'd9) begin
      mag = '0;                     // m / 512 < 0.5
    end else if (rem > half || (rem == half && mag[0])) begin
      mag = mag + 18'd1;
    end
  end
  dij_bf16_fixed = {range, h[15] ? -mag : mag};
endfunction
