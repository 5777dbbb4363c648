`default_nettype none
// ws_tans_pop_enable: one clock enable of a tANS state buffer slot: the slot's sink term, or the
// state's pop when a slot runs (docs/tans_decoder.md, section 5, tenth step). The pop is forced
// (an initial-state unit used up) or a test: pass bit {at_hi_i, at0} of bits_i, which comes late,
// from the table RAM's output register (bit i: the entry's nb > i). Everything else comes from
// registers, at most four of them into each select, so the selects are one LUT4 deep and are there
// before the RAM bits.
//
// Under WS_ECP5 it is one wide-LUT cluster, so a RAM pin is one routing hop from the LUT whose mux
// tree drives the slot registers' clock enables: four LUT4s (each picks bits_i[2j + lo] when the
// test runs, else the constant sel_lo), a PFUMX by at_hi_i[0] and an L6MUX21 by at_hi_i[1]; the RAM
// bits enter on the LUT4s' fast A and B pins. Left to ABC, the test and the enable became two LUT
// levels with a routing hop between them (the ninth step's 5.4 ns path). Elsewhere (Verilator,
// iCE40) the same selects and multiplexers in plain logic.
module ws_tans_pop_enable (
  input  wire        sink_i,   // the slot's unit moves down to an empty slot (registered terms)
  input  wire        go_i,     // a slot runs: the state may pop
  input  wire        test_i,   // the pop is the pass bit's (else lo_i alone: a forced pop)
  input  wire        lo_i,     // test_i: the pass bit's index bit 0; else the pop is forced
  input  wire  [1:0] at_hi_i,  // the pass bit's index bits 2:1 (registered)
  input  wire  [7:0] bits_i,   // late: from the RAM's output register
  output logic       en_o
);
  // Leaf select {hi, lo}: 0x -> bits_i[2j + lo], 10 -> 0, 11 -> 1.
  logic sel_hi, sel_lo;
  assign sel_hi = sink_i || !(go_i && test_i);
  assign sel_lo = sink_i || (go_i && lo_i);
`ifdef WS_ECP5
  logic [3:0] leaf;
  logic [1:0] pair;
  for (genvar j = 0; j < 4; j++) begin : g_leaf
    // Z = D ? C : (C ? B : A), INIT indexed by {D, C, B, A}
    (* keep *) LUT4 #(.INIT(16'hf0ca)) u_leaf (
      .A(bits_i[2*j]), .B(bits_i[2*j+1]), .C(sel_lo), .D(sel_hi), .Z(leaf[j])
    );
  end
  (* keep *) PFUMX u_pair0 (.ALUT(leaf[1]), .BLUT(leaf[0]), .C0(at_hi_i[0]), .Z(pair[0]));
  (* keep *) PFUMX u_pair1 (.ALUT(leaf[3]), .BLUT(leaf[2]), .C0(at_hi_i[0]), .Z(pair[1]));
  (* keep *) L6MUX21 u_top (.D0(pair[0]), .D1(pair[1]), .SD(at_hi_i[1]), .Z(en_o));
`else
  assign en_o = sel_hi ? sel_lo : bits_i[{at_hi_i, sel_lo}];
`endif
endmodule
`resetall
