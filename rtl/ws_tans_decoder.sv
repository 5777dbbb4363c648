`default_nettype none
// ws_tans_decoder: streaming tANS decoder of layout-2 chunks (docs/format.md sections 2.5 and 4),
// Lanes symbols per cycle. See docs/tans_decoder.md.
//
// A chunk has S = 2 * Lanes interleaved states, symbol i to state i mod S, each state with its own
// stream on its own port. Lane j (ws_tans_lane) holds states j and Lanes + j and a copy of the
// decode table; its table loop goes through the RAM's output register in two cycles, the two
// states taking turns, so a cycle decodes states 0 .. Lanes-1 or Lanes .. 2*Lanes-1: Lanes
// consecutive symbols, one output beat. The tables are double-buffered: two banks, configuration
// writes into one while chunks decode from the other.
//
// Control is registered ahead of use: `adv_q` (a slot runs this cycle: every lane, the RAMs and
// the output move together, or all hold) is decided a cycle early from registered per-context
// "input ready" flags and the output's room, so no input port, comparison or adder sits on the
// path from the table RAM back to its address.
module ws_tans_decoder #(
  parameter int Lanes       = 4,   // 1, 2, 4 or 8
  parameter int MaxTableLog = 11,  // 5 .. 12: each bank holds 2**MaxTableLog entries
  parameter int CountBits   = 32   // width of a chunk's symbol count
) (
  input  wire                               clk_i,
  input  wire                               rst_ni,
  // Configuration: entry cfg_addr_i of bank cfg_bank_i := cfg_data_i (ws_pkg::tans_entry_t).
  // Not ready while a chunk that decodes from that bank runs.
  input  wire                               cfg_valid_i,
  output logic                              cfg_ready_o,
  input  wire                               cfg_bank_i,
  input  wire  [MaxTableLog-1:0]            cfg_addr_i,
  input  wire  [23:0]                       cfg_data_i,
  // Chunk descriptors: {count[CountBits-1:0], ws_pkg::tans_desc_head_t}, LSB first
  input  wire                               desc_valid_i,
  output logic                              desc_ready_o,
  input  wire  [ws_pkg::TANS_DESC_HEAD_BITS+CountBits-1:0] desc_data_i,
  // State s's stream, 16-bit units at bits [16s +: 16]: its initial state, then its stream,
  // `last` on the final unit (docs/tans_decoder.md section 1)
  input  wire  [2*Lanes-1:0]                in_valid_i,
  output logic [2*Lanes-1:0]                in_ready_o,
  input  wire  [32*Lanes-1:0]               in_data_i,
  input  wire  [2*Lanes-1:0]                in_last_i,
  // Decoded symbols, lane 0 in the low byte; out_count_o of them are valid
  output logic                              out_valid_o,
  input  wire                               out_ready_i,
  output logic [8*Lanes-1:0]                out_data_o,
  output logic [$clog2(Lanes+1)-1:0]        out_count_o,
  output logic                              out_last_o,
  // Sticky error: the first cause since reset or the last err_clear_i pulse
  input  wire                               err_clear_i,
  output logic                              err_o,
  output logic [2:0]                        err_cause_o  // ws_pkg::tans_err_e
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_lanes, Lanes == 1 || Lanes == 2 || Lanes == 4 || Lanes == 8,
                  ("ws_tans_decoder: Lanes = %0d, must be 1, 2, 4 or 8", Lanes))
  `WS_PARAM_CHECK(g_check_table_log, MaxTableLog >= ws_pkg::TANS_MIN_TABLE_LOG
                  && MaxTableLog <= ws_pkg::TANS_MAX_TABLE_LOG,
                  ("ws_tans_decoder: MaxTableLog = %0d, must be 5 .. 12", MaxTableLog))
  `WS_PARAM_CHECK(g_check_count, CountBits >= 4 && CountBits <= 32,
                  ("ws_tans_decoder: CountBits = %0d, must be 4 .. 32", CountBits))

  localparam int K         = Lanes;
  localparam int ML        = MaxTableLog;
  localparam int EntryBits = 2 * ML + 12;
  localparam int CW        = $clog2(K + 1);
  localparam int HeadBits  = ws_pkg::TANS_DESC_HEAD_BITS;
  localparam int LoBits    = $clog2(8 * K);  // the symbol counter below 8 Lanes
  localparam int CB        = CountBits > LoBits ? CountBits : LoBits + 1;

  // ---------------------------------------------------------------------------------------------
  // Configuration: each written entry becomes the RAM word {nb, mask = 2^nb - 1, base, symbol}, one
  // register stage before the RAMs. Entries the datapath cannot take are stored with nb = 0 and
  // raise TANS_ERR_BAD_ENTRY: nb above MaxTableLog, next_base >= 2^MaxTableLog, or next_base not a
  // multiple of 2^nb (no table the format allows has one).
  // The chunk's state (plain codes: Yosys cannot re-derive a module with a typedef of its own).
  localparam logic [2:0] ST_IDLE  = 3'd0;  // no chunk: descriptors are taken
  localparam logic [2:0] ST_WAIT  = 3'd1;  // a chunk is taken; its states' ready flags catch up
  localparam logic [2:0] ST_RUN   = 3'd2;  // slots run
  localparam logic [2:0] ST_ABORT = 3'd3;  // the chunk failed: flush its states, end it with an empty beat
  localparam logic [2:0] ST_END   = 3'd4;  // the last slot has run: wait for its checks, report

  logic [2:0]           st_q;
  logic                 bank_q;     // the running chunk's bank
  logic [1:0]           loaded_q;   // a bank has been written since reset
  ws_pkg::tans_entry_t  cfg;
  logic                 cfg_take, cfg_bad, cfg_we_q, cfg_bad_q;
  logic [ML:0]          cfg_addr_q;
  logic [EntryBits-1:0] cfg_word_q;
  logic [ML-1:0]        cfg_mask;

  assign cfg_ready_o = st_q == ST_IDLE || bank_q != cfg_bank_i;
  assign cfg_take    = cfg_valid_i && cfg_ready_o;
  assign cfg         = cfg_data_i;
  assign cfg_bad     = cfg.nb_bits > 4'(ML) || (cfg.next_base >> ML) != '0
                    || (cfg.next_base & ~(12'hfff << cfg.nb_bits)) != '0;
  assign cfg_mask    = cfg_bad ? '0 : ~({ML{1'b1}} << cfg.nb_bits);

  always_ff @(posedge clk_i) begin
    cfg_addr_q <= {cfg_bank_i, cfg_addr_i};
    cfg_word_q <= {cfg_bad ? 4'd0 : cfg.nb_bits, cfg_mask, cfg.next_base[ML-1:0], cfg.symbol};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cfg_we_q  <= 1'b0;
      cfg_bad_q <= 1'b0;
      loaded_q  <= '0;
    end else begin
      cfg_we_q  <= cfg_take;
      cfg_bad_q <= cfg_take && cfg_bad;
      if (cfg_take) loaded_q[cfg_bank_i] <= 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Descriptors: taken while no chunk runs, unless a write into the chunk's bank is waiting (so
  // writes presented before a descriptor go first). A chunk of 0 symbols is taken and does nothing.
  ws_pkg::tans_desc_head_t d_head;
  logic [3:0]           d_log;
  logic                 d_bank, desc_take, d_start, d_bad_log;
  logic [CountBits-1:0] d_count;
  ws_pkg::tans_err_e    d_err;

  assign d_head       = desc_data_i[HeadBits-1:0];
  assign d_log        = d_head.table_log;
  assign d_bank       = d_head.bank;
  assign d_count      = desc_data_i[HeadBits +: CountBits];
  assign desc_ready_o = st_q == ST_IDLE && !(cfg_valid_i && cfg_bank_i == d_bank);
  assign desc_take    = desc_valid_i && desc_ready_o;
  assign d_start      = desc_take && d_count != '0;
  assign d_bad_log    = d_log < 4'(ws_pkg::TANS_MIN_TABLE_LOG) || d_log > 4'(ML);
  assign d_err        = !loaded_q[d_bank] ? ws_pkg::TANS_ERR_NO_TABLE
                      : d_bad_log         ? ws_pkg::TANS_ERR_BAD_DESC
                                          : ws_pkg::TANS_ERR_NONE;

  // ---------------------------------------------------------------------------------------------
  // The slots of a chunk: PRIME (context 0 reads its initial-state unit), PSA and PSB (each context
  // addresses the table with its initial state), BEATs (a context decodes Lanes symbols; the other
  // extracts), TAIL (the last beat's context extracts for the last time). PRIME needs the slot
  // before it to have run with phase 0 and no decode (so every lane's position reads 16); idle
  // slots get there.
  localparam logic [2:0] SL_PRIME = 3'd0;
  localparam logic [2:0] SL_PSA   = 3'd1;
  localparam logic [2:0] SL_PSB   = 3'd2;
  localparam logic [2:0] SL_BEAT  = 3'd3;
  localparam logic [2:0] SL_TAIL  = 3'd4;
  localparam logic [2:0] SL_DONE  = 3'd5;

  logic [2:0]           nxt_q;          // the next slot of the running chunk
  logic                 adv_q, adv_d;   // a slot runs this cycle
  logic                 phase_q;        // its decoding context
  logic                 primed_q;       // the last slot decoded nothing (positions are 16)
  logic                 s_pseudo_q, s_beat_q, s_ext_q, s_init_q, s_last_q;
  logic [CW-1:0]        s_count_q;      // symbols of this slot's beat
  logic [K-1:0]         s_fin_q;        // lanes whose extraction this slot is their state's last
  logic [K-1:0]         dec_fin_q;      // ... of the extraction after this slot's decode
  logic [CB-1:0]        rem_q;          // symbols from the next beat to issue on
  logic                 rem_small_q;    // rem_q < 8 Lanes, a cycle ago (it only shrinks)
  logic [3:0]           log_q;
  logic [1:0]           wait_q;
  logic                 last_out_q;     // the chunk's `last` beat has gone into the output
  logic [1:0]           ready_all_q;    // per context: every lane's state can extract (registered)
  logic [1:0]           ready_all_d;
  logic [2*K-1:0]       lane_ready;     // lane j's two contexts at [2j +: 2]

  always_comb begin
    ready_all_d = 2'b11;
    for (int j = 0; j < K; j++) ready_all_d = ready_all_d & lane_ready[2*j +: 2];
  end

  // What the next slot would do, from the symbol counter: its beat's count and `last`, and for
  // its decode, which lanes' states decode for the last time (their next symbol, Lanes or 2 Lanes
  // symbols on, would be past the chunk's end).
  logic [LoBits-1:0] rem_lo;
  logic              is_last_beat;
  logic [CW-1:0]     beat_count;
  logic [K-1:0]      fin_beat, fin_psa, fin_psb;
  assign rem_lo       = rem_q[LoBits-1:0];
  assign is_last_beat = rem_small_q && rem_lo <= LoBits'(K);
  assign beat_count   = (rem_small_q && rem_lo < LoBits'(K)) ? CW'(rem_lo) : CW'(K);
  always_comb begin
    for (int j = 0; j < K; j++) begin
      fin_beat[j] = rem_small_q && rem_lo <= LoBits'(2 * K + j);
      fin_psa[j]  = rem_small_q && rem_lo <= LoBits'(j);
      fin_psb[j]  = rem_small_q && rem_lo <= LoBits'(K + j);
    end
  end

  // Output room: at most one beat waiting after this edge, whatever out_ready_i does next cycle.
  logic       push, push_beat, push_empty, take_out, room_next, room_now;
  logic [1:0] out_n_q;  // beats in the output register and its skid register
  assign take_out  = out_valid_o && out_ready_i;
  assign push_beat = adv_q && s_beat_q;
  assign room_next = (out_n_q + 2'(push_beat) - 2'(take_out)) <= 2'd1;
  assign room_now  = out_n_q <= 2'd1 || take_out;  // a beat pushed now fits

  logic phase_next, ext_ready, want_prime, can_prime, issue_idle;
  logic any_early_q, any_final_q, any_left_q, any_init_q;  // this cycle's lane check results
  assign phase_next = phase_q ^ adv_q;
  assign ext_ready  = phase_next ? ready_all_q[0] : ready_all_q[1];  // the next extractor: !phase
  assign want_prime = st_q == ST_RUN && nxt_q == SL_PRIME;
  assign can_prime  = phase_next && primed_q;
  assign issue_idle = want_prime && !can_prime;
  always_comb begin
    adv_d = 1'b0;
    if (st_q == ST_RUN && !any_early_q && !any_init_q) begin
      unique case (nxt_q)
        SL_PRIME: adv_d = !can_prime || ext_ready;
        SL_BEAT:  adv_d = ext_ready && room_next;
        SL_DONE:  adv_d = 1'b0;
        default:  adv_d = ext_ready;
      endcase
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Sequencer
  logic issue;  // the next slot is issued at this edge (it runs next cycle)
  logic [1:0] end_wait_q;
  logic any_early, any_final, any_left, any_init;
  logic err_early_q, err_final_q, err_left_q, err_init_q;  // the running chunk's findings
  ws_pkg::tans_err_e chunk_ev, desc_ev_q;
  logic abort_go;
  assign issue    = adv_d && !issue_idle;
  assign abort_go = st_q == ST_ABORT && !adv_q && (last_out_q || room_now);
  assign push_empty = abort_go && !last_out_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_q        <= ST_IDLE;
      nxt_q       <= SL_DONE;
      adv_q       <= 1'b0;
      phase_q     <= 1'b0;
      primed_q    <= 1'b0;
      s_pseudo_q  <= 1'b0;
      s_beat_q    <= 1'b0;
      s_ext_q     <= 1'b0;
      s_init_q    <= 1'b0;
      s_last_q    <= 1'b0;
      wait_q      <= '0;
      end_wait_q  <= '0;
      last_out_q  <= 1'b0;
      ready_all_q <= '0;
      rem_small_q <= 1'b0;
      err_early_q <= 1'b0;
      err_final_q <= 1'b0;
      err_left_q  <= 1'b0;
      err_init_q  <= 1'b0;
      desc_ev_q   <= ws_pkg::TANS_ERR_NONE;
    end else begin
      adv_q       <= adv_d;
      phase_q     <= phase_next;
      ready_all_q <= ready_all_d;
      rem_small_q <= (rem_q >> LoBits) == '0;
      desc_ev_q   <= desc_take && d_count != '0 ? d_err : ws_pkg::TANS_ERR_NONE;
      if (adv_d) begin  // the next slot's kind
        s_pseudo_q <= issue && (nxt_q == SL_PSA || nxt_q == SL_PSB);
        s_beat_q   <= issue && nxt_q == SL_BEAT;
        s_ext_q    <= issue && nxt_q != SL_DONE;
        s_init_q   <= issue && (nxt_q == SL_PRIME || nxt_q == SL_PSA);
        s_last_q   <= is_last_beat;
        primed_q   <= !(issue && (nxt_q == SL_PSA || nxt_q == SL_PSB || nxt_q == SL_BEAT));
      end
      if (issue) begin
        unique case (nxt_q)
          SL_PRIME: nxt_q <= SL_PSA;
          SL_PSA:   nxt_q <= SL_PSB;
          SL_PSB:   nxt_q <= SL_BEAT;
          SL_BEAT:  nxt_q <= is_last_beat ? SL_TAIL : SL_BEAT;
          default:  nxt_q <= SL_DONE;
        endcase
      end
      if ((push_beat && s_last_q) || push_empty) last_out_q <= 1'b1;
      err_early_q <= err_early_q || any_early_q;
      err_final_q <= err_final_q || any_final_q;
      err_left_q  <= err_left_q || any_left_q;
      err_init_q  <= err_init_q || any_init_q;
      unique case (st_q)
        ST_IDLE: begin
          if (d_start) begin
            st_q        <= d_err != ws_pkg::TANS_ERR_NONE ? ST_ABORT : ST_WAIT;
            nxt_q       <= SL_PRIME;
            wait_q      <= 2'd3;
            last_out_q  <= 1'b0;
            err_early_q <= 1'b0;
            err_final_q <= 1'b0;
            err_left_q  <= 1'b0;
            err_init_q  <= 1'b0;
          end
        end
        ST_WAIT: begin  // the lanes' ready flags take two cycles to show the new chunk
          wait_q <= wait_q - 2'd1;
          if (wait_q == 2'd1) st_q <= ST_RUN;
        end
        ST_RUN: begin
          if (any_early_q || any_init_q) st_q <= ST_ABORT;
          else if (nxt_q == SL_DONE && !adv_q) st_q <= ST_END;
          end_wait_q <= 2'd3;
        end
        ST_ABORT: begin
          if (abort_go) st_q <= ST_END;
          end_wait_q <= 2'd3;
        end
        default: begin  // ST_END: three cycles for the last extraction's checks to come through
          end_wait_q <= end_wait_q - 2'd1;
          if (end_wait_q == 2'd0) st_q <= ST_IDLE;
        end
      endcase
    end
  end

  always_ff @(posedge clk_i) begin
    if (desc_take) begin
      bank_q <= d_bank;
      log_q  <= d_log;
    end
    if (adv_d) begin
      s_fin_q   <= dec_fin_q & {K{issue && nxt_q != SL_PRIME && nxt_q != SL_PSA}};
      dec_fin_q <= nxt_q == SL_PSA ? fin_psa : nxt_q == SL_PSB ? fin_psb : fin_beat;
      s_count_q <= beat_count;
    end
    if (d_start) rem_q <= CB'(d_count);
    else if (issue && nxt_q == SL_BEAT) rem_q <= rem_q - CB'(K);
  end

  // The chunk's verdict, once its last checks are in: what ws::tans::decode throws first.
  assign chunk_ev = st_q == ST_END && end_wait_q == 2'd0 ?
                      (err_early_q ? ws_pkg::TANS_ERR_ENDS_EARLY
                     : err_init_q  ? ws_pkg::TANS_ERR_BAD_DESC
                     : err_final_q ? ws_pkg::TANS_ERR_FINAL_STATE
                     : err_left_q  ? ws_pkg::TANS_ERR_LEFT_OVER
                                   : ws_pkg::TANS_ERR_NONE)
                    : ws_pkg::TANS_ERR_NONE;

  // ---------------------------------------------------------------------------------------------
  // Lanes
  logic [K-1:0]   l_early, l_final, l_left, l_init;
  logic [8*K-1:0] symbols;
  logic           lane_start, lane_abort;
  assign lane_start = d_start;
  assign lane_abort = abort_go;

  for (genvar j = 0; j < K; j++) begin : g_lane
    ws_tans_lane #(
      .MaxTableLog(ML)
    ) u_lane (
      .clk_i,
      .rst_ni,
      .cfg_we_i   (cfg_we_q),
      .cfg_addr_i (cfg_addr_q),
      .cfg_data_i (cfg_word_q),
      .in_valid_i ({in_valid_i[K + j], in_valid_i[j]}),
      .in_ready_o ({in_ready_o[K + j], in_ready_o[j]}),
      .in_data_i  ({in_data_i[16*(K + j) +: 16], in_data_i[16*j +: 16]}),
      .in_last_i  ({in_last_i[K + j], in_last_i[j]}),
      .adv_i      (adv_q),
      .phase_i    (phase_q),
      .pseudo_i   (s_pseudo_q),
      .beat_i     (s_beat_q),
      .ext_i      (s_ext_q),
      .init_i     (s_init_q),
      .fin_i      (s_fin_q[j]),
      .bank_i     (bank_q),
      .table_log_i(log_q),
      .start_i    (lane_start),
      .abort_i    (lane_abort),
      .symbol_o   (symbols[8*j +: 8]),
      .ready_o    (lane_ready[2*j +: 2]),
      .early_o    (l_early[j]),
      .final_o    (l_final[j]),
      .left_o     (l_left[j]),
      .bad_init_o (l_init[j])
    );
  end

  assign any_early = |l_early;
  assign any_final = |l_final;
  assign any_left  = |l_left;
  assign any_init  = |l_init;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      any_early_q <= 1'b0;
      any_final_q <= 1'b0;
      any_left_q  <= 1'b0;
      any_init_q  <= 1'b0;
    end else begin
      any_early_q <= any_early;
      any_final_q <= any_final;
      any_left_q  <= any_left;
      any_init_q  <= any_init;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Output: a register and a skid register behind it, so that a beat decided a cycle ahead always
  // has a place. A beat is the lanes' symbols (the RAM output registers) in a BEAT slot, or the
  // empty `last` beat that ends a failed chunk.
  logic           skid_v_q, out_v_q, out_last_q, skid_last_q, new_last;
  logic [8*K-1:0] out_data_q, skid_data_q, new_data;
  logic [CW-1:0]  out_count_q, skid_count_q, new_count;
  assign push      = push_beat || push_empty;
  assign new_data  = symbols;
  assign new_count = push_empty ? '0 : s_count_q;
  assign new_last  = push_empty || s_last_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_v_q  <= 1'b0;
      skid_v_q <= 1'b0;
      out_n_q  <= '0;
    end else begin
      out_n_q <= out_n_q + 2'(push) - 2'(take_out);
      if (!out_v_q || take_out) begin
        out_v_q  <= skid_v_q || push;
        skid_v_q <= skid_v_q && push;
      end else if (push) begin
        skid_v_q <= 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!out_v_q || take_out) begin
      out_data_q  <= skid_v_q ? skid_data_q : new_data;
      out_count_q <= skid_v_q ? skid_count_q : new_count;
      out_last_q  <= skid_v_q ? skid_last_q : new_last;
    end
    if (push) begin
      skid_data_q  <= new_data;
      skid_count_q <= new_count;
      skid_last_q  <= new_last;
    end
  end

  assign out_valid_o = out_v_q;
  assign out_data_o  = out_data_q;
  assign out_count_o = out_count_q;
  assign out_last_o  = out_last_q;

  // ---------------------------------------------------------------------------------------------
  // Sticky error: a chunk's verdict, a descriptor's error (the cycle after it is taken), a bad table
  // entry (the cycle after its write).
  ws_pkg::tans_err_e ev;
  assign ev = chunk_ev != ws_pkg::TANS_ERR_NONE  ? chunk_ev
            : desc_ev_q != ws_pkg::TANS_ERR_NONE ? desc_ev_q
            : cfg_bad_q                          ? ws_pkg::TANS_ERR_BAD_ENTRY
                                                 : ws_pkg::TANS_ERR_NONE;

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev),
    .err_o,
    .cause_o(err_cause_o)
  );

  // AXI-Stream rule on the output and, as assumptions about the environment, on the descriptor and
  // configuration inputs (ws_tans_state_buffer checks the state ports).
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, {out_last_o, out_count_o, out_data_o})
  `WS_ASSERT_STREAM(desc_stable, desc_valid_i, desc_ready_o, desc_data_i)
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_bank_i, cfg_addr_i, cfg_data_i})
  `WS_ASSERT(full_beats, !out_valid_o || out_last_o || out_count_o == CW'(K),
             ("ws_tans_decoder: beat with %0d symbols before the last", out_count_o))
  `WS_ASSERT(skid_room, !(push && out_v_q && skid_v_q && !take_out),
             ("ws_tans_decoder: a beat with no room in the output"))
endmodule
`resetall
