`default_nettype none
// ws_bit_reader: turns a stream of words, framed into chunks by `last`, into a window of the next
// bits of the current chunk (LSB-first, docs/format.md section 1): bit i of the window is
// words_o[bit_o + i], so words_o[bit_o] is the next bit.
//
// Words land in a ring of BufferWords slots without being shifted; words_o is the ring rotated by
// the read pointer's word, and the bit offset bit_o is left to the consumer, which adds it to its
// field offsets in a register stage of its own: a full rotation by the bit pointer in one cycle
// (a 256 -> 96-bit shifter at Lanes 4) was the unpacker's critical path. The consumer takes
// consume_i bits in a cycle with consume_en_i and ends a chunk with done_i, which skips the rest of
// it: its zero padding, or, when the chunk's last word has not arrived yet, every word up to and
// including it (error drain).
// The words of the next chunk may already wait in the ring behind the current chunk's last word,
// so a new chunk can start on the cycle after done_i.
// The consumer's controls (consume_en_i, next_load_i, done_i) come in two versions, one for each
// value of go_i, the consumer's late decision (the unpacker's fire): every next state is formed for
// both from registers and the early controls, and go_i only picks one (its chain through the
// controls into the counts' multiplexers was the unpacker's critical path).
module ws_bit_reader #(
  parameter int WordBits    = 32,  // 32 or 64 (ws_pkg::raw_word_bits)
  parameter int WindowBits  = 48,  // <= BufferWords * WordBits
  parameter int MaxConsume  = 48,  // <= WindowBits
  // Power of two. ceil((WindowBits + WordBits - 1) / WordBits) slots keep a full window at any bit
  // offset; one more lets a word arrive every cycle although in_ready_o looks only at registers.
  parameter int BufferWords = 4
) (
  input  wire                                       clk_i,
  input  wire                                       rst_ni,
  // words of the chunks, `last` on the final word of each chunk
  input  wire                                       in_valid_i,
  output logic                                      in_ready_o,
  input  wire  [WordBits-1:0]                       in_data_i,
  input  wire                                       in_last_i,
  // the ring from the read pointer's word on, and the pointer's bit offset in it: the window
  // words_o >> bit_o holds the next WindowBits bits; bits at and above avail_o are undefined
  output logic [WindowBits+WordBits-2:0]            words_o,
  output logic [$clog2(WordBits)-1:0]               bit_o,
  // bits of the current chunk in the buffer: its exact remainder when ended_o is set
  output logic [$clog2(BufferWords*WordBits+1)-1:0] avail_o,
  // the chunk's last word is buffered
  output logic                                      ended_o,
  // zero bits on top of that word (at most WordBits-1)
  output logic [$clog2(WordBits)-1:0]               pad_o,
  // dropping words up to a `last`
  output logic                                      skip_o,
  // the consumer's late decision: bit g of consume_en_i, next_load_i and done_i is the control when
  // go_i is g
  input  wire                                       go_i,
  // bits to consume at the clock edge when consume_en_i is set, at most avail_o. The amount should
  // come early (from registers): the reader adds it before consume_en_i, which may come late, picks
  // the sum
  input  wire  [$clog2(MaxConsume+1)-1:0]           consume_i,
  input  wire  [1:0]                                consume_en_i,
  // consume_i from the next cycle on when next_load_i is set: next_consume_i comes early (from
  // registers), next_load_i may come late. consume_i changes only this way while the consumer
  // holds an amount (it is a register the consumer loads with next_consume_i), so the reader can
  // keep avail_o - consume_i in a register (slack_o) instead of subtracting after the fact
  input  wire  [$clog2(MaxConsume+1)-1:0]           next_consume_i,
  input  wire  [1:0]                                next_load_i,
  // avail_o - consume_i, two's complement: negative when the chunk's bits so far are too few
  output logic [$clog2(BufferWords*WordBits+1):0]   slack_o,
  // skip the rest of the chunk (consume_i is ignored)
  input  wire  [1:0]                                done_i
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_window, WindowBits >= 1 && MaxConsume >= 1 && MaxConsume <= WindowBits,
                  ("ws_bit_reader: need 1 <= MaxConsume (%0d) <= WindowBits (%0d)", MaxConsume, WindowBits))
  `WS_PARAM_CHECK(g_check_word, WordBits == 32 || WordBits == 64,
                  ("ws_bit_reader: WordBits (%0d) must be 32 or 64", WordBits))
  `WS_PARAM_CHECK(g_check_buffer, BufferWords == 2 ** $clog2(BufferWords)
                  && BufferWords >= (WindowBits + 2 * WordBits - 2) / WordBits + 1,
                  ("ws_bit_reader: BufferWords (%0d) must be a power of two >= %0d", BufferWords,
                   (WindowBits + 2 * WordBits - 2) / WordBits + 1))

  localparam int RingBits = BufferWords * WordBits;
  localparam int PtrW     = $clog2(RingBits);
  localparam int SlotW    = $clog2(BufferWords);
  localparam int OffW     = $clog2(WordBits);
  localparam int CntW     = $clog2(RingBits + 1);
  localparam int WinBits  = WindowBits + WordBits - 1;  // words_o: a window at any bit offset

  logic [RingBits-1:0] ring_q;       // slot s holds bits [s*WordBits, (s+1)*WordBits)
  logic [SlotW-1:0]    wr_q, wr_d;   // next slot to write
  logic [PtrW-1:0]     rp_q, rp_d;   // bit read pointer
  logic [CntW-1:0]     cur_bits_q, cur_bits_d;  // current chunk's bits from rp_q
  logic                cur_end_q, cur_end_d;
  logic [OffW-1:0]     cur_pad_q, cur_pad_d;
  logic [CntW-1:0]     nxt_bits_q, nxt_bits_d;  // next chunk's bits, behind the current's last word
  logic                nxt_end_q, nxt_end_d;
  logic [OffW-1:0]     nxt_pad_q, nxt_pad_d;
  logic                skip_q, skip_d;

  // Leading zero bits of a word, at most WordBits-1 (also for a zero word): how many bits of
  // padding it can end with. A balanced tree (a normalising search of halves, each stage waiting for
  // the one before, was the critical path).
  `include "ws_lead_zeros.svh"

  // in_ready_o is a register of its own, decided a cycle ahead from the slots the ring will hold
  // after this cycle: no carry chain runs from in_valid_i into it, and it never differs from the
  // ready the registers alone would give (skip, or a free slot and no second chunk end buffered).
  localparam int WordsW = SlotW + 1;
  logic [WordsW-1:0] words_q, words_d;  // occupied slots: from rp_q's word to the newest word
  logic              ready_q, ready_d;
  assign in_ready_o = ready_q;

  // Where a word taken this cycle goes. With done_i the next chunk becomes the current one; both
  // outcomes are formed first and done_i, which comes late, only picks one.
  logic take, store_keep, store_done;
  assign take       = in_valid_i && in_ready_o;
  assign store_keep = take && !skip_q;                 // no done_i
  assign store_done = take && !skip_q && cur_end_q;    // done_i: drop a word of an unfinished chunk

  logic [OffW-1:0] in_pad;
  if (WordBits == 64) begin : g_pad64
    // a 64-bit word: 32 plus the low half's count when the high half is zero (63 for a zero word)
    assign in_pad = in_data_i[63:32] == '0 ? {1'b1, lead_zeros32(in_data_i[31:0])}
                                          : {1'b0, lead_zeros32(in_data_i[63:32])};
  end else begin : g_pad32
    assign in_pad = lead_zeros32(in_data_i);
  end

  // The slack: avail_o - consume_i, kept in a register. Every outcome of the next cycle is one
  // or two adders from registers and next_consume_i; done_i, consume_en_i, next_load_i and the word
  // store, which come late, only pick one. After a consume the current chunk's bits are the slack.
  localparam int SlackW = CntW + 1;
  logic [SlackW-1:0] slack_q, slack_d;
  logic [SlackW-1:0] cur_s, nxt_s, cons_s, ncons_s, word_s;
  logic [SlackW-1:0] s_word, s_done, s_done_word;                          // consume_i stays
  logic [SlackW-1:0] l_keep, l_word, l_cons, l_cons_word, l_done, l_done_word;  // next_consume_i
  assign cur_s       = SlackW'(cur_bits_q);
  assign nxt_s       = SlackW'(nxt_bits_q);
  assign cons_s      = SlackW'(consume_i);
  assign ncons_s     = SlackW'(next_consume_i);
  assign word_s      = SlackW'(WordBits);
  // x + WordBits - y in one carry chain: a carry-save step (one LUT level) folds the word and the
  // negation's +1 into two operands first (two adders in series were the unpacker's critical path).
  function automatic logic [SlackW-1:0] plus_word_minus(input logic [SlackW-1:0] x, input logic [SlackW-1:0] y);
    logic [SlackW-1:0] b, k, cs_s, cs_c;
    b    = ~y;
    k    = SlackW'(WordBits + 1);
    cs_s = x ^ b ^ k;
    cs_c = (x & b) | (x & k) | (b & k);
    plus_word_minus = cs_s + (cs_c << 1);
  endfunction
  assign s_word      = slack_q + word_s;
  assign s_done      = nxt_s - cons_s;
  assign s_done_word = plus_word_minus(nxt_s, cons_s);
  assign l_keep      = cur_s - ncons_s;
  assign l_word      = plus_word_minus(cur_s, ncons_s);
  assign l_cons      = slack_q - ncons_s;
  assign l_cons_word = plus_word_minus(slack_q, ncons_s);
  assign l_done      = nxt_s - ncons_s;
  assign l_done_word = plus_word_minus(nxt_s, ncons_s);

  // end_q is rp_q's bit offset plus consume_i (where a consume leaves the pointer, counted from
  // rp_q's word), kept in a register like the slack: so the words a consume frees are its top bits,
  // not a carry chain from consume_i (that chain into the room tests and in_ready_o was the weight
  // pipeline's critical path). Its next value is one adder from registers and next_consume_i.
  logic [CntW-1:0]   end_q, end_d;
  logic [CntW-1:0]   e_keep, e_cons, e_cons_load;  // the candidates with an adder
  assign e_keep         = CntW'(rp_q[OffW-1:0]) + CntW'(next_consume_i);
  assign e_cons         = CntW'(end_q[OffW-1:0]) + CntW'(consume_i);
  assign e_cons_load    = CntW'(end_q[OffW-1:0]) + CntW'(next_consume_i);

  // Every outcome of a cycle without done_i is one adder from registers; consume_en_i and the
  // word store, which come late, only pick one.
  logic [PtrW-1:0] rp_cons;
  logic [CntW-1:0] bits_cons, bits_word, bits_cons_word;
  assign rp_cons        = {rp_q[PtrW-1:OffW] + SlotW'(end_q >> OffW), end_q[OffW-1:0]};
  assign bits_cons      = CntW'(slack_q);  // a consume takes at most avail_o bits: not negative
  assign bits_word      = cur_bits_q + CntW'(WordBits);
  assign bits_cons_word = CntW'(s_word);

  // Slots after this cycle. Every candidate and its room test come from registers and consume_i
  // (early); done_i, consume_en_i and the word store (late) only pick one. done_i jumps rp_q to the
  // next chunk's first word (rp_q + cur_bits_q ends on a word boundary), so the next chunk's words
  // are what stays; a consume frees the words rp_q leaves.
  logic [WordsW-1:0] freed, words_cons, words_nxt;
  logic              room_keep, room_keep_word, room_cons, room_cons_word, room_done, room_done_word;
  assign freed          = WordsW'(end_q >> OffW);
  assign words_cons     = words_q - freed;
  assign words_nxt      = WordsW'(nxt_bits_q >> OffW);
  assign room_keep      = words_q < WordsW'(BufferWords);
  assign room_keep_word = words_q < WordsW'(BufferWords - 1);
  assign room_cons      = words_cons < WordsW'(BufferWords);
  assign room_cons_word = words_cons < WordsW'(BufferWords - 1);
  assign room_done      = words_nxt < WordsW'(BufferWords);
  assign room_done_word = words_nxt < WordsW'(BufferWords - 1);

  // The next state for each value of go_i (g_next[g] with the controls' bit g), then go_i picks.
  localparam int NextW = SlotW + PtrW + 3 * CntW + 2 * OffW + 4 + SlackW + WordsW;
  logic [2*NextW-1:0] next_g;
  for (genvar g = 0; g < 2; g++) begin : g_next
    logic              done, cons_en, load, store;
    logic [SlotW-1:0]  wr_n;
    logic [PtrW-1:0]   rp_n;
    logic [CntW-1:0]   cur_bits_n, nxt_bits_n, end_n;
    logic              cur_end_n, nxt_end_n, skip_n, ready_n;
    logic [OffW-1:0]   cur_pad_n, nxt_pad_n;
    logic [SlackW-1:0] slack_n;
    logic [WordsW-1:0] words_n;
    logic              room;
    assign done    = done_i[g];
    assign cons_en = consume_en_i[g];
    assign load    = next_load_i[g];
    assign store   = done ? store_done : store_keep;

    always_comb begin
      if (done) begin
        // Jump over the rest of the current chunk's buffered words. (nxt_end_q blocks in_ready_o,
        // so a stored word belongs to the new current chunk.)
        rp_n       = rp_q + PtrW'(cur_bits_q);
        cur_bits_n = nxt_bits_q + (store_done ? CntW'(WordBits) : '0);
        cur_end_n  = nxt_end_q || (store_done && in_last_i);
        cur_pad_n  = nxt_end_q ? nxt_pad_q : in_pad;
        nxt_bits_n = '0;
        nxt_end_n  = 1'b0;
        skip_n     = (skip_q || !cur_end_q) && !(take && in_last_i);  // drop words up to its last one
      end else begin
        rp_n       = cons_en ? rp_cons : rp_q;
        unique case ({cons_en, store_keep && !cur_end_q})
          2'b00:   cur_bits_n = cur_bits_q;
          2'b01:   cur_bits_n = bits_word;
          2'b10:   cur_bits_n = bits_cons;
          default: cur_bits_n = bits_cons_word;
        endcase
        cur_end_n  = cur_end_q || (store_keep && in_last_i);
        cur_pad_n  = cur_end_q ? cur_pad_q : in_pad;
        nxt_bits_n = nxt_bits_q + ((store_keep && cur_end_q) ? CntW'(WordBits) : '0);
        nxt_end_n  = nxt_end_q || (store_keep && cur_end_q && in_last_i);
        skip_n     = skip_q && !(take && in_last_i);       // skipping ends with the dropped last word
      end
      nxt_pad_n = nxt_end_q ? nxt_pad_q : in_pad;
      // The slack against the amount of the next cycle; without next_load_i after a consume the
      // consumer holds no amount, and the slack is not used until it loads one.
      if (done) begin
        if (load) slack_n = store_done ? l_done_word : l_done;
        else      slack_n = store_done ? s_done_word : s_done;
      end else begin
        unique case ({cons_en, store_keep && !cur_end_q})
          2'b00:   slack_n = load ? l_keep : slack_q;
          2'b01:   slack_n = load ? l_word : s_word;
          2'b10:   slack_n = load ? l_cons : slack_q;
          default: slack_n = load ? l_cons_word : slack_q;
        endcase
      end
      // end_q against the amount and pointer of the next cycle: done_i leaves the pointer on a word
      // boundary, a consume at end_q's bit offset.
      if (done)         end_n = load ? CntW'(next_consume_i) : CntW'(consume_i);
      else if (cons_en) end_n = load ? e_cons_load : e_cons;
      else              end_n = load ? e_keep : end_q;
      wr_n = wr_q + SlotW'(store);
      if (done) begin
        words_n = words_nxt + WordsW'(store_done);
        room    = store_done ? room_done_word : room_done;
      end else if (cons_en) begin
        words_n = words_cons + WordsW'(store_keep);
        room    = store_keep ? room_cons_word : room_cons;
      end else begin
        words_n = words_q + WordsW'(store_keep);
        room    = store_keep ? room_keep_word : room_keep;
      end
      ready_n = skip_n || (room && !nxt_end_n);
    end

    assign next_g[g*NextW +: NextW] = {wr_n, rp_n, cur_bits_n, cur_end_n, cur_pad_n, nxt_bits_n,
                                       nxt_end_n, nxt_pad_n, skip_n, slack_n, end_n, words_n, ready_n};
  end

  assign {wr_d, rp_d, cur_bits_d, cur_end_d, cur_pad_d, nxt_bits_d, nxt_end_d, nxt_pad_d, skip_d,
          slack_d, end_d, words_d, ready_d} = next_g[go_i*NextW +: NextW];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_q       <= '0;
      rp_q       <= '0;
      cur_bits_q <= '0;
      cur_end_q  <= 1'b0;
      cur_pad_q  <= '0;
      nxt_bits_q <= '0;
      nxt_end_q  <= 1'b0;
      nxt_pad_q  <= '0;
      skip_q     <= 1'b0;
      words_q    <= '0;
      ready_q    <= 1'b1;
      slack_q    <= '0;
      end_q      <= '0;
    end else begin
      wr_q       <= wr_d;
      rp_q       <= rp_d;
      cur_bits_q <= cur_bits_d;
      cur_end_q  <= cur_end_d;
      cur_pad_q  <= cur_pad_d;
      nxt_bits_q <= nxt_bits_d;
      nxt_end_q  <= nxt_end_d;
      nxt_pad_q  <= nxt_pad_d;
      skip_q     <= skip_d;
      words_q    <= words_d;
      ready_q    <= ready_d;
      slack_q    <= slack_d;
      end_q      <= end_d;
    end
  end

  // The ring is data only: no reset. Every word taken is written into slot wr_q, which is free
  // (in_ready_o promises room); only wr_d decides whether it stays (done_i may drop it, skipping
  // drops it). So the slots' write enables wait for no late signal.
  always_ff @(posedge clk_i) begin
    for (int s = 0; s < BufferWords; s++) begin
      if (take && wr_q == SlotW'(s)) ring_q[s*WordBits +: WordBits] <= in_data_i;
    end
  end

  // The ring rotated right by the read pointer's word, as a logarithmic shifter by whole words
  // (largest step first, each later stage keeping only the bits still needed): SlotW levels of 2:1
  // multiplexers, their selects the pointer's top bits.
  function automatic logic [WinBits-1:0] rotate_words(input logic [RingBits-1:0] r,
                                                      input logic [SlotW-1:0] w);
    logic [2*RingBits-1:0] x;
    x = {r, r};
    for (int b = SlotW - 1; b >= 0; b--) begin
      if (w[b]) x = x >> (WordBits << b);
    end
    rotate_words = x[WinBits-1:0];
  endfunction

  assign words_o  = rotate_words(ring_q, rp_q[PtrW-1:OffW]);
  assign bit_o    = rp_q[OffW-1:0];
  assign avail_o  = cur_bits_q;
  assign ended_o  = cur_end_q;
  assign pad_o    = cur_pad_q;
  assign skip_o   = skip_q;
  assign slack_o  = slack_q;

  // The input stream obeys the AXI-Stream rule, and the consumer never takes more than it has.
  `WS_ASSERT_STREAM(in_stable, in_valid_i, in_ready_o, {in_last_i, in_data_i})
  // words_q and ready_q are what the other registers say (the ready the reader had before issue 12).
  `WS_ASSERT(words_exact, CntW'(rp_q[OffW-1:0]) + cur_bits_q + nxt_bits_q == CntW'(words_q) * CntW'(WordBits),
             ("ws_bit_reader: %0d slots counted, %0d bits held", words_q,
              CntW'(rp_q[OffW-1:0]) + cur_bits_q + nxt_bits_q))
  `WS_ASSERT(ready_exact, ready_q == (skip_q || (words_q != WordsW'(BufferWords) && !nxt_end_q)),
             ("ws_bit_reader: registered ready %0d differs from the registers' room", ready_q))
  // A consume happens while the consumer holds its amount: the slack is then exact.
  `WS_ASSERT(slack_exact, !consume_en_i[go_i] || done_i[go_i] || slack_q == cur_s - cons_s,
             ("ws_bit_reader: slack %0d, but %0d bits available and %0d to consume", $signed(slack_q),
              cur_bits_q, consume_i))
  `WS_ASSERT(end_exact, !consume_en_i[go_i] || done_i[go_i]
                       || end_q == CntW'(rp_q[OffW-1:0]) + CntW'(consume_i),
             ("ws_bit_reader: end %0d, but bit offset %0d and %0d to consume", end_q, rp_q[OffW-1:0],
              consume_i))
  `WS_ASSERT(consume_in_range, !consume_en_i[go_i] || done_i[go_i] || CntW'(consume_i) <= cur_bits_q,
             ("ws_bit_reader: consumed %0d bits with %0d available", consume_i, cur_bits_q))
endmodule
`resetall
