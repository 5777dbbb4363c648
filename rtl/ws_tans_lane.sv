`default_nettype none
// ws_tans_lane: one lane of ws_tans_decoder (docs/tans_decoder.md, section 3). It owns two tANS
// states, context 0 (state j) and context 1 (state Lanes + j), each with its own input port and
// ws_tans_state_buffer, and one copy of the decode table. The table loop runs through the RAM's
// output register and takes two cycles; the two contexts alternate on it. In a slot (a cycle with
// adv_i) the context `phase_i` decodes and the other one extracts:
//   decode  (context phase_i): entry = the RAM output; next state = base | (window & mask) goes to
//           the RAM address, symbol out, and the bit position cur + nb is registered (16 or more:
//           w0 is used up and pops now, and the position drops by 16);
//   extract (the other context, which decoded in the slot before): the window for its next decode
//           is cut from {h0, w0} at that position.
// So the path from the RAM output register to its address is one LUT level (the window's 4:1 from
// registers runs beside the RAM's clock-to-out); the adder's sum goes into a register and its carry
// into the decoding state's buffer enables. Popping at the decode (issue 12's ninth step) lets the
// extraction after it start inside {h0, w0}: no 2:1 on the position's bit 4 and no view copy.
// Errors of a state are checked at its extractions, in a pipeline of registered stages, and
// reported three cycles later.
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
  input  wire                    beat_i,     // decode: a symbol step (neither: the position := 0)
  input  wire                    dec_live_i, // the decoding context's state is live (not done)
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
  // Bit {cur, n} (cur 0 .. 15, n 0 .. 7): cur + n >= 16, the position passes w0.
  function automatic logic [127:0] pass_table();
    for (int i = 0; i < 128; i++) pass_table[i] = (i >> 3) + (i & 7) >= 16;
  endfunction
  localparam int EntryBits = 2 * ML + 12;  // {nb[3:0], mask[ML-1:0], base[ML-1:0], symbol[7:0]}
  localparam int BaseAt    = 8;
  localparam int MaskAt    = 8 + ML;
  localparam int NbAt      = 8 + 2 * ML;

  // ---------------------------------------------------------------------------------------------
  // The two states' input buffers
  // Per context c: units at [16c +: 16], valid flags at [2c +: 2]. (Packed: Yosys re-elaborates a
  // module whose array elements meet ports, which breaks hierarchy -chparam.)
  logic [1:0]  pop, flush, ended;
  logic [31:0] w0, h0;
  logic [3:0]  valid;

  for (genvar c = 0; c < 2; c++) begin : g_state
    ws_tans_state_buffer #(
      .Slots(ML <= 8 ? 3 : 4)  // as before the ninth step (the extraction reads only {h0, w0} now)
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
      .valid_o   (valid[2*c +: 2]),
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
  logic [4:0]           step;      // cur_q + nb: the position after this decode, from w0 on
  logic [3:0]           sum_q;   // the extracting context's position in w0 (popped if step passed 16)
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
  // Extract: the window of the other context at its position sum_q in its w0. Its decode in the slot
  // before popped w0 when the position passed 16, so the window starts inside w0 and ends below bit
  // 15 + ML <= 27 of {h0, w0}, read from its buffer directly: they hold still this cycle (the
  // context pops only when it decodes, and has the units the window reads, so nothing moves into
  // them). w0 is also the unit the checks read.
  localparam int HalfBits = ML + 15;  // every start sum_q <= 15
  logic                ext_ctx;  // the extracting context
  logic                live;     // ... whose state still decodes this chunk
  logic                fin;      // ... for the last time
  logic                carry;    // this decode's position passes 16: w0 is used up
  logic [HalfBits-1:0] half;     // {h0, w0} of the extracting context: the bits a window can reach
  logic [31-HalfBits:0] unused_half;  // ... and the rest (no window reaches them)
  logic [ML+2:0]       coarse;   // from bit 4 * sum[3:2] on

  assign ext_ctx = !phase_i;
  assign live    = |(pop_sel_i | fin_sel_i);
  assign fin     = |fin_sel_i;
  assign step    = 5'({1'b0, cur_q} + {1'b0, nb});
  // The initial-state unit is used up by its pseudo decode; a symbol's decode when it passes 16.
  // That test comes from the RAM output into the buffers' enables, so it is a table lookup on
  // {cur, nb[2:0]} (a LUT6 of registers and RAM pins), not the adder's carry chain: nb <= ML, so at
  // ML <= 8 nb[3] means nb = 8 and cur >= 8 decides.
  localparam logic [127:0] PassTab = pass_table();
  logic passes;
  assign passes  = ML <= 8 ? PassTab[{cur_q, nb[2:0]}] || (nb[3] && cur_q[3]) : step[4];
  assign carry   = pseudo_i || (beat_i && passes);
  assign {unused_half, half} = ext_ctx ? {h0[31:16], w0[31:16]} : {h0[15:0], w0[15:0]};
  // A logarithmic shifter, not a multiplexer per bit: shifts by 8 and 4 (sum[3:2]); the decode does
  // the last 4:1. Each stage only as wide as the bits the later ones can reach (a `>>` of the whole
  // half maps to more LUTs).
  logic [ML+6:0] by8;
  logic [ML+2:0] by4;
  assign by8    = sum_q[3] ? half[8 +: ML+7] : half[0 +: ML+7];
  assign by4    = sum_q[2] ? by8[4 +: ML+3] : by8[0 +: ML+3];
  assign coarse = by4;

  for (genvar c = 0; c < 2; c++) begin : g_ctl
    // The decoding context (phase_i) pops; only a live state's buffer (a done one may hold the next
    // chunk's units).
    assign pop[c]   = adv_i && (phase_i == c[0]) && dec_live_i && carry;
    assign flush[c] = (adv_i && fin_sel_i[c]) || abort_i[c];
  end

  always_ff @(posedge clk_i) begin
    if (adv_i) begin
      addr_q <= addr;
      sum_q    <= beat_i ? step[3:0] : 4'd0;
      coarse_q <= coarse;
      fine_q   <= sum_q[1:0];
      cur_q    <= sum_q;
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
  logic [1:0]  chk_valid_q;
  logic [3:0]  chk_sum_q;
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
    chk_valid_q   <= ext_ctx ? valid[3:2] : valid[1:0];
    chk_nz_addr_q <= addr_q != '0;
    chk_sum_q     <= sum_q;
    chk_unit_q    <= half[15:0];  // w0: the unit the position is in (the initial state's, at init)
    chk_from_q    <= init_i ? table_log_i : sum_q;
  end

  // Stage 2: everything but the padding bits, and the padding per nibble.
  logic       p_zero;
  logic       st2_q, st2_early_q, st2_left_q, st2_final_q, st2_init_q, st2_pad_q;
  logic [3:0] nib_q;  // per nibble: a 1 at bit `from` or above in it
  assign p_zero   = chk_sum_q == 4'd0;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) st2_q <= 1'b0;
    else         st2_q <= chk_q;
  end
  always_ff @(posedge clk_i) begin
    // Units in the buffer from w0 on: valid[0] w0, [1] h0 (the slots fill from w0 up). The position
    // is in w0: at 0 nothing of it is read (a whole unit if it is there), else w0 must be there.
    st2_early_q <= chk_ended_q && !p_zero && !chk_valid_q[0];
    st2_left_q  <= chk_fin_q && (!chk_ended_q || (p_zero ? chk_valid_q[0] : chk_valid_q[1]));
    st2_final_q <= chk_fin_q && chk_nz_addr_q;
    st2_init_q  <= chk_init_q;
    st2_pad_q   <= chk_fin_q && !p_zero;  // the position is inside a unit: padding above it
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
