`default_nettype none
// ws_tans_lane: one lane of ws_tans_decoder (docs/tans_decoder.md, section 3). It owns two tANS
// states, context 0 (state j) and context 1 (state Lanes + j), each with its own input port and
// ws_tans_state_buffer, and one copy of the decode table. The table loop runs through the RAM's
// output register and takes two cycles; the two contexts alternate on it. In a slot (a cycle with
// adv_i) the context `phase_i` decodes and the other one extracts:
//   decode  (context phase_i): entry = the RAM output; next state = base | (window & mask) goes to
//           the RAM address, symbol out, and the bit position sum = cur + nb is registered;
//   extract (the other context, which decoded in the slot before): the window for its next decode
//           is cut from {h1, h0, w0} at that sum (16 or more: w0 is used up and pops; it has held a
//           copy of h0 since the decode, so the unit the position is in is always w0).
// So nothing on the path from the RAM output register adds or compares: one LUT level to the RAM
// address (the window's 4:1 from registers runs beside the RAM's clock-to-out), an adder into a
// register. Errors of a state are checked at its extractions, in a
// pipeline of registered stages, and reported three cycles later.
module ws_tans_lane #(
  parameter int MaxTableLog = 11
) (
  input  wire                    clk_i,
  input  wire                    rst_ni,
  // Table writes, the same to every lane: {bank, entry index} and the RAM word of the decoder
  input  wire                    cfg_we_i,
  input  wire  [MaxTableLog:0]   cfg_addr_i,
  input  wire  [2*MaxTableLog+11:0] cfg_data_i,
  // The ports of state j (context 0, bit 0) and state Lanes + j (context 1, bit 1)
  input  wire  [1:0]             in_valid_i,
  output logic [1:0]             in_ready_o,
  input  wire  [31:0]            in_data_i,
  input  wire  [1:0]             in_last_i,
  // The slot, from the decoder's sequencer
  input  wire                    adv_i,      // a slot runs this cycle (else everything holds)
  input  wire                    phase_i,    // the context that decodes; the other extracts
  input  wire                    pseudo_i,   // decode: the initial state (the window) is the address
  input  wire                    beat_i,     // decode: a symbol step (neither: sum := 16)
  // Extract, per context (registered in the sequencer, which knows which states are done):
  input  wire  [1:0]             pop_sel_i,  // the context extracts, not for the last time
  input  wire  [1:0]             fin_sel_i,  // the context extracts for the last time: flush after
  input  wire                    init_i,     // the extraction is the first: the initial-state unit
  input  wire  [1:0]             abort_i,    // flush these contexts' states (a failed chunk)
  input  wire                    bank_i,
  input  wire  [3:0]             table_log_i,
  output logic [7:0]             symbol_o,   // of the decoding context's current entry
  output logic [1:0]             ready_o,    // per context: its state can extract (registered)
  // Errors found by this cycle's check stage, one-cycle pulses
  output logic                   early_o,    // a read past the stream's last unit
  output logic                   final_o,    // the state after the last symbol is not 0
  output logic                   left_o,     // a whole unit or a non-zero padding bit left over
  output logic                   bad_init_o  // the initial-state unit is not below 2^L
);
  `include "ws_assert.svh"

  localparam int ML        = MaxTableLog;
  localparam int EntryBits = 2 * ML + 12;  // {nb[3:0], mask[ML-1:0], base[ML-1:0], symbol[7:0]}
  localparam int BaseAt    = 8;
  localparam int MaskAt    = 8 + ML;
  localparam int NbAt      = 8 + 2 * ML;

  // ---------------------------------------------------------------------------------------------
  // The two states' input buffers
  // Per context c: units at [16c +: 16], valid flags at [3c +: 3]. (Packed: Yosys re-elaborates a
  // module whose array elements meet ports, which breaks hierarchy -chparam.)
  logic [1:0]  pop, flush, ended;
  logic [1:0]  w0_en;  // w0 loads h0 (a copy before the pop, or while empty)
  logic [31:0] w0, h0, h1;
  logic [5:0]  valid;

  for (genvar c = 0; c < 2; c++) begin : g_state
    ws_tans_state_buffer #(
      .Slots(ML <= 8 ? 3 : 4)  // the window reads h1 only above 8
    ) u_buffer (
      .clk_i,
      .rst_ni,
      .in_valid_i(in_valid_i[c]),
      .in_ready_o(in_ready_o[c]),
      .in_data_i (in_data_i[16*c +: 16]),
      .in_last_i (in_last_i[c]),
      .pop_i     (pop[c]),
      .w0_en_i   (w0_en[c]),
      .flush_i   (flush[c]),
      .w0_o      (w0[16*c +: 16]),
      .h0_o      (h0[16*c +: 16]),
      .h1_o      (h1[16*c +: 16]),
      .valid_o   (valid[3*c +: 3]),
      .ended_o   (ended[c]),
      .ok_o      (ready_o[c])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Decode: the table RAM and the next state
  // At ML <= 8 the RAM word carries 8 pass bits above the entry, bit i = nb > i (36 bits: still one
  // DP16KD; three EBR wide on iCE40): a decode from position cur >= 8 passes 16 when bit 15 - cur
  // is set, which w0's enables pick by cur (registers) in one wide-LUT cluster.
  localparam int RamBits = ML <= 8 ? EntryBits + 8 : EntryBits;
  logic [RamBits-1:0]   ram_word;
  logic [EntryBits-1:0] entry;
  logic [7:0]           pass_bits;  // at ML <= 8
  logic [7:0]           cfg_pass;   // ... as written: from the configuration word's nb
  logic [ML-1:0]        base, mask, addr;
  logic [3:0]           nb;
  logic [ML+2:0]        coarse_q;  // the decoding context's units from bit 4 * (position / 4) on ...
  logic [1:0]           fine_q;    // ... and its position mod 4
  logic [ML-1:0]        window;    // its next bits: coarse_q[fine_q +: ML]
  logic [3:0]           cur_q;     // its bit position in w0
  logic [4:0]           sum_q;   // the extracting context's position: cur + nb of its last decode
  logic [ML-1:0]        addr_q;  // the address of the last decode: the state after it

  ws_bram_sdp #(
    .AddrBits(ML + 1),
    .Width   (RamBits)
  ) u_ram (
    .clk_i,
    .we_i   (cfg_we_i),
    .waddr_i(cfg_addr_i),
    .wdata_i(RamBits'({cfg_pass, cfg_data_i})),
    .ce_i   (adv_i),
    .raddr_i({bank_i, addr}),
    .rdata_o(ram_word)
  );
  assign entry     = ram_word[EntryBits-1:0];
  assign pass_bits = ram_word[RamBits-1 -: 8];  // (the entry's top bits above ML 8: unused)
  for (genvar i = 0; i < 8; i++) begin : g_cfg_pass
    assign cfg_pass[i] = cfg_data_i[NbAt +: 4] > 4'(i);
  end

  assign symbol_o = entry[7:0];
  assign base     = entry[BaseAt +: ML];
  assign mask     = entry[MaskAt +: ML];
  assign nb       = entry[NbAt +: 4];
  // The window's last multiplexer stage (a 4:1 by the position mod 4) runs here, in the cycle of the
  // RAM's clock-to-out and route, before the address LUT: the extraction is a stage shorter. "|" is "+": the low nb bits of base are zero (the configuration
  // port checks it).
  always_comb begin
    unique case (fine_q)
      2'd0:    window = coarse_q[ML-1:0];
      2'd1:    window = coarse_q[ML:1];
      2'd2:    window = coarse_q[ML+1:2];
      default: window = coarse_q[ML+2:3];
    endcase
  end
  assign addr = pseudo_i ? window : base | (window & mask);

  // ---------------------------------------------------------------------------------------------
  // Extract: the window of the other context at its position sum_q, in {h1, h0, w0} of its buffer:
  // they hold still from the decode before (the context decodes, so pops nothing, and has its units
  // in, so nothing moves into them). The unit the position is in is w0 (issue 12, dec34): a decode
  // whose position passes 16 has w0 copy h0 at once (w0_en), and so does a stalled extractor at 16
  // or more, while the slots and flags still move at the extraction's pop. So there is no view copy
  // and no 2:1 on sum[4] for the low unit; above it the window reads h0 (h1 from 16 on, above ML 8:
  // at ML <= 8 a window from sum >= 16 ends inside w0, sum - 16 + ML <= 15).
  localparam int HalfBits = ML + 15;  // every start sum[3:0] <= 15
  logic                ext_ctx;  // the extracting context
  logic                live;     // ... whose state still decodes this chunk
  logic                fin;      // ... for the last time
  logic                shift;    // sum >= 16: w0 is used up
  logic [4:0]          step;     // cur + nb: this decode's position
  logic [15:0]         ext_w0;          // the extractor's w0
  logic [ML-2:0]       ext_h0, ext_h1;  // ... and the parts of its h0, h1 a window reaches
  logic [16-ML:0]      unused_h0, unused_h1;
  logic [HalfBits-1:0] half;     // from bit 16 * sum[4] of its {h1, h0, w0}: w0 then the bits above
  logic [ML+2:0]       coarse;   // half from bit 4 * sum[3:2] on

  // The lane's contexts from a lane-local copy of the sequencer's phase (same reset, same toggle
  // per slot; issue 12, dec34b): the extraction's context 2:1 and w0's selects have it from a
  // register in the lane, not from one net that reaches every lane.
  (* keep *) logic phase_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) phase_q <= 1'b0;
    else         phase_q <= phase_q ^ adv_i;
  end
  assign ext_ctx = !phase_q;
  assign live    = |(pop_sel_i | fin_sel_i);
  assign fin     = |fin_sel_i;
  assign shift   = sum_q[4];
  assign step    = 5'({1'b0, cur_q} + {1'b0, nb});
  assign ext_w0  = ext_ctx ? w0[31:16] : w0[15:0];
  assign {unused_h0, ext_h0} = ext_ctx ? h0[31:16] : h0[15:0];
  assign {unused_h1, ext_h1} = ext_ctx ? h1[31:16] : h1[15:0];
  assign half    = {ML > 8 && shift ? ext_h1 : ext_h0, ext_w0};
  // A logarithmic shifter, not a multiplexer per bit: shifts by 8 and 4 (sum[3:2]); the decode
  // does the last 4:1. Each stage only as wide as the bits the later ones can reach (a `>>` of the
  // whole half maps to more LUTs).
  logic [ML+6:0] by8;
  logic [ML+2:0] by4;
  assign by8    = sum_q[3] ? half[8 +: ML+7] : half[0 +: ML+7];
  assign by4    = sum_q[2] ? by8[4 +: ML+3] : by8[0 +: ML+3];
  assign coarse = by4;

  // w0 loads h0 (a copy: the slots and flags still move at the extraction's pop) when the context's
  // next extraction starts at 16 or more, at its decode: forced in a slot that decodes no symbol
  // (which sets the position to 16), tested in a symbol's (this decode's position passes 16), or
  // while it waits to extract; and whenever w0 is empty (so that a unit sinking into it is there).
  // Its pop then needs no load: w0
  // already holds h0 (h0 was in at the decode, and stays till the pop). The test comes from the RAM's
  // output register; the rest from registers, one LUT level. At ML <= 8 a position passes 16 only
  // from cur >= 8, and then exactly when pass bit 15 - cur = ~cur[2:0] is set.
  logic [1:0] w0_force, w0_test;
  logic       cur_hi_q, cur_odd_hi_q;  // cur_q[3]; cur_q[3] && cur_q[0]
  always_ff @(posedge clk_i) begin
    if (adv_i) begin
      cur_hi_q     <= sum_q[3];
      cur_odd_hi_q <= sum_q[3] && sum_q[0];
    end
  end
  for (genvar c = 0; c < 2; c++) begin : g_ctl
    logic dec;  // the context decodes in this slot
    assign dec         = adv_i && phase_q == c[0];
    assign pop[c]      = adv_i && pop_sel_i[c] && shift;
    assign flush[c]    = (adv_i && fin_sel_i[c]) || abort_i[c];
    assign w0_force[c] = !valid[3*c] || (adv_i ? phase_q == c[0] && !beat_i : phase_q != c[0] && shift);
    assign w0_test[c]  = dec && beat_i && (ML > 8 || cur_hi_q);
    if (ML <= 8) begin : g_bits
      // Selects {hi, lo}: 0x: pass bit ~{cur[2:1], lo} (the test, lo = cur[0]); 10: 0; 11: 1 (forced).
      logic sel_hi, sel_lo;
      assign sel_hi = w0_force[c] || !w0_test[c];
      assign sel_lo = w0_force[c] || (dec && beat_i && cur_odd_hi_q);  // w0_test && cur[0]
`ifdef WS_ECP5
      // One wide-LUT cluster per context (issue 12, dec34), so that the RAM pins are one routing
      // hop from it and it is one hop from w0's clock enables: leaf j (cur[2:1] = j) takes pass bits
      // 7 - 2j and 6 - 2j on its A and B pins and the selects, a PFUMX picks by cur[1], an L6MUX21
      // by cur[2]. (Left to ABC the test and the enable were two or three LUT levels.)
      // Each select is a LUT5 (two LUT4 and a PFUMX), one level from registers: left to ABC they
      // were three LUT4 levels (it shares adv && phase && beat among the lanes).
      //   hi = !v0 || !(adv && phase == c && beat && cur_hi)   (PFUMX by v0)
      //   lo = adv ? !v0 || (phase == c && (!beat || cur_odd_hi)) : !v0 || (phase != c && shift)
      // LUT4 INIT, indexed by {D, C, B, A}.
      function automatic logic [15:0] sel_init(int which, int ctx);
        logic a, b, cc, d;
        for (int i = 0; i < 16; i++) begin
          a = i % 2 == 1; b = (i / 2) % 2 == 1; cc = (i / 4) % 2 == 1; d = i / 8 == 1;
          case (which)
            0:       sel_init[i] = !(a && (b == (ctx == 1)) && cc && d);       // {cur_hi, beat, phase, adv}, v0
            1:       sel_init[i] = !a || (b == (ctx == 1) && (!cc || d));      // {cur_odd_hi, beat, phase, v0}, adv
            default: sel_init[i] = !a || (b != (ctx == 1) && cc);              // {-, shift, phase, v0}, !adv
          endcase
        end
      endfunction
      logic [1:0] sel_leaf;
      logic       sel_hi_c, sel_lo_c;
      (* keep *) LUT4 #(.INIT(sel_init(0, c))) u_hi_v (
        .A(adv_i), .B(phase_q), .C(beat_i), .D(cur_hi_q), .Z(sel_leaf[0]));
      (* keep *) LUT4 #(.INIT(16'hffff)) u_hi_e (
        .A(adv_i), .B(phase_q), .C(beat_i), .D(cur_hi_q), .Z(sel_leaf[1]));
      (* keep *) PFUMX u_hi (.ALUT(sel_leaf[0]), .BLUT(sel_leaf[1]), .C0(valid[3*c]), .Z(sel_hi_c));
      logic [1:0] lo_leaf;
      (* keep *) LUT4 #(.INIT(sel_init(1, c))) u_lo_a (
        .A(valid[3*c]), .B(phase_q), .C(beat_i), .D(cur_odd_hi_q), .Z(lo_leaf[1]));
      (* keep *) LUT4 #(.INIT(sel_init(2, c))) u_lo_s (
        .A(valid[3*c]), .B(phase_q), .C(shift), .D(1'b0), .Z(lo_leaf[0]));
      (* keep *) PFUMX u_lo (.ALUT(lo_leaf[1]), .BLUT(lo_leaf[0]), .C0(adv_i), .Z(sel_lo_c));
      logic [3:0] leaf;
      logic [1:0] pair;
      for (genvar j = 0; j < 4; j++) begin : g_leaf
        // Z = D ? C : (C ? B : A), INIT indexed by {D, C, B, A}
        (* keep *) LUT4 #(.INIT(16'hf0ca)) u_leaf (
          .A(pass_bits[7-2*j]), .B(pass_bits[6-2*j]), .C(sel_lo_c), .D(sel_hi_c), .Z(leaf[j])
        );
      end
      (* keep *) PFUMX u_pair0 (.ALUT(leaf[1]), .BLUT(leaf[0]), .C0(cur_q[1]), .Z(pair[0]));
      (* keep *) PFUMX u_pair1 (.ALUT(leaf[3]), .BLUT(leaf[2]), .C0(cur_q[1]), .Z(pair[1]));
      (* keep *) L6MUX21 u_top (.D0(pair[0]), .D1(pair[1]), .SD(cur_q[2]), .Z(w0_en[c]));
`else
      assign w0_en[c] = sel_hi ? sel_lo : pass_bits[~{cur_q[2:1], sel_lo}];
`endif
    end else begin : g_carry
      logic [8:0] unused_pass_bits;  // the entry's top bits: no pass bits above ML 8
      assign unused_pass_bits = {pass_bits, cur_odd_hi_q};
      assign w0_en[c] = w0_force[c] || (w0_test[c] && step[4]);
    end
  end

  always_ff @(posedge clk_i) begin
    if (adv_i) begin
      addr_q <= addr;
      sum_q    <= beat_i ? step : 5'd16;
      coarse_q <= coarse;
      fine_q   <= sum_q[1:0];
      cur_q    <= sum_q[3:0];
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Checks, registered at each extraction of a live state and evaluated over the next two cycles:
  //   ends early  the position passes the last unit;
  //   left over   (last extraction) a whole unit after the one the position is in, the last unit
  //               not in yet, or a 1 among the padding bits above the position;
  //   final state (last extraction) the address of the last decode is not 0;
  //   bad initial (first extraction) the initial-state unit has a 1 at bit L or above.
  // "A 1 at bit `from` or above" of the 16-bit unit, in two register stages: per nibble, a 1 at or
  // above from[1:0] (nibble from[3:2]), any 1 (nibbles above it) or none (below); then their OR.
  logic        chk_q, chk_init_q, chk_fin_q, chk_ended_q, chk_nz_addr_q;
  logic [2:0]  chk_valid_q;
  logic [4:0]  chk_sum_q;
  logic [15:0] chk_unit_q;
  logic [3:0]  chk_from_q;  // the unit's bits from here up must be zero (padding, or above L)

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) chk_q <= 1'b0;
    else         chk_q <= adv_i && live;
  end

  always_ff @(posedge clk_i) begin
    chk_init_q    <= init_i;
    chk_fin_q     <= fin;
    chk_ended_q   <= ended[ext_ctx];
    chk_valid_q   <= ext_ctx ? valid[5:3] : valid[2:0];
    chk_nz_addr_q <= addr_q != '0;
    chk_sum_q     <= sum_q;
    chk_unit_q    <= half[15:0];  // the unit the position is in (the initial state's, at init)
    chk_from_q    <= init_i ? table_log_i : sum_q[3:0];
  end

  // Stage 2: everything but the padding bits, and the padding per nibble.
  logic       p_zero, p_upto16;
  logic       st2_q, st2_early_q, st2_left_q, st2_final_q, st2_init_q, st2_pad_q;
  logic [3:0] nib_q;  // per nibble: a 1 at bit `from` or above in it
  assign p_zero   = chk_sum_q == 5'd0;
  assign p_upto16 = chk_sum_q <= 5'd16;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) st2_q <= 1'b0;
    else         st2_q <= chk_q;
  end
  always_ff @(posedge clk_i) begin
    // Units in the buffer from w0 on: valid[0] w0, [1] h0, [2] h1 (the slots fill from w0 up).
    st2_early_q <= chk_ended_q && (p_zero ? 1'b0 : p_upto16 ? !chk_valid_q[0] : !chk_valid_q[1]);
    st2_left_q  <= chk_fin_q && (!chk_ended_q || (p_zero ? chk_valid_q[0] : p_upto16 ? chk_valid_q[1]
                                                                                     : chk_valid_q[2]));
    st2_final_q <= chk_fin_q && chk_nz_addr_q;
    st2_init_q  <= chk_init_q;
    st2_pad_q   <= chk_fin_q && chk_sum_q[3:0] != '0;  // the position is inside a unit: padding above it
    for (int n = 0; n < 4; n++) begin
      nib_q[n] <= 2'(n) == chk_from_q[3:2] ? (chk_unit_q[4*n +: 4] >> chk_from_q[1:0]) != '0
                                           : 2'(n) > chk_from_q[3:2] && chk_unit_q[4*n +: 4] != '0;
    end
  end

  // Stage 3: the results.
  logic above;  // a 1 at bit `from` or above
  assign above = |nib_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      early_o    <= 1'b0;
      final_o    <= 1'b0;
      left_o     <= 1'b0;
      bad_init_o <= 1'b0;
    end else begin
      early_o    <= st2_q && st2_early_q;
      final_o    <= st2_q && st2_final_q;
      left_o     <= st2_q && (st2_left_q || (st2_pad_q && above));
      bad_init_o <= st2_q && st2_init_q && above;
    end
  end

  `WS_ASSERT(one_kind, !(pseudo_i && beat_i) && !(init_i && fin) && !(|(pop_sel_i & fin_sel_i))
             && (pop_sel_i | fin_sel_i) != 2'b11, ("ws_tans_lane: a slot of two kinds"))
  `WS_ASSERT(phase_copy, phase_q == phase_i, ("ws_tans_lane: the phase copy differs"))
  `WS_ASSERT(no_abort_in_slot, !(|abort_i && adv_i), ("ws_tans_lane: abort during a slot"))
endmodule
`resetall
