`default_nettype none
// ws_tans_state_buffer: the input of one tANS state (docs/tans_decoder.md, section 3). Slots 16-bit
// unit slots, w0 (the unit the state reads from), h0, h1 and (Slots = 4) h2: units enter at the
// last slot and move down whenever the slot below is free, so every slot register has one source and
// a clock enable, no multiplexer. The decoder reads {h1, h0, w0} and pops w0 (w0 <- h0 ...) once its
// bit position passes 16. It needs the units its next window reaches after a pop, plus the one that
// ok_o looks ahead by: 4 slots, or 3 where the window never reaches h1 (MaxTableLog <= 8). Before
// that pop, from the decode whose position passes 16, w0 already holds a copy of h0 (w0_en_i: w0's
// data loads only on it, the pop moves the flags and the other slots), so the
// decoder's extraction reads the unit its position is in from w0 alone.
//
// A chunk's units end at the one with `last`; after it the port takes nothing until flush_i, so
// the next chunk's units never mix in. flush_i ends the state's chunk: the slots empty, w0 becomes
// a dummy unit (the first pop of the next chunk drops it, which puts the initial state unit in w0),
// and if the last unit has not come yet the buffer drains the port up to it.
module ws_tans_state_buffer #(
  parameter int Slots = 4  // 3 or 4: unit slots, w0 .. the entry slot
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  input  wire         in_valid_i,
  output logic        in_ready_o,
  input  wire  [15:0] in_data_i,
  input  wire         in_last_i,
  input  wire         pop_i,     // w0 is used up
  input  wire         w0_en_i,   // w0 loads h0 (a copy before the pop; whenever it is empty)
  input  wire         flush_i,   // the state's chunk is over
  output logic [15:0] w0_o,
  output logic [15:0] h0_o,
  output logic [15:0] h1_o,
  output logic [2:0]  valid_o,   // w0, h0, h1 hold units (w0 may be the dummy)
  output logic        ended_o,   // the chunk's last unit came in: what is left of it is in the slots
  output logic        ok_o       // registered: all slots full (or the last one filling), or the last unit in, a cycle ago
);
  `include "ws_assert.svh"

  localparam int E = Slots - 1;  // the entry slot
  logic [15:0]      data_q [Slots];
  logic [Slots-1:0] valid_q;  // slot 0 = w0 .. slot E
  logic        ended_q;  // the chunk's last unit came in (it may have been popped since)
  logic        drain_q;
  logic        ok_q;

  // Moves, bottom up: a slot is free when empty or its unit moves down (w0: popped).
  // move[k]: slot k loads slot k+1 (k < E) or the port (k = E). A pop shifts every slot down at once;
  // otherwise a unit moves into an empty slot below it, one slot a cycle. No move waits for another,
  // so the pop (from the decoder's registered slot) is one logic level from the clock enables.
  // The port does not count on a pop either: slot E takes a unit when it is empty or its unit can
  // sink into an empty slot below, so in_ready and its enable come from registers and in_valid alone.
  // (After a pop of a full buffer slot E refills a cycle later; ok_o looks ahead by that unit, so a state that
  // pops every other cycle never waits for it.)
  // The slots need not be contiguous while units arrive; once the last unit is in, they settle in
  // Slots - 1 cycles, before the decoder can see ok_o and run the state's next extraction.
  logic [Slots-1:0] move;
  logic             free, ended, take;
  assign ended = ended_q;
  for (genvar k = 0; k < E; k++) begin : g_move
    assign move[k] = pop_i || (!valid_q[k] && valid_q[k + 1]);
  end
  // w0's data has its own enable from the decoder: it copies h0 before the pop (so a pop, which
  // moves the other slots and the flags, finds h0 in w0 already) and whenever w0 is empty (so a sink
  // finds it there too).
  assign free = !valid_q[E] || !valid_q[E - 1];
  assign in_ready_o = drain_q || (free && !ended);
  assign take    = in_valid_i && in_ready_o;
  assign move[E] = take && !drain_q;

  always_ff @(posedge clk_i) begin
    if (w0_en_i) data_q[0] <= data_q[1];
    for (int k = 1; k < E; k++) if (move[k]) data_q[k] <= data_q[k + 1];
    if (move[E]) data_q[E] <= in_data_i;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      valid_q <= Slots'(1);  // w0: the dummy the first chunk's first pop drops
      ended_q <= 1'b0;
      drain_q <= 1'b0;
      ok_q    <= 1'b0;
    end else begin
      if (flush_i) begin
        valid_q <= Slots'(1);
        ended_q <= 1'b0;
        drain_q <= !ended && !(take && in_last_i);
      end else begin
        // A slot is full after the edge if it takes a unit, or keeps the one it has (the moves
        // written out: a pop shifts every slot down, else a unit sinks into an empty slot below).
        valid_q[0] <= pop_i ? valid_q[1] : valid_q[0] || valid_q[1];
        for (int k = 1; k < E; k++) begin
          valid_q[k] <= pop_i ? valid_q[k + 1]
                              : (valid_q[k] && valid_q[k - 1]) || (!valid_q[k] && valid_q[k + 1]);
        end
        valid_q[E] <= move[E] || (valid_q[E] && valid_q[E - 1] && !pop_i);
        ended_q    <= ended_q || (move[E] && in_last_i);
        drain_q    <= drain_q && !(take && in_last_i);
      end
      // w0, h0, h1 full and h2 full or filling now (the unit a pop of a full buffer left room for)
      ok_q <= ended || (&valid_q[E-1:0] && (valid_q[E] || move[E]));
    end
  end

  assign w0_o    = data_q[0];
  assign h0_o    = data_q[1];
  assign h1_o    = data_q[2];
  assign valid_o = valid_q[2:0];
  assign ended_o = ended;
  assign ok_o    = ok_q;

  `WS_ASSERT_STREAM(in_stable, in_valid_i, in_ready_o, {in_last_i, in_data_i})
  `WS_ASSERT(w0_sinks, valid_q[0] || w0_en_i, ("ws_tans_state_buffer: an empty w0 without its enable"))
  // A pop leaves the units the next window reads: w0 and h0, and h1 with 4 slots (ws_tans_lane).
  `WS_ASSERT(pop_full, !pop_i || flush_i || &valid_q[E-1:0] || ended,
             ("ws_tans_state_buffer: pop without %0d units or the last one", E))
endmodule
`resetall
