`default_nettype none
// ws_tans_lane: one lane of ws_tans_decoder (docs/tans_decoder.md, section 3). It owns two tANS
// states, context 0 (state j) and context 1 (state Lanes + j), each with its own input port and
// ws_tans_state_buffer, and one copy of the decode table. The table loop runs through the RAM's
// output register and takes two cycles; the two contexts alternate on it. In a slot (a cycle with
// adv_i) the context `phase_i` decodes and the other one extracts:
//   decode  (context phase_i): entry = the RAM output; next state = base | (window & mask) goes to
//           the RAM address, symbol out, and the bit position sum = cur + nb is registered;
//   extract (the other context, which decoded in the slot before): the window for its next decode
//           is cut from {h1, h0, w0} at that sum (16 or more: w0 is used up and pops).
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
  logic [31:0] w0, h0, h1;
  logic [5:0]  valid;

  for (genvar c = 0; c < 2; c++) begin : g_state
    ws_tans_state_buffer #(
      .Slots(ML <= 8 ? 3 : 4)  // the view reads h1 only above 8 (ViewBits 32: {h0, w0})
    ) u_buffer (
      .clk_i,
      .rst_ni,
      .in_valid_i(in_valid_i[c]),
      .in_ready_o(in_ready_o[c]),
      .in_data_i (in_data_i[16*c +: 16]),
      .in_last_i (in_last_i[c]),
      .pop_i     (pop[c]),
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
  logic [EntryBits-1:0] entry;
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
    .Width   (EntryBits)
  ) u_ram (
    .clk_i,
    .we_i   (cfg_we_i),
    .waddr_i(cfg_addr_i),
    .wdata_i(cfg_data_i),
    .ce_i   (adv_i),
    .raddr_i({bank_i, addr}),
    .rdata_o(entry)
  );

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
  // Extract: the window of the other context at its position sum_q. The units it reads, {h1, h0,
  // w0} of that context, are copied into view_q the cycle before: they hold still then (the
  // context decodes, so pops nothing, and has at least three units in, so nothing moves into
  // them), and the copy takes the context multiplexer off the extraction path.
  // The positions an extraction can see: sum <= 15 + ML (cur <= 15, nb <= ML), so the window ends
  // below bit 2 * ((15 + ML) / 2) + ML + 1 of {h1, h0, w0}; the checks read all of h0 (bit 31) when
  // the position is 16 or more.
  localparam int WinBits  = 2 * ((15 + ML) / 2) + ML + 1;
  localparam int ViewBits = WinBits > 32 ? WinBits : 32;
  localparam int HalfBits = ML + 15;  // after the shift by 16: every start sum[3:0] <= 15
  logic                ext_ctx;  // the extracting context
  logic                live;     // ... whose state still decodes this chunk
  logic                fin;      // ... for the last time
  logic                shift;    // sum >= 16: w0 is used up
  logic [ViewBits-1:0] view_q;
  logic [HalfBits+15:0] view_ext;  // view_q, zeros above (positions no sum reaches)
  logic [HalfBits-1:0] half;     // view_q from bit 16 * sum[4] on: its low unit is the position's
  logic [ML+2:0]       coarse;   // view_q from bit 4 * sum[4:2] on

  assign ext_ctx = !phase_i;
  assign live    = |(pop_sel_i | fin_sel_i);
  assign fin     = |fin_sel_i;
  assign shift   = sum_q[4];
  always_ff @(posedge clk_i) begin
    // Next cycle's extractor: the context that decodes now, if this slot runs.
    if (phase_i ^ adv_i) view_q <= ViewBits'({h1[15:0], h0[15:0], w0[15:0]});
    else                 view_q <= ViewBits'({h1[31:16], h0[31:16], w0[31:16]});
  end
  // A logarithmic shifter, not a multiplexer per bit: a 2:1 by sum[4] (whose low 16 bits are the
  // unit the checks read), then shifts by 8 and 4 (sum[3:2]); the decode does the last 4:1.
  assign view_ext = (HalfBits+16)'(view_q);
  assign half     = shift ? view_ext[16 +: HalfBits] : view_ext[0 +: HalfBits];
  // Each stage only as wide as the bits the later ones can reach (a `>>` of the whole half maps to
  // more LUTs).
  logic [ML+6:0] by8;
  logic [ML+2:0] by4;
  assign by8    = sum_q[3] ? half[8 +: ML+7] : half[0 +: ML+7];
  assign by4    = sum_q[2] ? by8[4 +: ML+3] : by8[0 +: ML+3];
  assign coarse = by4;

  for (genvar c = 0; c < 2; c++) begin : g_ctl
    assign pop[c]   = adv_i && pop_sel_i[c] && shift;
    assign flush[c] = (adv_i && fin_sel_i[c]) || abort_i[c];
  end

  always_ff @(posedge clk_i) begin
    if (adv_i) begin
      addr_q <= addr;
      sum_q    <= beat_i ? 5'({1'b0, cur_q} + {1'b0, nb}) : 5'd16;
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
  `WS_ASSERT(no_abort_in_slot, !(|abort_i && adv_i), ("ws_tans_lane: abort during a slot"))
endmodule
`resetall
