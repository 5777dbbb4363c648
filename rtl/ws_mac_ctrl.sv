`default_nettype none
// ws_mac_ctrl: control shared by ws_sparse_mac_array and ws_dense_mac_array (docs/mac_array.md
// section 3): configuration, the double-buffered activation buffer (one block RAM per column of a
// beat, two banks) and its loading through the permutation table, the weight handshake, the
// schedule of the free-running datapath (ws_mac_row), the output credit and the sticky error.
//
// Activations: x[i] goes to the column j that reads it (j = perm^-1[i], the table holds the inverse
// permutation: a perm write "perm[j] = i" stores j at address i), so a weight beat reads one row of
// every column RAM, in order. Loading runs ahead of the weights: a vector fills the bank the weights
// do not read, and the bank becomes readable once its last value is written.
// Weights: beat b of a row is accepted when its bank is loaded and, for a row's last beat, when
// the result queue has room (credits) and the previous row's end is at least P/2 cycles back (the
// combine reads one pair of partial sums per cycle). The column RAMs are read at the offered beat's
// address, straight from the beat counter (no handshake in the address path); their data meets the
// beat, delayed by two registers (S1, S2), in S2.
module ws_mac_ctrl #(
  parameter int Cols    = 8,    // activation columns per weight beat (a power of two, >= 2)
  parameter int Lanes   = 4,    // multipliers per row (the tree depth sets the schedule)
  parameter int MaxK    = 256,  // longest row (a power of two, >= 2 * Cols, <= 8192)
  parameter int UsePerm = 1,    // 1: through the permutation table (sparse array); 0: x[j]
  parameter int FifoDepth = 16  // the result queue's entries (its output register adds one)
) (
  input  wire                       clk_i,
  input  wire                       rst_ni,
  // Configuration writes: CTRL (address 0) and perm[j] (address MaxK + j)
  input  wire                       cfg_valid_i,
  output logic                      cfg_ready_o,
  input  wire  [$clog2(MaxK):0]     cfg_addr_i,
  input  wire  [31:0]               cfg_data_i,
  // Activations, x[0] first, act_last_i on the final one
  input  wire                       act_valid_i,
  output logic                      act_ready_o,
  input  wire  [15:0]               act_data_i,
  input  wire                       act_last_i,
  // Weight-stream handshake (the data goes to the array)
  input  wire                       w_valid_i,
  output logic                      w_ready_o,
  input  wire                       w_last_i,
  input  wire                       w_meta_bad_i,  // the beat on w_data carries invalid metadata
  // The result queue's output handshake (a result taken frees its credit)
  input  wire                       out_valid_i,
  input  wire                       out_ready_i,
  // Sticky error: the first cause since reset or the last err_clear_i pulse
  input  wire                       err_clear_i,
  output logic                      err_o,
  output logic [2:0]                err_cause_o,   // ws_pkg::mac_err_e
  // To the datapath
  output logic [Cols*16-1:0]        x_cols_o,      // during S2: the activations of the beat in S2
  output logic                      s2_int_o,      // during S2: its mode, 1 INT8
  output logic [15:0]               rd_hot_o,      // ws_mac_row's schedule (see there), one cycle
                                                   // ahead: each row registers it beside its selects;
                                                   // per partial sum k: the read is of k (decoded,
                                                   // none for a row's first P beats: +0)
  output logic                      wr_en_o,
  output logic [15:0]               wr_hot_o,      // per partial sum k: the write is to k (decoded)
  output logic [2:0]                cmb_pair_o,
  output logic [1:0]                cmb_zero_o,
  output logic                      push_o,        // the rows' results go into the queue
  output logic                      push_last_o    // ... the matrix's final row block
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_cols, Cols >= 2 && Cols == 2 ** $clog2(Cols),
                  ("ws_mac_ctrl: Cols = %0d, must be a power of two >= 2", Cols))
  `WS_PARAM_CHECK(g_check_max_k, MaxK >= 2 * Cols && MaxK <= 8192 && MaxK == 2 ** $clog2(MaxK),
                  ("ws_mac_ctrl: MaxK = %0d, must be a power of two, %0d .. 8192", MaxK, 2 * Cols))

  localparam int KW      = $clog2(MaxK);
  localparam int LogCols = $clog2(Cols);
  localparam int Beats   = MaxK / Cols;            // most beats per row
  localparam int BW      = $clog2(Beats);          // beat counter
  localparam int RBW     = $clog2(Beats + 1);      // row_beats register
  localparam int P       = ws_pkg::MAC_ACC_PARTIALS;
  localparam int ADD     = ws_pkg::MAC_ADD_STAGES;
  localparam int MUL     = ws_pkg::MAC_MUL_STAGES;
  // The schedule, in cycles after the one that accepts a beat (docs/mac_array.md section 3): S1,
  // S2 (the column RAMs' data), S3 (the activation select), the multipliers, the tree, the partial
  // sum's read (its select at ToRead), its adder.
  localparam int ToRead  = 3 + MUL + ADD * $clog2(Lanes);  // the partial sum's select (rd_hot)
  localparam int READ    = ws_pkg::MAC_ACC_READ_STAGES;
  localparam int ToWrite = ToRead + READ - 1 + ADD;        // wr_en/wr_hot; a row's end
  localparam int ToPush  = 9 + 4 * ADD;                    // after a row's end: its result
  localparam int Credits = FifoDepth + 1;

  // ---------------------------------------------------------------------------------------------
  // Configuration
  logic             init_done;     // the permutation table holds the identity since reset
  logic             in_vector_q;   // an activation vector has started and not ended
  logic             a1_valid_q;    // an activation in its first stage (its table read)
  logic             cfg_fire, cfg_is_perm, ctrl_bad, perm_bad, cfg_bad, ctrl_we, perm_we;
  logic             mode_q;        // CTRL: 1 BF16
  logic [RBW-1:0]   row_beats_q;
  ws_pkg::mac_ctrl_t ctrl;

  // Configuration waits while an activation vector loads (its table reads must see one table).
  assign cfg_ready_o = init_done && !in_vector_q && !a1_valid_q;
  assign cfg_fire    = cfg_valid_i && cfg_ready_o;
  assign cfg_is_perm = cfg_addr_i[KW];
  assign ctrl        = cfg_data_i;
  logic unused_reserved;  // CTRL bits no mode uses yet
  assign unused_reserved = ^{ctrl_q.reserved, ctrl_q.row_beats[15:RBW]};
  assign ctrl_bad    = (ctrl.row_beats == 16'd0) || ({16'd0, ctrl.row_beats} > Beats);
  assign perm_bad    = (UsePerm == 0) || (cfg_data_i[31:KW] != '0);
  assign cfg_bad     = cfg_is_perm ? perm_bad : ((cfg_addr_i[KW-1:0] != '0) || ctrl_bad);
  assign ctrl_we     = cfg_fire && !cfg_is_perm && !cfg_bad;
  assign perm_we     = cfg_fire && cfg_is_perm && !cfg_bad;

  // A write takes effect from registers one cycle after its transfer: the decode of the offered
  // address and data ends in a flip-flop beside it, and the CTRL registers and the permutation
  // table's write port (enable, address, data) are driven from flip-flops only. Nothing reads the
  // table or CTRL in that cycle (an activation waits for cfg_valid to fall; the one exception, a
  // one-value vector right after a CTRL write, is an error and takes the CTRL before the write, as
  // the cycle model does).
  logic              ctrl_we_q;
  ws_pkg::mac_ctrl_t ctrl_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) ctrl_we_q <= 1'b0;
    else         ctrl_we_q <= ctrl_we;
  end
  always_ff @(posedge clk_i) begin
    if (ctrl_we) ctrl_q <= ctrl;
  end

  // ---------------------------------------------------------------------------------------------
  // Activation loading: act -> A1 (table read) -> A2 -> A3 (j) -> A4 (column write) -> bank loaded
  logic           act_fire, act_overflow, act_short;
  logic [KW-1:0]  act_ptr_q;
  logic [KW-1:0]  act_end_q;               // row_beats * Cols - 1: a vector's last pointer
  logic           load_bank_q;             // the bank the next vector fills
  logic [1:0]     loaded_q, pending_q;     // per bank: readable / its last value on its way
  logic [1:0]     bank_mode_q;
  logic [2*BW-1:0] bank_last_q;            // per bank: its rows' last beat (row_beats - 1)
  logic [1:0]     bank_single_q;           // per bank: its rows have one beat
  logic [1:0]     bank_two_q;              // per bank: its rows have two beats
  logic           row_single_q;            // CTRL's row_beats is 1
  logic           row_two_q;               // CTRL's row_beats is 2
  logic [3*KW-1:0] a_ptr_q;                // A1, A2, A3 from the bottom
  logic [47:0]     a_data_q;
  logic [3:1]      a_valid_q, a_last_q, a_bank_q;
  logic [KW-1:0]  a3_j;                    // the column of x[ptr] in A3
  logic           a4_valid_q, a4_last_q, a4_bank_q;
  logic           a5_last_q, a5_bank_q;    // a vector's last value was written: its bank is loaded
  logic [Cols-1:0] a4_col_q;
  logic [BW:0]    a4_row_q;                // {bank, row}
  logic [15:0]    a4_data_q;

  assign act_ready_o  = init_done && !loaded_q[load_bank_q] && !pending_q[load_bank_q] &&
                        !cfg_valid_i;  // configuration first
  assign act_fire     = act_valid_i && act_ready_o;
  assign act_overflow = !act_last_i && (act_ptr_q == KW'(MaxK - 1));  // the pointer wraps to 0
  // A vector must fill every column the rows read: row_beats * Cols values. An equality with the
  // end kept beside CTRL (no adder between act_last_i and the error cause).
  assign act_short    = act_last_i && (act_ptr_q != act_end_q);
  assign a1_valid_q   = a_valid_q[1];

  // The permutation table: identity after reset (a sweep of MaxK cycles), then perm writes.
  if (UsePerm != 0) begin : g_perm
    logic [KW-1:0] init_q;
    logic          init_done_q;
    logic [KW-1:0] tbl_j;
    logic          tbl_we_q;                 // the table's write port, one cycle after the write
    logic [KW-1:0] tbl_waddr_q, tbl_wdata_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        init_q      <= '0;
        init_done_q <= 1'b0;
        tbl_we_q    <= 1'b0;
      end else begin
        if (!init_done_q) begin
          init_q      <= init_q + KW'(1);
          init_done_q <= init_q == KW'(MaxK - 1);
        end
        tbl_we_q <= !init_done_q || perm_we;
      end
    end
    always_ff @(posedge clk_i) begin
      tbl_waddr_q <= init_done_q ? cfg_data_i[KW-1:0] : init_q;
      tbl_wdata_q <= init_done_q ? cfg_addr_i[KW-1:0] : init_q;
    end
    // The sweep's last write lands one cycle after init_done_q rises: the first table read (A1)
    // comes two cycles after it at the earliest.
    ws_bram_sdp #(.AddrBits(KW), .Width(KW)) u_table (
      .clk_i  (clk_i),
      .we_i   (tbl_we_q),
      .waddr_i(tbl_waddr_q),
      .wdata_i(tbl_wdata_q),
      .ce_i   (1'b1),
      .raddr_i(a_ptr_q[KW-1:0]),
      .rdata_o(tbl_j)
    );
    assign init_done = init_done_q;
    assign a3_j      = tbl_j;
    logic unused_a3_ptr;  // the table gives the column; the pointer stops at A1
    assign unused_a3_ptr = ^a_ptr_q[3*KW-1:KW];
  end else begin : g_direct
    logic unused_perm;  // no table: a perm write is an error and its data goes nowhere
    assign unused_perm = ^{perm_we, cfg_data_i[KW-1:0]};
    assign init_done   = 1'b1;
    assign a3_j        = a_ptr_q[2*KW +: KW];
  end

  always_ff @(posedge clk_i) begin
    a_ptr_q  <= {a_ptr_q[2*KW-1:0], act_ptr_q};
    a_data_q <= {a_data_q[31:0], act_data_i};
    for (int c = 0; c < Cols; c++) a4_col_q[c] <= a3_j[LogCols-1:0] == LogCols'(c);
    a4_row_q  <= {a_bank_q[3], a3_j[KW-1:LogCols]};
    a4_data_q <= a_data_q[47:32];
  end

  // ---------------------------------------------------------------------------------------------
  // The column RAMs: column c holds x[perm[beat * Cols + c]] of both banks at {bank, beat}.
  logic [BW:0] col_raddr;
  for (genvar c = 0; c < Cols; c++) begin : g_col
    ws_bram_sdp #(.AddrBits(BW + 1), .Width(16)) u_col (
      .clk_i  (clk_i),
      .we_i   (a4_valid_q && a4_col_q[c]),
      .waddr_i(a4_row_q),
      .wdata_i(a4_data_q),
      .ce_i   (1'b1),
      .raddr_i(col_raddr),
      .rdata_o(x_cols_o[16*c +: 16])
    );
  end

  // ---------------------------------------------------------------------------------------------
  // Weights
  logic             stream_bank_q;
  logic [BW-1:0]    beat_q;
  logic             w_fire, row_fire, out_take;
  logic             row_end_q;             // beat_q is the last beat of a row of the stream bank
  logic             pre_q;                 // ... the beat before the last
  logic [BW-1:0]    left_q;                // ... the beats of the row after beat_q (counts down)
  logic             stream_loaded_q;       // loaded_q[stream_bank_q]
  logic             end_ok_q;              // a row may end: a credit is free and the pace allows it
  logic             stream_ready;          // the stream bank turns readable now (A5, its last value)
  logic             next_bank;             // the stream bank after this cycle
  // out_count_q and pace_q take a row's end one cycle late, from the tag register (tag_q[0]), so
  // that the handshake drives only the flags w_ready needs at once and the beat counter; the count
  // takes a result's departure one cycle late too (out_take_q: the queue's output sits far from
  // here). With row_fire_q the row end of the cycle before, the count of results accepted and not
  // yet taken is out_count_q + row_fire_q - out_take_q and the pace is (row_fire_q ? P/2 - 1 :
  // pace_q - 1, floored at 0).
  localparam int CW = $clog2(Credits + 2);
  logic [CW-1:0]          out_count_q;
  logic [$clog2(P/2)-1:0] pace_q;       // cycles until the next row may end, one cycle late
  logic                   row_fire_q, out_take_q;
  logic [CW-1:0]          out_full_at;  // out_count_q when every credit is used (out_take_q counts)
  logic             s1_int_q, s2_int_q;

  // w_ready comes from registers and w_last alone: the row end and the room for a result are kept
  // as flags, each updated from compares of registers (none behind the handshake).
  assign w_ready_o = stream_loaded_q && (!(row_end_q || w_last_i) || end_ok_q);
  assign w_fire    = w_valid_i && w_ready_o;
  assign row_fire  = w_fire && (row_end_q || w_last_i);  // a misplaced w_last still ends the row
  assign out_take  = out_valid_i && out_ready_i;
  assign out_full_at = out_take_q ? CW'(Credits + 1) : CW'(Credits);
  assign stream_ready = a5_last_q && a5_bank_q == stream_bank_q;
  assign next_bank    = (w_fire && w_last_i) ? !stream_bank_q : stream_bank_q;

  // The column RAMs read the offered beat's row, whether or not it is taken this cycle.
  assign col_raddr = {stream_bank_q, beat_q};

  // ---------------------------------------------------------------------------------------------
  // The schedule: per accepted beat a tag travels to the partial sums' read and write; a row's end
  // starts the combine's pair reads there, and its push follows.
  localparam int TagBits = 8;  // {valid, k[3:0], first, row_last, mat_last}
  logic [TagBits-1:0]          tag;
  logic [TagBits*ToWrite-1:0]  tag_q;     // tag_q[i] is the tag of the beat accepted i + 1 cycles ago
  logic                        wr_mat_last;  // the tag ToWrite cycles back: the matrix's last beat
  logic [2*ToPush-1:0]         push_q;    // {valid, last} per cycle after a row's end
  logic [2:0]                  cmb_pair_q, cmb_pair_d;
  logic [3:0]                  cmb_last_q, cmb_last_d;  // the highest partial sum the row reached
  logic [1:0]                  cmb_zero_q;   // registered from the next pair and last: it drives
                                             // the synchronous clears of every row's pair registers
  logic                        row_done;

  assign tag    = {w_fire, 4'(beat_q), 32'(beat_q) < 32'(P), row_fire, w_fire && w_last_i};
  // The row's schedule leaves here one cycle ahead (tags one stage younger) and each row registers
  // it beside the selects it drives; the row end for the pushes is on time.
  logic [7:1]         tag_row;  // the tag the rows' write and combine schedule comes from
  logic               row_done_early;
  logic               tag_pre_end;  // the row end of the tag before tag_row
  assign wr_mat_last = tag_q[TagBits*(ToWrite-1)];
  assign tag_row  = tag_q[TagBits*(ToWrite-2) + 1 +: 7];
  assign tag_pre_end = tag_q[TagBits*(ToWrite-3) + 1];
  assign row_done = tag_q[TagBits*(ToWrite-1) + 7] && tag_q[TagBits*(ToWrite-1) + 1];
  assign row_fire_q = tag_q[1];

  // The pair reads run free (cycling through the pairs); a row's end restarts them at pair 0.
  assign cmb_pair_d = row_done_early ? 3'd0 : cmb_pair_q + 3'd1;
  assign cmb_last_d = !row_done_early ? cmb_last_q
                    : tag_row[2] ? tag_row[6:3] : 4'(P - 1);  // first: the row had beats 0 .. k only

  // The partial sums' write enables, decoded here (a register one cycle ahead of tag_row) and
  // registered again in each row: each drives the clock enables of one partial sum (32 flip-flops
  // per row) straight from a register. The read select likewise, one-hot (an AND-OR read: each
  // select bit drives one LUT per bit of the sum instead of every level of a 16:1 multiplexer).
  logic [7:3]   tag_pre_wr;  // {valid, k} of the tag before tag_row
  logic [6:2]   tag_pre_rd;  // {k, first} of the tag ToRead - 2 cycles back
  logic [P-1:0] wr_hot_q, rd_hot_q;
  assign tag_pre_wr = tag_q[TagBits*(ToWrite-3) + 3 +: 5];
  assign tag_pre_rd = tag_q[TagBits*(ToRead-3) + 2 +: 5];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_hot_q <= '0;
      rd_hot_q <= '0;
    end else begin
      for (int k = 0; k < P; k++) begin
        wr_hot_q[k] <= tag_pre_wr[7] && tag_pre_wr[6:3] == 4'(k);
        rd_hot_q[k] <= !tag_pre_rd[2] && tag_pre_rd[6:3] == 4'(k);
      end
    end
  end
  assign wr_hot_o = wr_hot_q;
  assign rd_hot_o = rd_hot_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tag_q      <= '0;
      push_q     <= '0;
      cmb_pair_q <= '0;
      cmb_last_q <= '0;
      cmb_zero_q <= '0;
      row_done_early <= 1'b0;
    end else begin
      tag_q      <= {tag_q[TagBits*(ToWrite-1)-1:0], tag};
      // tag_row's row end, from its own register: the one behind wr_en_o sits by the rows.
      row_done_early <= tag_pre_wr[7] && tag_pre_end;
      push_q     <= {push_q[2*(ToPush-1)-1:0], row_done, wr_mat_last};
      cmb_pair_q <= cmb_pair_d;
      cmb_last_q <= cmb_last_d;
      cmb_zero_q <= {{1'b0, cmb_pair_d, 1'b1} > {1'b0, cmb_last_d},
                     {1'b0, cmb_pair_d, 1'b0} > {1'b0, cmb_last_d}};
    end
  end

  assign wr_en_o     = tag_row[7];
  assign cmb_pair_o  = cmb_pair_q;
  assign cmb_zero_o  = cmb_zero_q;
  assign push_o      = push_q[2*(ToPush-1) + 1];
  assign push_last_o = push_q[2*(ToPush-1)];
  assign s2_int_o    = s2_int_q;

  // ---------------------------------------------------------------------------------------------
  // Sticky error, lowest cause of the cycle first. Each cause is registered once on its own before
  // the priority and the sticky error (err_o follows the faulty transfer by two cycles, not one): the
  // handshakes that decide them are the array's longest paths otherwise.
  // The weight causes are registered without the handshake (the offered beat's metadata and
  // frame check) and ANDed with the transfer's tag register (tag_q[0]) after it.
  logic [4:1] ev_q;  // per ws_pkg::mac_err_e code: that cause happened in the cycle before
  logic [2:0] ev;    // ws_pkg::mac_err_e
  logic       meta_bad_q, frame_bad_q, cfg_ev_q, act_ev_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      meta_bad_q  <= 1'b0;
      frame_bad_q <= 1'b0;
      cfg_ev_q    <= 1'b0;
      act_ev_q    <= 1'b0;
    end else begin
      meta_bad_q  <= w_meta_bad_i;
      frame_bad_q <= w_last_i && !row_end_q;
      cfg_ev_q    <= cfg_fire && cfg_bad;
      act_ev_q    <= act_fire && (act_overflow || act_short);
    end
  end
  always_comb begin
    ev_q = '0;
    ev_q[ws_pkg::MAC_ERR_META]   = tag_q[7] && meta_bad_q;
    ev_q[ws_pkg::MAC_ERR_FRAME]  = tag_q[7] && frame_bad_q;
    ev_q[ws_pkg::MAC_ERR_CONFIG] = cfg_ev_q;
    ev_q[ws_pkg::MAC_ERR_ACT]    = act_ev_q;
  end

  always_comb begin
    ev = ws_pkg::MAC_ERR_NONE;
    for (int c = 4; c >= 1; c--) if (ev_q[c]) ev = 3'(c);
  end

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev),
    .err_o,
    .cause_o(err_cause_o)
  );

  // ---------------------------------------------------------------------------------------------
  // Control registers
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mode_q        <= 1'b0;
      row_beats_q   <= RBW'(1);
      act_end_q     <= KW'(Cols - 1);
      row_single_q  <= 1'b1;
      in_vector_q   <= 1'b0;
      act_ptr_q     <= '0;
      load_bank_q   <= 1'b0;
      loaded_q      <= '0;
      pending_q     <= '0;
      bank_mode_q   <= '0;
      bank_last_q   <= '0;
      bank_single_q <= '1;
      bank_two_q    <= '0;
      row_two_q     <= 1'b0;
      row_end_q     <= 1'b1;
      pre_q         <= 1'b0;
      left_q        <= '0;
      stream_loaded_q <= 1'b0;
      end_ok_q      <= 1'b1;
      a_valid_q     <= '0;
      a_last_q      <= '0;
      a_bank_q      <= '0;
      a4_valid_q    <= 1'b0;
      a4_last_q     <= 1'b0;
      a4_bank_q     <= 1'b0;
      a5_last_q     <= 1'b0;
      a5_bank_q     <= 1'b0;
      stream_bank_q <= 1'b0;
      beat_q        <= '0;
      out_count_q   <= '0;
      out_take_q    <= 1'b0;
      pace_q        <= '0;
      s1_int_q      <= 1'b0;
      s2_int_q      <= 1'b0;
    end else begin
      if (ctrl_we_q) begin
        mode_q      <= ctrl_q.mode;
        row_beats_q <= ctrl_q.row_beats[RBW-1:0];
        act_end_q   <= KW'({ctrl_q.row_beats[RBW-1:0], LogCols'(0)} - (KW+1)'(1));
        row_single_q <= ctrl_q.row_beats[RBW-1:0] == RBW'(1);
        row_two_q    <= ctrl_q.row_beats[RBW-1:0] == RBW'(2);
      end
      // Activations
      if (act_fire) begin
        act_ptr_q   <= act_last_i ? '0 : act_ptr_q + KW'(1);  // an overflow wraps to 0
        in_vector_q <= !act_last_i;
        if (act_last_i) begin  // the bank takes the vector's configuration and fills up
          load_bank_q                            <= !load_bank_q;
          pending_q[load_bank_q]                 <= 1'b1;
          bank_mode_q[load_bank_q]               <= mode_q;
          bank_last_q[BW*load_bank_q +: BW]      <= BW'(row_beats_q - RBW'(1));
          bank_single_q[load_bank_q]             <= row_single_q;
          bank_two_q[load_bank_q]                <= row_two_q;
        end
      end
      a_valid_q  <= {a_valid_q[2:1], act_fire};
      a_last_q   <= {a_last_q[2:1], act_fire && act_last_i};
      a_bank_q   <= {a_bank_q[2:1], load_bank_q};
      a4_valid_q <= a_valid_q[3];
      a4_last_q  <= a_last_q[3];
      a4_bank_q  <= a_bank_q[3];
      a5_last_q  <= a4_valid_q && a4_last_q;
      a5_bank_q  <= a4_bank_q;
      // A vector's last value was written one cycle ago: its bank is readable (the weights read the
      // column RAMs a cycle before a beat's transfer, never the cycle of a write).
      if (a5_last_q) begin
        loaded_q[a5_bank_q]  <= 1'b1;
        pending_q[a5_bank_q] <= 1'b0;
      end
      // Weights
      if (w_fire) begin
        beat_q <= row_fire ? '0 : beat_q + BW'(1);
        if (w_last_i) begin
          loaded_q[stream_bank_q] <= 1'b0;
          stream_bank_q           <= !stream_bank_q;
        end
      end
      stream_loaded_q <= (a5_last_q && a5_bank_q == next_bank) ? 1'b1
                       : (w_fire && w_last_i) ? loaded_q[!stream_bank_q] : stream_loaded_q;
      // The row-end flags after this cycle, from registers alone (no compare behind the handshake:
      // a down-counter and its flags one beat ahead): a row's first beat after a row end (in the
      // bank that streams then), the beat after the one taken, or the stream bank turning readable
      // (its rows from beat 0). A bank's values may change after the stream switched to it (its
      // vector still loading), but never after it turns readable, which sets the flags again.
      if (row_fire) begin
        left_q    <= bank_last_q[BW*next_bank +: BW];
        row_end_q <= bank_single_q[next_bank];
        pre_q     <= bank_two_q[next_bank];
      end else if (w_fire) begin
        left_q    <= left_q - BW'(1);
        row_end_q <= pre_q;
        pre_q     <= left_q == BW'(2);
      end else if (stream_ready) begin
        left_q    <= bank_last_q[BW*stream_bank_q +: BW];
        row_end_q <= bank_single_q[stream_bank_q];
        pre_q     <= bank_two_q[stream_bank_q];
      end
      // A row may end after this cycle: none ends now or ended in the cycle before (the pace), the
      // pace runs out and a credit is free. A result taken in this cycle frees its credit a cycle
      // later (out_take_q): the queue's output handshake reaches only out_take_q here.
      end_ok_q    <= !row_fire && !row_fire_q && (pace_q <= ($clog2(P/2))'(2))
                     && out_count_q != out_full_at;
      s1_int_q    <= !bank_mode_q[stream_bank_q];
      s2_int_q    <= s1_int_q;
      out_take_q  <= out_take;
      out_count_q <= out_count_q + CW'(row_fire_q) - CW'(out_take_q);
      pace_q      <= row_fire_q ? ($clog2(P/2))'(P/2 - 1) : (pace_q != '0) ? pace_q - 1'b1 : pace_q;
    end
  end

  `WS_ASSERT(credits, !(push_o && out_count_q + CW'(row_fire_q) - CW'(out_take_q) == '0),
             ("ws_mac_ctrl: a result without a credit"))
  // The flags behind w_ready are what they stand for.
  `WS_ASSERT(row_end_flag, !loaded_q[stream_bank_q] ||
                           (left_q == bank_last_q[BW*stream_bank_q +: BW] - beat_q
                            && row_end_q == (left_q == '0) && pre_q == (left_q == BW'(1))),
             ("ws_mac_ctrl: row_end_q, pre_q or left_q is not the row end"))
  `WS_ASSERT(stream_loaded_flag, stream_loaded_q == loaded_q[stream_bank_q],
             ("ws_mac_ctrl: stream_loaded_q is not the stream bank's loaded flag"))
  `WS_ASSERT(end_ok_flag, end_ok_q == (!row_fire_q && pace_q <= ($clog2(P/2))'(1)
                                       && out_count_q != CW'(Credits)),
             ("ws_mac_ctrl: end_ok_q is not the credit and the pace"))
  `WS_ASSERT(row_done_early_copy, row_done_early == (tag_row[7] && tag_row[1]),
             ("ws_mac_ctrl: row_done_early is not tag_row's row end"))
  `WS_ASSERT(wr_hot_onehot, wr_hot_q == (tag_row[7] ? P'(1) << tag_row[6:3] : P'(0)),
             ("ws_mac_ctrl: wr_hot_o is not the decoded write"))
  `WS_ASSERT(rd_hot_onehot, !tag_q[TagBits*(ToRead-2) + 7] ||  // a beat's read (the others are unused)
                            rd_hot_q == (tag_q[TagBits*(ToRead-2) + 2] ? P'(0)
                                         : P'(1) << tag_q[TagBits*(ToRead-2) + 3 +: 4]),
             ("ws_mac_ctrl: rd_hot_o is not the decoded read"))
endmodule
`resetall
