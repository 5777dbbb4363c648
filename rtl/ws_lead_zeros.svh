// Leading zeros of a 32-bit value (0 .. 31; 31 also for zero, so callers pad with a one below their
// width), as a balanced tree: each level merges two halves (the upper half's count if it has a set
// bit, else 2^k plus the lower half's). A priority loop gives the same function, but Yosys keeps its
// chain shape and ABC maps it to a dozen LUT levels; this tree is about four.
// Include inside a module (ws_mac_add, ws_mac_mul, ws_bit_reader); trailing zeros
// are the leading zeros of the bit-reversed value.
function automatic logic [4:0] lead_zeros32(input logic [31:0] v);
  logic [15:0] z1, c1;  // per 2 bits: all zero, count (1 bit)
  logic [7:0]  z2;
  logic [15:0] c2;      // per 4 bits: 2-bit counts
  logic [3:0]  z3;
  logic [11:0] c3;      // per 8 bits: 3-bit counts
  logic        z4;      // the upper 16 bits are all zero
  logic [7:0]  c4;      // per 16 bits: 4-bit counts
  for (int j = 0; j < 16; j++) begin
    z1[j] = !v[2*j+1] && !v[2*j];
    c1[j] = !v[2*j+1];
  end
  for (int j = 0; j < 8; j++) begin
    z2[j]         = z1[2*j+1] && z1[2*j];
    c2[2*j +: 2]  = z1[2*j+1] ? {1'b1, c1[2*j]} : {1'b0, c1[2*j+1]};
  end
  for (int j = 0; j < 4; j++) begin
    z3[j]         = z2[2*j+1] && z2[2*j];
    c3[3*j +: 3]  = z2[2*j+1] ? {1'b1, c2[2*(2*j) +: 2]} : {1'b0, c2[2*(2*j+1) +: 2]};
  end
  for (int j = 0; j < 2; j++) begin
    c4[4*j +: 4]  = z3[2*j+1] ? {1'b1, c3[3*(2*j) +: 3]} : {1'b0, c3[3*(2*j+1) +: 3]};
  end
  z4 = z3[3] && z3[2];
  lead_zeros32 = z4 ? {1'b1, c4[3:0]} : {1'b0, c4[7:4]};
endfunction
