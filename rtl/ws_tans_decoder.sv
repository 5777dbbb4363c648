`default_nettype none
// ws_tans_decoder: streaming tANS decoder with Lanes interleaved states (docs/format.md section 2),
// one decoder step (Lanes symbols) per cycle. See docs/tans_decoder.md.
//
// The decode table sits in Lanes copies of a simple dual-port RAM, one read port per lane, all
// written together through the configuration port. The RAMs' read registers hold the entries of
// the current states, so the loop closes in one cycle:
//   entry -> prefix sum of nb_bits -> bits from the window -> next_base | bits -> RAM address.
// ("|" is "+": the low nb_bits of next_base are zero, which the configuration port checks.)
module ws_tans_decoder #(
  parameter int Lanes       = 4,   // 1, 2, 4 or 8
  parameter int MaxTableLog = 12,  // 5 .. 12: the RAMs hold 2**MaxTableLog entries
  parameter int WordBits    = 32,  // symbol-stream word width
  parameter int CountBits   = 32   // width of a chunk's symbol count
) (
  input  wire                               clk_i,
  input  wire                               rst_ni,
  // Configuration: decode-table entry cfg_addr_i := cfg_data_i (ws_pkg::tans_entry_t).
  // Ready only while no chunk is running.
  input  wire                               cfg_valid_i,
  output logic                              cfg_ready_o,
  input  wire  [MaxTableLog-1:0]            cfg_addr_i,
  input  wire  [23:0]                       cfg_data_i,
  // Chunk descriptors: {state[Lanes-1] .. state[0] (16 bits each), count[CountBits-1:0],
  // ws_pkg::tans_desc_head_t}, LSB first.
  input  wire                               desc_valid_i,
  output logic                              desc_ready_o,
  input  wire  [5+CountBits+16*Lanes-1:0]   desc_data_i,
  // Symbol-stream words, `last` on the final word of each chunk's stream
  input  wire                               in_valid_i,
  output logic                              in_ready_o,
  input  wire  [WordBits-1:0]               in_data_i,
  input  wire                               in_last_i,
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
  `WS_PARAM_CHECK(g_check_count, CountBits >= 1 && CountBits <= 32,
                  ("ws_tans_decoder: CountBits = %0d, must be 1 .. 32", CountBits))

  localparam int K         = Lanes;
  localparam int ML        = MaxTableLog;
  localparam int StepBits  = K * ML;          // most bits one step can read
  localparam int EntryBits = 12 + ML;         // tans_entry_t with next_base cut to ML bits
  localparam int PreW      = $clog2(StepBits + 1);
  localparam int LgK       = $clog2(K);
  localparam int CW        = $clog2(K + 1);
  localparam int BufferWords = 2 ** $clog2((StepBits + 2 * WordBits - 2) / WordBits + 1);
  localparam int AvW       = $clog2(BufferWords * WordBits + 1);
  localparam int PadW      = $clog2(WordBits);
  localparam int HeadBits  = ws_pkg::TANS_DESC_HEAD_BITS;
  localparam int SB        = ws_pkg::TANS_STATE_BITS;
  localparam int StateAt   = HeadBits + CountBits;  // lane 0's initial state in the descriptor

  // ---------------------------------------------------------------------------------------------
  // Registers
  logic                 run_q, run_d;          // a chunk runs; the RAMs hold its current entries
  logic [CountBits-1:0] rem_q, rem_d;          // symbols left, including the current step's
  logic                 nostream_q, nostream_d;
  ws_pkg::tans_err_e    abort_q, abort_d;      // the chunk failed: its next step ends it, empty
  logic                 early_q;               // the last cycle's step ran past the stream's end
  logic                 early_cont_q;          // ... and was not its chunk's last step
  ws_pkg::tans_err_e    start_ev_q;            // descriptor error found last cycle
  logic                 cfg_ev_q;              // bad table entry written last cycle
  logic [K*ML-1:0]      state_q;               // the states the RAMs were last addressed with
  logic                 loaded_q;              // any table write since reset
  logic                 fin_chk_q, fin_chk_d;  // check the final states and the padding this cycle
  logic [K*ML-1:0]      fin_field_q;           // the last step's fields ...
  logic [K-1:0]         fin_base0_q;           // ... and which next_base were 0
  logic [K-1:0]         fin_act_q;             // lanes that decoded in the last step
  logic                 fin_idle_bad_q, fin_idle_bad_d;  // a lane that did not has a state != 0
  logic                 left_bad_q, left_bad_d;
  logic                 out_valid_q, out_valid_d;
  logic [8*K-1:0]       out_data_q, out_data_d;
  logic [CW-1:0]        out_count_q, out_count_d;
  logic                 out_last_q, out_last_d;

  // ---------------------------------------------------------------------------------------------
  // Configuration port and the table RAMs
  logic                 cfg_we;
  ws_pkg::tans_entry_t  cfg;
  logic [3:0]           cfg_nb;
  logic [11:0]          cfg_base;
  logic                 cfg_bad;
  logic [EntryBits-1:0] cfg_entry;

  assign cfg_ready_o = !run_q;
  assign cfg_we      = cfg_valid_i && cfg_ready_o;
  assign cfg         = cfg_data_i;
  assign cfg_nb      = cfg.nb_bits;
  assign cfg_base    = cfg.next_base;
  // Entries the datapath cannot take: a bad one is stored with nb_bits = 0, so that a step never
  // reads more than StepBits bits, and raises TANS_ERR_BAD_ENTRY.
  assign cfg_bad     = (cfg_nb > 4'(ML)) || ((cfg_base >> ML) != '0)
                     || ((cfg_base & ~(12'hfff << cfg_nb)) != '0);
  assign cfg_entry   = {cfg_base[ML-1:0], cfg_bad ? 4'd0 : cfg_nb, cfg.symbol};

  logic               ram_re;
  logic [K*ML-1:0]    raddr;
  logic [K*EntryBits-1:0] ent;

  for (genvar j = 0; j < K; j++) begin : g_ram
    ws_table_ram #(
      .AddrBits(ML),
      .DataBits(EntryBits)
    ) u_ram (
      .clk_i,
      .we_i   (cfg_we),
      .waddr_i(cfg_addr_i),
      .wdata_i(cfg_entry),
      .re_i   (ram_re),
      .raddr_i(raddr[j*ML +: ML]),
      .rdata_o(ent[j*EntryBits +: EntryBits])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Bit reader
  logic [StepBits-1:0] window;
  logic [AvW-1:0]      rd_avail;
  logic                rd_ended, rd_skip;
  logic [PadW-1:0]     rd_pad;
  logic [PreW-1:0]     rd_consume;
  logic                rd_done;

  ws_bit_reader #(
    .WordBits   (WordBits),
    .WindowBits (StepBits),
    .MaxConsume (StepBits),
    .BufferWords(BufferWords)
  ) u_reader (
    .clk_i,
    .rst_ni,
    .in_valid_i,
    .in_ready_o,
    .in_data_i,
    .in_last_i,
    .window_o (window),
    .avail_o  (rd_avail),
    .ended_o  (rd_ended),
    .pad_o    (rd_pad),
    .skip_o   (rd_skip),
    .consume_i(rd_consume),
    .done_i   (rd_done)
  );

  // ---------------------------------------------------------------------------------------------
  // The step datapath: from the current entries to the next states
  logic            is_last;  // the current step is the chunk's last
  logic [K-1:0]    act;      // lanes that decode in the current step
  logic [K*8-1:0]  syms;
  logic [PreW-1:0] total;    // bits the active lanes read
  logic [K*ML-1:0] field;    // the nb_bits bits each lane reads, zero-extended
  logic [K-1:0]    base0;    // next_base == 0

  assign is_last = (rem_q >> LgK) == '0 || rem_q == CountBits'(K);
  always_comb begin
    for (int j = 0; j < K; j++) act[j] = !is_last || CW'(rem_q) > CW'(j);
  end

  // window >> s as a logarithmic shifter, largest step first (later stages keep fewer bits).
  function automatic logic [ML-1:0] field_at(input logic [StepBits-1:0] w,
                                              input logic [PreW-1:0]     s);
    logic [StepBits-1:0] x;
    x = w;
    for (int b = PreW - 1; b >= 0; b--) begin
      if (s[b]) x = x >> (1 << b);
    end
    field_at = x[ML-1:0];
  endfunction

  // The next RAM address of lane j: on a chunk start the descriptor's state, else
  // next_base | field, with the field, the latest signal, last.
  logic start;
  always_comb begin
    logic [PreW-1:0] p;  // bit offset of lane j's field in the window
    logic [3:0]      nb;
    logic [ML-1:0]   base;
    p = '0;
    for (int j = 0; j < K; j++) begin
      nb                = ent[j*EntryBits + ws_pkg::TANS_ENTRY_NB_BITS_LSB +: 4];
      base              = ent[j*EntryBits + ws_pkg::TANS_ENTRY_NEXT_BASE_LSB +: ML];
      syms[j*8 +: 8]    = ent[j*EntryBits + ws_pkg::TANS_ENTRY_SYMBOL_LSB +: 8];
      base0[j]          = base == '0;
      field[j*ML +: ML] = field_at(window, p) & ~({ML{1'b1}} << nb);
      raddr[j*ML +: ML] = start ? desc_data_i[StateAt + SB*j +: ML]
                                : base | field[j*ML +: ML];
      p = p + PreW'(nb);
    end
  end

  // Bits the active lanes read, as a balanced adder tree.
  always_comb begin
    logic [PreW-1:0] part [K];
    for (int j = 0; j < K; j++) begin
      part[j] = act[j] ? PreW'(ent[j*EntryBits + ws_pkg::TANS_ENTRY_NB_BITS_LSB +: 4]) : '0;
    end
    for (int l = 0; l < LgK; l++) begin
      for (int j = 0; j < K; j++) begin
        if (j % (2 << l) == 0) part[j] = part[j] + part[j + (1 << l)];
      end
    end
    total = part[0];
  end

  // ---------------------------------------------------------------------------------------------
  // Step control. Nothing here waits for `total` within the cycle except the reader's pointer
  // update: a step that runs past the end of the stream is found by a registered compare
  // (early_q) and the chunk is aborted on the next cycle.
  logic           out_free, ended, aborting, rd_ok, fire, chunk_end, early_d;
  logic [AvW-1:0] avail;

  assign out_free  = !out_valid_q || out_ready_i;
  assign ended     = nostream_q || rd_ended;
  assign avail     = nostream_q ? '0 : rd_avail;
  assign aborting  = abort_q != ws_pkg::TANS_ERR_NONE || early_cont_q;  // the next step is an empty `last` beat
  // Step when the window is full, or when the chunk's last word is in it (no more bits to come).
  assign rd_ok     = !rd_skip && (aborting || ended || rd_avail >= AvW'(StepBits));
  assign fire      = run_q && out_free && rd_ok;
  assign chunk_end = aborting || is_last;
  assign early_d   = fire && ended && AvW'(total) > avail;

  // The reader clamps an overrun, and ignores rd_consume with rd_done. A chunk without a stream
  // must not touch the reader: the words there belong to the next chunk.
  assign rd_consume = (fire && !nostream_q) ? total : '0;
  assign rd_done    = fire && chunk_end && !nostream_q;

  // Descriptors: taken while idle, or on the last step of the running chunk (back to back).
  ws_pkg::tans_desc_head_t d_head;
  logic [3:0]           d_log;
  logic                 d_nostream;
  logic [CountBits-1:0] d_count;
  logic                 desc_take;
  logic                 d_bad;
  ws_pkg::tans_err_e    d_err;

  assign d_head       = desc_data_i[HeadBits-1:0];
  assign d_log        = d_head.table_log;
  assign d_nostream   = d_head.no_stream;
  assign d_count      = desc_data_i[HeadBits +: CountBits];
  assign desc_ready_o = !cfg_valid_i && (!run_q || (fire && chunk_end));
  assign desc_take    = desc_valid_i && desc_ready_o;
  assign start        = desc_take && d_count != '0;  // a chunk of 0 symbols has nothing to do

  always_comb begin
    logic [15:0] hi_mask;  // state bits at and above the table log
    hi_mask = 16'hffff << d_log;
    d_bad   = d_log < 4'(ws_pkg::TANS_MIN_TABLE_LOG) || d_log > 4'(ML);
    for (int j = 0; j < K; j++) begin
      if ((desc_data_i[StateAt + SB*j +: SB] & hi_mask) != '0) d_bad = 1'b1;
    end
  end
  assign d_err = !loaded_q ? ws_pkg::TANS_ERR_NO_TABLE : d_bad ? ws_pkg::TANS_ERR_BAD_DESC
                                                         : ws_pkg::TANS_ERR_NONE;

  assign ram_re = start || fire;

  always_comb begin
    run_d      = run_q;
    rem_d      = rem_q;
    nostream_d = nostream_q;
    abort_d    = early_cont_q ? ws_pkg::TANS_ERR_ENDS_EARLY : abort_q;
    if (fire && chunk_end) begin
      run_d   = 1'b0;
      abort_d = ws_pkg::TANS_ERR_NONE;
    end else if (fire) begin
      rem_d = rem_q - CountBits'(K);
    end
    if (start) begin
      run_d      = 1'b1;
      rem_d      = d_count;
      nostream_d = d_nostream;
      abort_d    = d_err;
    end
  end

  // Final check, one cycle after the last step: the new states of the lanes that stepped, the
  // states of those that did not, and the bits after the last field.
  assign fin_chk_d  = fire && is_last && !aborting;
  assign left_bad_d = !ended || avail - AvW'(total) > AvW'(rd_pad);
  always_comb begin
    fin_idle_bad_d = 1'b0;
    for (int j = 0; j < K; j++) begin
      if (!act[j] && state_q[j*ML +: ML] != '0) fin_idle_bad_d = 1'b1;
    end
  end

  logic fin_bad;
  always_comb begin
    fin_bad = fin_idle_bad_q;
    for (int j = 0; j < K; j++) begin
      if (fin_act_q[j] && (!fin_base0_q[j] || fin_field_q[j*ML +: ML] != '0)) fin_bad = 1'b1;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Output register
  always_comb begin
    out_valid_d = out_valid_q;
    out_data_d  = out_data_q;
    out_count_d = out_count_q;
    out_last_d  = out_last_q;
    if (fire) begin
      out_valid_d = 1'b1;
      out_data_d  = syms;
      out_count_d = aborting ? '0 : is_last ? rem_q[CW-1:0] : CW'(K);
      out_last_d  = chunk_end;
    end else if (out_ready_i) begin
      out_valid_d = 1'b0;
    end
  end

  // ---------------------------------------------------------------------------------------------
  // Sticky error. Every error is reported the cycle after it is found; when two meet, the older
  // chunk's goes first, and a stream that ends early hides the checks after its last step.
  ws_pkg::tans_err_e ev;
  assign ev = early_q                                ? ws_pkg::TANS_ERR_ENDS_EARLY
            : (fin_chk_q && fin_bad)                 ? ws_pkg::TANS_ERR_FINAL_STATE
            : (fin_chk_q && left_bad_q)              ? ws_pkg::TANS_ERR_LEFT_OVER
            : start_ev_q != ws_pkg::TANS_ERR_NONE    ? start_ev_q
            : cfg_ev_q                               ? ws_pkg::TANS_ERR_BAD_ENTRY
            : ws_pkg::TANS_ERR_NONE;

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev),
    .err_o,
    .cause_o(err_cause_o)
  );

  // ---------------------------------------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      run_q       <= 1'b0;
      rem_q       <= '0;
      nostream_q  <= 1'b0;
      abort_q     <= ws_pkg::TANS_ERR_NONE;
      early_q     <= 1'b0;
      early_cont_q <= 1'b0;
      start_ev_q  <= ws_pkg::TANS_ERR_NONE;
      cfg_ev_q    <= 1'b0;
      loaded_q    <= 1'b0;
      fin_chk_q   <= 1'b0;
      out_valid_q <= 1'b0;
    end else begin
      run_q       <= run_d;
      rem_q       <= rem_d;
      nostream_q  <= nostream_d;
      abort_q     <= abort_d;
      early_q     <= early_d;
      early_cont_q <= early_d && !is_last;
      start_ev_q  <= start ? d_err : ws_pkg::TANS_ERR_NONE;
      cfg_ev_q    <= cfg_we && cfg_bad;
      loaded_q    <= loaded_q || cfg_we;
      fin_chk_q   <= fin_chk_d;
      out_valid_q <= out_valid_d;
    end
  end

  // Datapath registers: no reset.
  always_ff @(posedge clk_i) begin
    if (ram_re) state_q <= raddr;
    fin_field_q    <= field;
    fin_base0_q    <= base0;
    fin_act_q      <= act;
    fin_idle_bad_q <= fin_idle_bad_d;
    left_bad_q     <= left_bad_d;
    out_data_q  <= out_data_d;
    out_count_q <= out_count_d;
    out_last_q  <= out_last_d;
  end

  assign out_valid_o = out_valid_q;
  assign out_data_o  = out_data_q;
  assign out_count_o = out_count_q;
  assign out_last_o  = out_last_q;

  // AXI-Stream rule on the output and, as assumptions about the environment, on the descriptor and
  // configuration inputs (ws_bit_reader checks the words).
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, {out_last_o, out_count_o, out_data_o})
  `WS_ASSERT_STREAM(desc_stable, desc_valid_i, desc_ready_o, desc_data_i)
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_addr_i, cfg_data_i})
  `WS_ASSERT(full_beats, !out_valid_o || out_last_o || out_count_o == CW'(K),
             ("ws_tans_decoder: beat with %0d symbols before the last", out_count_o))
endmodule
`resetall
