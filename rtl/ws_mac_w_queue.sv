`default_nettype none
// ws_mac_w_queue: the MAC arrays' two-entry weight queue (docs/mac_array.md section 3), between the
// weight port and the control. Everything the control's handshake reads is a flip-flop (valid and
// the head's flags), w_ready is a register (the queue is not full), and nothing the handshake
// decides reaches the beat's width: the beat's entries are written from a free-running input
// register by enables registered from the port's push alone, and read through a 2:1 selected by a
// copy of the read pointer one cycle late, so the entries double as the beat's stage S1. A transfer
// to the control moves only the pointers, the count and the head's flags. Full throughput; a beat
// reaches the control one cycle after its port transfer at the earliest.
module ws_mac_w_queue #(
  parameter int Width = 64,  // the beat (the control never reads it)
  parameter int Flags = 2    // what the control reads: kept for the head in a register of its own
) (
  input  wire              clk_i,
  input  wire              rst_ni,
  input  wire              in_valid_i,
  output logic             in_ready_o,
  input  wire  [Width-1:0] in_data_i,
  input  wire  [Flags-1:0] in_flags_i,
  output logic             out_valid_o,
  input  wire              out_ready_i,
  output logic [Flags-1:0] out_flags_o,  // the head's flags, a register
  output logic [Width-1:0] s1_data_o     // the beat that was the head in the cycle before (S1)
);
  `include "ws_assert.svh"
  logic [Flags-1:0] flags_q [2];
  logic [Flags-1:0] head_q;
  logic [1:0]       we_q;               // per entry: the port writes its flags (wp, when not full)
  logic             wp_q, rp_q, valid_q, ready_q, full_q;
  logic             push, pop, full_d, valid_d, wp_d;

  assign push    = in_valid_i && ready_q;
  assign pop     = valid_q && out_ready_i;
  assign wp_d    = wp_q ^ push;
  // Two entries: full after a push without a pop onto one entry, or while full without a pop.
  assign full_d  = full_q ? !pop : (push && !pop && valid_q);
  assign valid_d = full_q || push || (valid_q && !pop);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      we_q    <= 2'b01;
      wp_q    <= 1'b0;
      rp_q    <= 1'b0;
      valid_q <= 1'b0;
      ready_q <= 1'b1;
      full_q  <= 1'b0;
    end else begin
      we_q    <= full_d ? 2'b00 : {wp_d, !wp_d};
      wp_q    <= wp_d;
      rp_q    <= rp_q ^ pop;
      valid_q <= valid_d;
      ready_q <= !full_d;
      full_q  <= full_d;
    end
  end

  // The flags: an entry the port does not fill this cycle holds garbage only while the pointers
  // call it free.
  always_ff @(posedge clk_i) begin
    for (int e = 0; e < 2; e++) begin
      if (we_q[e]) flags_q[e] <= in_flags_i;
    end
    // The head's flags: the entry behind it after a pop from a full queue, else the port's when the
    // head is free (empty, or taken this cycle).
    if (pop || !valid_q) head_q <= full_q ? flags_q[!rp_q] : in_flags_i;
  end

  // The beat: a push at t writes in_q into entry wp at the end of t + 1 (enables from the push, no
  // pop); the control takes it at t + 1 at the earliest and its S1 reads the entry at t + 2. An
  // entry taken at t' is rewritten at the end of t' + 2 at the earliest, after S1 read it at t' + 1.
  logic [Width-1:0] data_q [2];
  logic [Width-1:0] in_q;   // the port's beat, one cycle later (free-running)
  logic [1:0]       dwe_q;  // per entry: in_q goes into it (pushed in the cycle before)
  logic             rp_dq;  // rp_q one cycle late: the entry that was the head
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) dwe_q <= 2'b00;
    else         dwe_q <= {push && wp_q, push && !wp_q};
  end
  always_ff @(posedge clk_i) begin
    in_q  <= in_data_i;
    rp_dq <= rp_q;
    for (int e = 0; e < 2; e++) begin
      if (dwe_q[e]) data_q[e] <= in_q;
    end
  end

  assign in_ready_o  = ready_q;
  assign out_valid_o = valid_q;
  assign out_flags_o = head_q;
  assign s1_data_o   = data_q[rp_dq];

  `WS_ASSERT(head_copy, !valid_q || head_q == flags_q[rp_q],
             ("ws_mac_w_queue: the head's flags are not entry[rp]'s"))
  `WS_ASSERT(pointers, we_q == (full_q ? 2'b00 : {wp_q, !wp_q})
                       && (wp_q ^ rp_q) == (valid_q && !full_q) && ready_q == !full_q,
             ("ws_mac_w_queue: the pointers, the write enables and the count disagree"))
endmodule
`resetall
