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
  parameter int CountBits   = 32,  // width of the descriptor's symbol count field
  parameter int ChunkBits   = 17   // the largest chunk the decoder takes: n < 2**ChunkBits symbols
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
  `WS_PARAM_CHECK(g_check_chunk, ChunkBits >= 4 && ChunkBits <= CountBits,
                  ("ws_tans_decoder: ChunkBits = %0d, must be 4 .. CountBits", ChunkBits))

  localparam int K         = Lanes;
  localparam int ML        = MaxTableLog;
  localparam int EntryBits = 2 * ML + 12;
  localparam int CW        = $clog2(K + 1);
  localparam int HeadBits  = ws_pkg::TANS_DESC_HEAD_BITS;
  localparam int LoBits    = $clog2(8 * K);  // the symbol counter below 8 Lanes
  localparam int CB        = ChunkBits > LoBits ? ChunkBits : LoBits + 1;  // the symbol counter
  localparam int KB        = $clog2(K);      // rem_q's bits below whole beats

  // The chunk's state (plain codes: Yosys cannot re-derive a module with a typedef of its own).
  localparam logic [2:0] ST_IDLE  = 3'd0;  // no chunk: descriptors are taken
  localparam logic [2:0] ST_TAKEN = 3'd1;  // a descriptor was taken: check it
  localparam logic [2:0] ST_WAIT  = 3'd2;  // the chunk starts; its states' ready flags catch up
  localparam logic [2:0] ST_RUN   = 3'd3;  // slots run
  localparam logic [2:0] ST_ABORT = 3'd4;  // the chunk failed: flush its states, end it with an empty beat
  localparam logic [2:0] ST_END   = 3'd5;  // the last slot has run: wait for its checks, report

  logic [2:0]           st_q;
  logic                 bank_q;     // the chunk's bank
  logic [3:0]           log_q;      // ... and table log
  logic [1:0]           loaded_q;   // a bank has been written since reset

  // ---------------------------------------------------------------------------------------------
  // Configuration: each written entry becomes the RAM word {nb, mask = 2^nb - 1, base, symbol}, in
  // four register stages (as taken; masks; checked; the word). Entries the datapath cannot take are
  // stored with nb = 0 and raise TANS_ERR_BAD_ENTRY: nb above MaxTableLog, next_base >=
  // 2^MaxTableLog, or next_base not a multiple of 2^nb (no table the format allows has one).
  ws_pkg::tans_entry_t  cfg;
  logic                 cfg_take, cfg_in_q, cfg_msk_q, cfg_chk_q, cfg_we_q, cfg_ev_q;
  logic [1:0]           cfg_big_q;  // nb_bits > MaxTableLog; next_base >= 2^MaxTableLog (apart: one LUT level each)
  logic                 cfg_bad_q;
  logic [ML:0]          cfg_in_addr_q, cfg_msk_addr_q, cfg_chk_addr_q, cfg_addr_q;
  logic [23:0]          cfg_in_data_q;
  logic [ML-1:0]        cfg_low_q, cfg_base_q;  // the bits below nb; next_base (bits above ML: cfg_big_q)
  logic [ML+11:0]       cfg_msk_pre_q, cfg_pre_q;  // {nb, next_base, symbol}, the mask still to come
  logic [ML-1:0]        cfg_mask_q;
  logic [EntryBits-1:0] cfg_word_q;

  assign cfg_ready_o = st_q == ST_IDLE || bank_q != cfg_bank_i;
  assign cfg_take    = cfg_valid_i && cfg_ready_o;
  assign cfg         = cfg_in_data_q;

  always_ff @(posedge clk_i) begin
    cfg_in_addr_q  <= {cfg_bank_i, cfg_addr_i};
    cfg_in_data_q  <= cfg_data_i;
    cfg_msk_addr_q <= cfg_in_addr_q;
    cfg_msk_pre_q  <= {cfg.nb_bits, cfg.next_base[ML-1:0], cfg.symbol};
    cfg_low_q      <= ~({ML{1'b1}} << cfg.nb_bits);
    cfg_base_q     <= cfg.next_base[ML-1:0];
    cfg_big_q      <= {(cfg.next_base >> ML) != '0, cfg.nb_bits > 4'(ML)};
    cfg_chk_addr_q <= cfg_msk_addr_q;
    cfg_pre_q      <= cfg_msk_pre_q;
    cfg_mask_q     <= cfg_low_q;
    cfg_bad_q      <= |cfg_big_q || (cfg_base_q & cfg_low_q) != '0;
    cfg_addr_q     <= cfg_chk_addr_q;
    cfg_word_q     <= {cfg_bad_q ? 4'd0 : cfg_pre_q[ML+8 +: 4], cfg_bad_q ? ML'(0) : cfg_mask_q, cfg_pre_q[ML+7:0]};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cfg_in_q  <= 1'b0;
      cfg_msk_q <= 1'b0;
      cfg_chk_q <= 1'b0;
      cfg_we_q  <= 1'b0;
      cfg_ev_q  <= 1'b0;
      loaded_q  <= '0;
    end else begin
      cfg_in_q  <= cfg_take;
      cfg_msk_q <= cfg_in_q;
      cfg_chk_q <= cfg_msk_q;
      cfg_we_q  <= cfg_chk_q;
      cfg_ev_q  <= cfg_chk_q && cfg_bad_q;
      if (cfg_take) loaded_q[cfg_bank_i] <= 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Descriptors: taken while no chunk runs, unless a write into the chunk's bank is waiting (so
  // writes presented before a descriptor go first), then checked from registers. A chunk of 0
  // symbols is taken and does nothing.
  ws_pkg::tans_desc_head_t d_head;
  logic                 desc_take, start, taken;
  localparam int BigBits  = CountBits - ChunkBits;  // the count's bits above the chunk's counter
  localparam int BigParts = 4;                      // ... tested in 4 parts (one LUT each at 17 of 32)
  localparam int BigPart  = BigBits > BigParts ? (BigBits + BigParts - 1) / BigParts : 1;
  logic [CB-1:0]        d_count;    // the descriptor's count below 2^ChunkBits
  logic [BigParts*BigPart-1:0] d_above;    // ... and its bits from ChunkBits on
  // The descriptor's tests are read only in ST_TAKEN, the cycle after the descriptor was taken, so
  // they are registered every cycle (no enable from desc_take) and split so that each is at most
  // two LUT levels from the descriptor input; one gate combines them where they are used.
  logic [BigParts-1:0]  cnt_big_q;     // per part: the count does not fit ChunkBits (a bad descriptor)
  logic                 cnt_lo_nz_q;   // its bits below LoBits are not all 0
  logic                 cnt_mid_z_q;   // its bits LoBits .. ChunkBits-1 are all 0
  logic                 log_bad_q;     // the table log is outside 5 .. MaxTableLog
  logic                 no_table_q;    // the bank has not been written (no write to it in between:
                                       // desc_ready_o waits for one offered to the same bank)
  logic                 cnt_nz, cnt_small;  // n != 0; n < 8 Lanes
  logic [CB-1:0]        cnt_q;
  ws_pkg::tans_err_e    d_err;

  assign d_head       = desc_data_i[HeadBits-1:0];
  assign desc_ready_o = st_q == ST_IDLE && !(cfg_valid_i && cfg_bank_i == d_head.bank);
  assign desc_take    = desc_valid_i && desc_ready_o;
  assign d_count      = CB'(desc_data_i[HeadBits +: ChunkBits]);
  assign d_above      = (BigParts*BigPart)'(desc_data_i[HeadBits +: CountBits] >> ChunkBits);
  assign cnt_nz       = cnt_lo_nz_q || !cnt_mid_z_q || |cnt_big_q;
  assign cnt_small    = cnt_mid_z_q && !(|cnt_big_q);
  assign start        = st_q == ST_TAKEN && cnt_nz;
  // The chunk's counters and flags load in ST_TAKEN whether or not n is 0 (then the chunk ends
  // there and nothing reads them before the next chunk loads them again): no count test on their
  // enables, which start (three LUT levels from the count parts) would be.
  assign taken        = st_q == ST_TAKEN;
  assign d_err        = no_table_q ? ws_pkg::TANS_ERR_NO_TABLE
                      : log_bad_q || |cnt_big_q ? ws_pkg::TANS_ERR_BAD_DESC
                                               : ws_pkg::TANS_ERR_NONE;

  always_ff @(posedge clk_i) begin
    if (desc_take) begin
      bank_q <= d_head.bank;
      log_q  <= d_head.table_log;
    end
    cnt_q       <= d_count;
    for (int i = 0; i < BigParts; i++) cnt_big_q[i] <= d_above[BigPart*i +: BigPart] != '0;
    cnt_lo_nz_q <= d_count[LoBits-1:0] != '0;
    cnt_mid_z_q <= (d_count >> LoBits) == '0;
    log_bad_q   <= d_head.table_log < 4'(ws_pkg::TANS_MIN_TABLE_LOG) || d_head.table_log > 4'(ML);
    no_table_q  <= !loaded_q[d_head.bank];
  end

  // ---------------------------------------------------------------------------------------------
  // The slots of a chunk: PRIME (context 0 reads its initial-state unit), PSA and PSB (each context
  // addresses the table with its initial state), BEATs (a context decodes Lanes symbols; the other
  // extracts), TAIL (the last beat's context extracts for the last time). PRIME needs the slot
  // before it to have decoded nothing (so every lane's position reads 16) and the phase 1; IDLE
  // slots get there. DONE is a slot that does nothing.
  //
  // pend_q is the next slot to run and s_*_q what it does, all registered: when adv_q is high it
  // runs, and at the clock edge pend_q and s_*_q become its successor's. adv_d only decides whether
  // the pending slot runs next cycle; nothing else waits for it.
  localparam logic [2:0] SL_IDLE  = 3'd0;
  localparam logic [2:0] SL_PRIME = 3'd1;
  localparam logic [2:0] SL_PSA   = 3'd2;
  localparam logic [2:0] SL_PSB   = 3'd3;
  localparam logic [2:0] SL_BEAT  = 3'd4;
  localparam logic [2:0] SL_TAIL  = 3'd5;
  localparam logic [2:0] SL_DONE  = 3'd6;

  logic                 abort_go;       // the failed chunk ends now (its empty beat)
  logic [K-1:0]         abort0_q, abort1_q;  // per context: the lanes' states it flushes, a cycle later
  logic                 push_beat;      // the running slot's beat goes into the output
  logic [2:0]           pend_q;         // the pending slot
  logic                 adv_q, adv_d;   // it runs this cycle
  logic                 phase_q;        // its decoding context
  logic                 primed_q;       // the last slot that ran decoded nothing (positions are 16)
  logic                 s_pseudo_q, s_beat_q, s_init_q;
  // Per lane j and context: the pending slot's extraction pops (or not) or ends the state's chunk.
  logic [K-1:0]         s_pop0_q, s_pop1_q, s_fin0_q, s_fin1_q;
  logic [K-1:0]         dec_fin_q;      // lanes whose state the pending slot decodes for the last time
  logic [K-1:0]         done0_q, done1_q;  // per context: the lane's state is flushed, its chunk over
  logic [CB-1:0]        rem_q;          // symbols from the pending (or next) beat on
  logic                 rem_small_q;    // rem_q < 8 Lanes, a cycle ago (it only shrinks)
  logic [1:0]           wait_q;
  logic [2:0]           end_wait_q;
  logic                 last_out_q;     // the chunk's `last` beat has gone into the output
  logic [1:0]           ready_all_q;    // per context: every lane's state can extract (registered)
  logic [1:0]           ready_all_d;
  logic [2*K-1:0]       lane_ready;     // lane j's two contexts at [2j +: 2]

  always_comb begin
    ready_all_d = 2'b11;
    for (int j = 0; j < K; j++) begin
      ready_all_d[0] = ready_all_d[0] & (lane_ready[2*j] | done0_q[j]);
      ready_all_d[1] = ready_all_d[1] & (lane_ready[2*j + 1] | done1_q[j]);
    end
  end

  // The successor of the pending slot, and what it does. Symbol counts come from le[t]: "rem_q
  // <= t" for t < 4 Lanes, one LUT from registered flags (rem_q drops by Lanes as a beat runs, so
  // rem_q mod Lanes stays and the whole beats left move down by one).
  logic [2:0]        next_kind;
  logic [LoBits-1:0] rem_lo;
  logic              beat_running;
  logic [K-1:0]      next_fin;
  logic [4*K-1:0]    le;
  logic [3:0]        qle_q, qle_d;  // "beats left (rem_q / Lanes) <= i", i = 0 .. 3
  logic [3:0]        qlt;           // "beats left < i": qle_q one place up
  logic [K-1:0]      rle_q;         // "rem_q mod Lanes <= b", b < Lanes: fixed for the chunk
  assign qlt = {qle_q[2:0], 1'b0};
  assign rem_lo       = rem_q[LoBits-1:0];
  assign beat_running = pend_q == SL_BEAT;

  // Which states the successor extracts: every lane's state of the context decoding now, unless it
  // is done, counting the states the running slot ends (flush).
  logic [K-1:0] flush0, flush1, next_live;
  assign flush0    = (adv_q ? s_fin0_q : '0) | (abort_go ? ~done0_q : '0);
  assign flush1    = (adv_q ? s_fin1_q : '0) | (abort_go ? ~done1_q : '0);
  assign next_live = next_kind == SL_IDLE || next_kind == SL_DONE ? '0
                   : phase_q ? ~(done1_q | flush1) : ~(done0_q | flush0);
  // At 1 lane "rem_q <= t" is one LUT4 from rem_small_q and rem_lo (3 bits), not the flags: rem_q
  // falls by at most 1 a cycle, so where rem_small_q (rem_q < 8 a cycle ago) is low, rem_q >= 7 > t,
  // and where it is high rem_lo is all of rem_q (docs/tans_decoder.md, eighth step). Both uses are
  // ternaries on LeFromRem, so that Yosys elaborates 2 Lanes and up to the netlist they had.
  localparam bit LeFromRem = K == 1;
  always_comb begin
    // "rem_q <= t" for t = a Lanes + b: fewer than a beats left, or a beats and rem_q mod Lanes <= b.
    for (int t = 0; t < 4 * K; t++) begin
      le[t] = LeFromRem ? rem_small_q && rem_lo <= LoBits'(t)
                        : qlt[t/K] || (qle_q[t/K] && rle_q[t%K]);
    end
    // qle_q's next value: from the descriptor's count at the start; as a beat runs each flag takes
    // the one above it, and the top one is compared afresh (rem_small_q is exact where it counts).
    for (int i = 0; i < 4; i++) begin
      if (taken)          qle_d[i] = cnt_small && cnt_q[LoBits-1:KB] <= 3'(i);
      else if (push_beat) qle_d[i] = i < 3 ? qle_q[i + 1] : rem_small_q && rem_lo[LoBits-1:KB] <= 3'd4;
      else                qle_d[i] = qle_q[i];
    end
  end

  always_comb begin
    unique case (pend_q)
      SL_IDLE:  next_kind = phase_q ? SL_IDLE : SL_PRIME;  // PRIME takes phase 1
      SL_PRIME: next_kind = SL_PSA;
      SL_PSA:   next_kind = SL_PSB;
      SL_PSB:   next_kind = SL_BEAT;
      SL_BEAT:  next_kind = le[K] ? SL_TAIL : SL_BEAT;  // this beat is the last
      default:  next_kind = SL_DONE;
    endcase
    // Lane j's state decodes for the last time when its next symbol, Lanes (PSA: context 0's
    // first) or 2 Lanes (a beat: two beats on) symbols further, is past the chunk's end.
    for (int j = 0; j < K; j++) begin
      unique case (next_kind)
        SL_PSA:  next_fin[j] = le[j];
        SL_PSB:  next_fin[j] = le[K + j];
        SL_BEAT: next_fin[j] = le[(beat_running ? 3 * K : 2 * K) + j];
        default: next_fin[j] = 1'b0;
      endcase
    end
  end

  // Output room: at most one beat waiting after this edge, whatever out_ready_i does next cycle.
  logic       push, push_empty, take_out, room_next;
  logic [1:0] out_n;  // beats in the output register and its skid register
  assign take_out  = out_valid_o && out_ready_i;
  assign push_beat = adv_q && s_beat_q;
  assign room_next = (out_n + 2'(push_beat) - 2'(take_out)) <= 2'd1;

  logic phase_next, ext_ready;
  logic any_early_q, any_final_q, any_left_q, any_init_q;  // this cycle's lane check results
  assign phase_next = phase_q ^ adv_q;
  assign ext_ready  = phase_next ? ready_all_q[0] : ready_all_q[1];  // the next extractor: !phase
  assign adv_d      = st_q == ST_RUN && !any_early_q && !any_init_q && ext_ready && room_next;

  // ---------------------------------------------------------------------------------------------
  // Sequencer
  logic err_early_q, err_final_q, err_left_q, err_init_q;  // the running chunk's findings
  ws_pkg::tans_err_e chunk_ev, desc_ev_q;
  // From registers only (not the output handshake): the empty beat waits for a free output place.
  // The lanes flush the chunk's states from abort0_q / abort1_q, a cycle later (no slot runs then).
  assign abort_go   = st_q == ST_ABORT && !adv_q && (last_out_q || out_n <= 2'd1);
  assign push_empty = abort_go && !last_out_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      st_q        <= ST_IDLE;
      pend_q      <= SL_DONE;
      adv_q       <= 1'b0;
      phase_q     <= 1'b0;
      primed_q    <= 1'b0;
      s_pseudo_q  <= 1'b0;
      s_beat_q    <= 1'b0;
      s_init_q    <= 1'b0;
      s_pop0_q    <= '0;
      s_pop1_q    <= '0;
      s_fin0_q    <= '0;
      s_fin1_q    <= '0;
      done0_q     <= '0;
      done1_q     <= '0;
      abort0_q    <= '0;
      abort1_q    <= '0;
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
      // At 1 lane no load in ST_TAKEN: nothing reads rem_small_q in the cycle after (no slot runs,
      // no beat goes out), and from the next on it is the new count's.
      rem_small_q <= LeFromRem ? (rem_q >> LoBits) == '0
                               : taken ? cnt_small : (rem_q >> LoBits) == '0;
      desc_ev_q   <= start ? d_err : ws_pkg::TANS_ERR_NONE;
      if (adv_q) begin  // the pending slot runs: its successor is pending next
        pend_q     <= next_kind;
        primed_q   <= !s_pseudo_q && !s_beat_q;
        s_pseudo_q <= next_kind == SL_PSA || next_kind == SL_PSB;
        s_beat_q   <= next_kind == SL_BEAT;
        s_init_q   <= next_kind == SL_PRIME || next_kind == SL_PSA;
        // The successor's extractor is the context that decodes now (phase_q).
        s_pop0_q   <= phase_q ? '0 : next_live & ~dec_fin_q;
        s_pop1_q   <= phase_q ? next_live & ~dec_fin_q : '0;
        s_fin0_q   <= phase_q ? '0 : next_live & dec_fin_q;
        s_fin1_q   <= phase_q ? next_live & dec_fin_q : '0;
      end
      done0_q <= taken ? '0 : done0_q | flush0;
      done1_q <= taken ? '0 : done1_q | flush1;
      abort0_q <= abort_go ? ~done0_q : '0;
      abort1_q <= abort_go ? ~done1_q : '0;
      if ((push_beat && le[K]) || push_empty) last_out_q <= 1'b1;
      err_early_q <= err_early_q || any_early_q;
      err_final_q <= err_final_q || any_final_q;
      err_left_q  <= err_left_q || any_left_q;
      err_init_q  <= err_init_q || any_init_q;
      unique case (st_q)
        ST_IDLE: begin
          if (desc_take) st_q <= ST_TAKEN;
        end
        ST_TAKEN: begin
          st_q        <= !cnt_nz ? ST_IDLE : d_err != ws_pkg::TANS_ERR_NONE ? ST_ABORT : ST_WAIT;
          wait_q      <= 2'd2;
          last_out_q  <= 1'b0;
          err_early_q <= 1'b0;
          err_final_q <= 1'b0;
          err_left_q  <= 1'b0;
          err_init_q  <= 1'b0;
        end
        ST_WAIT: begin  // the lanes' ready flags take two cycles to show the new chunk
          wait_q <= wait_q - 2'd1;
          if (wait_q == 2'd1) begin
            st_q       <= ST_RUN;
            pend_q     <= phase_next && primed_q ? SL_PRIME : SL_IDLE;
            s_pseudo_q <= 1'b0;
            s_beat_q   <= 1'b0;
            s_init_q   <= phase_next && primed_q;
            s_pop0_q   <= {K{phase_next && primed_q}};  // PRIME: context 0 reads its first unit
            s_pop1_q   <= '0;
            s_fin0_q   <= '0;
            s_fin1_q   <= '0;
          end
        end
        ST_RUN: begin
          if (any_early_q || any_init_q) st_q <= ST_ABORT;
          else if (adv_q && pend_q == SL_TAIL) st_q <= ST_END;
          end_wait_q <= 3'd4;
        end
        ST_ABORT: begin
          if (abort_go) st_q <= ST_END;
          end_wait_q <= 3'd4;
        end
        default: begin  // ST_END: the last extraction's checks take five cycles to come through
          end_wait_q <= end_wait_q - 3'd1;
          if (end_wait_q == 3'd0) st_q <= ST_IDLE;
        end
      endcase
    end
  end

  always_ff @(posedge clk_i) begin
    if (st_q == ST_WAIT) begin  // PRIME or IDLE comes first: no fins
      dec_fin_q <= '0;
    end else if (adv_q) begin
      dec_fin_q <= next_fin;
    end
    if (taken) rem_q <= cnt_q;
    else if (push_beat) rem_q <= rem_q - CB'(K);
    qle_q <= qle_d;
    if (taken) begin
      for (int b = 0; b < K; b++) rle_q[b] <= (cnt_q[LoBits-1:0] & LoBits'(K - 1)) < LoBits'(b + 1);
    end
  end

  // The chunk's verdict, once its last checks are in: what ws::tans::decode throws first.
  assign chunk_ev = st_q == ST_END && end_wait_q == 3'd0 ?
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
      .pop_sel_i  ({s_pop1_q[j], s_pop0_q[j]}),
      .fin_sel_i  ({s_fin1_q[j], s_fin0_q[j]}),
      .init_i     (s_init_q),
      .abort_i    ({abort1_q[j], abort0_q[j]}),
      .bank_i     (bank_q),
      .table_log_i(log_q),
      .symbol_o   (symbols[8*j +: 8]),
      .ready_o    (lane_ready[2*j +: 2]),
      .early_o    (l_early[j]),
      .final_o    (l_final[j]),
      .left_o     (l_left[j]),
      .bad_init_o (l_init[j])
    );
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      any_early_q <= 1'b0;
      any_final_q <= 1'b0;
      any_left_q  <= 1'b0;
      any_init_q  <= 1'b0;
    end else begin
      any_early_q <= |l_early;
      any_final_q <= |l_final;
      any_left_q  <= |l_left;
      any_init_q  <= |l_init;
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
  // A beat's symbols: min(Lanes, rem_q); it is the last when rem_q <= Lanes.
  assign new_count = push_empty ? '0 : le[K-1] ? CW'(rem_lo) : CW'(K);
  assign new_last  = push_empty || le[K];

  assign out_n = 2'(out_v_q) + 2'(skid_v_q);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      out_v_q  <= 1'b0;
      skid_v_q <= 1'b0;
    end else begin
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
    // The skid register takes the new beat whenever it is empty or being emptied (it is full only
    // when the output register is, so that is out_ready_i): the same beat as on `push`, with an
    // enable from registers and the handshake instead of the sequencer's push.
    if (!skid_v_q || out_ready_i) begin
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
  // Sticky error: a chunk's verdict, a descriptor's error, a bad table entry, registered once more.
  ws_pkg::tans_err_e ev_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) ev_q <= ws_pkg::TANS_ERR_NONE;
    else         ev_q <= chunk_ev != ws_pkg::TANS_ERR_NONE  ? chunk_ev
                       : desc_ev_q != ws_pkg::TANS_ERR_NONE ? desc_ev_q
                       : cfg_ev_q                           ? ws_pkg::TANS_ERR_BAD_ENTRY
                                                            : ws_pkg::TANS_ERR_NONE;
  end

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev_q),
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
