`default_nettype none
// ws_num_unpacker: turns class symbols (from ws_tans_decoder, Lanes per beat) and the raw bit stream
// of the same chunks into numbers: fp32 bit patterns, or int32 for integer formats (docs/numfmt.md).
//
// Each symbol's entry in the format table says how many raw bits follow it and what they mean. The
// table sits in Lanes copies of a 256-entry ws_bram_sdp, one read port per lane, written together
// through the configuration port. Pipeline, one beat per cycle while the raw words keep up:
//   R0  the RAMs' address registers hold the beat's symbols
//   R1  the RAMs' output registers hold the beat's entries
//   R2  the entries in fabric registers, an inactive lane's raw width 0: the routing from the RAMs
//       gets a cycle of its own (ce freezes R0, R1 and R2 together)
//   A   each lane's raw width and the raw-bit prefix sum inside its group of 4 lanes, the beat's
//       raw bits (the groups' sums, as inactive lanes are 0 wide); unknown symbols. A is
//       the output register of a ws_skid_buffer: the RAMs' ce and sym_ready_o come from its
//       registered ready, not from the stall chain behind it.
//   P   each lane's fraction width, lsb and end offset (the prefix sum across groups) and the beat's
//       raw bits.
//       The beat waits here until the bit reader holds that many bits of the chunk (or its last
//       word), then takes them: the reader's words (its ring rotated by whole words) are
//       registered into W, and each lane's start and end offsets with the reader's bit offset added
//   W   the registered words; the first step of every lane's cut into V: the bytes from its
//       field's first byte (30 bits) and the byte holding its raw sign
//   V   the second step into X: the field from its first bit (a shift by 0..7) and masked, the sign
//   X   ws_num_convert's input register: per lane the fraction and sign, and what the plan
//       alone decides (mask and range flags, the shift and exponent of an implicit-one number)
//   C   ws_num_convert's middle register: leading zeros, shift amount and exponent; then the shift
//   OUT output register: a ws_skid_buffer's, so out_ready_i reaches only its registers and the
//       stall chain inside starts from a register (docs/numfmt.md section 6)
// (The words are registered before the fields are cut, and the cut takes two steps: the reader's
// word rotation and a per-lane 128:1 selection each were the critical path in one cycle. The
// rotation by the reader's bit offset is no stage of its own: it is added to the lanes' offsets, so
// the per-lane cut does both.)
// One output beat per symbol beat, same count and last. After an error every beat leaves with count 0
// and every raw word is dropped until the error is cleared (err_clear_i, or reset), so neither stream
// can hang. Clear it between chunks, once the raw words sent so far have been taken: the raw stream
// resumes with the next chunk's words.
module ws_num_unpacker #(
  parameter int Lanes = 4  // symbols per beat: 1, 2, 4 or 8
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,
  // Configuration: address 0..255 writes the table entry of that symbol (ws_pkg::unp_entry_t),
  // address ws_pkg::UNP_CFG_MODE the mode (bit 0: int32 output). Ready while the pipeline is empty.
  input  wire                         cfg_valid_i,
  output logic                        cfg_ready_o,
  input  wire  [8:0]                  cfg_addr_i,
  input  wire  [20:0]                 cfg_data_i,
  // Class symbols, lane 0 in the low byte; sym_count_i of them are valid; last ends a chunk
  input  wire                         sym_valid_i,
  output logic                        sym_ready_o,
  input  wire  [8*Lanes-1:0]          sym_data_i,
  input  wire  [$clog2(Lanes+1)-1:0]  sym_count_i,
  input  wire                         sym_last_i,
  // Raw-stream words of ws_pkg::raw_word_bits(Lanes) bits (32, 64 at 8 lanes), `last` on the final
  // word of each chunk's raw stream (a chunk whose symbols take no raw bits has no raw words)
  input  wire                         raw_valid_i,
  output logic                        raw_ready_o,
  input  wire  [ws_pkg::raw_word_bits(Lanes)-1:0] raw_data_i,
  input  wire                         raw_last_i,
  // Numbers, lane 0 in the low word; lanes at and above out_count_o are 0
  output logic                        out_valid_o,
  input  wire                         out_ready_i,
  output logic [32*Lanes-1:0]         out_data_o,
  output logic [$clog2(Lanes+1)-1:0]  out_count_o,
  output logic                        out_last_o,
  // Sticky error: the first cause since reset or the last err_clear_i pulse
  input  wire                         err_clear_i,
  output logic                        err_o,
  output logic [2:0]                  err_cause_o  // ws_pkg::unp_err_e
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_lanes, Lanes == 1 || Lanes == 2 || Lanes == 4 || Lanes == 8,
                  ("ws_num_unpacker: Lanes = %0d, must be 1, 2, 4 or 8", Lanes))

  localparam int K           = Lanes;
  localparam int WordBits    = ws_pkg::raw_word_bits(Lanes);
  localparam int StepBits    = K * 24;  // most raw bits one beat takes
  localparam int PreW        = $clog2(StepBits + 1);
  localparam int CW          = $clog2(K + 1);
  localparam int WinBits     = StepBits + WordBits - 1;  // the reader's words_o
  localparam int OfsW        = $clog2(WinBits);  // a bit offset in words_o
  localparam int BufferWords = 2 ** $clog2((WinBits + WordBits - 1) / WordBits + 1);
  localparam int AvW         = $clog2(BufferWords * WordBits + 1);
  localparam int PadW        = $clog2(WordBits);
  localparam int EntryBits   = ws_pkg::UNP_ENTRY_BITS;
  localparam int Groups      = (K + 3) / 4;  // the prefix sum: inside groups of 4 lanes in A, across them in P
  localparam int EndLsb      = 32;         // where a lane's end offset starts in its plan
  localparam int PlanBits    = PreW + EndLsb;  // A, P, W per lane: {end[PreW-1:0], scale[9:0], lsb[10:0],
                                               //   frac_bits[4:0], raw_sign, minus, implicit, cls[2:0]}

  // ---------------------------------------------------------------------------------------------
  // Registers
  logic                  mode_int_q;
  logic                  r0_valid_q;
  logic [CW-1:0]         r0_count_q;
  logic                  r0_last_q;
  logic                  r1_valid_q;
  logic [CW-1:0]         r1_count_q;
  logic                  r1_last_q;
  logic                  r2_valid_q;
  logic [CW-1:0]         r2_count_q;
  logic                  r2_last_q;
  logic [K*EntryBits-1:0] r2_ent_q;
  logic                  a_valid_q;   // A: the output of the skid buffer u_a_slice
  logic [K*PlanBits-1:0] a_lane_q;    // end: the offset after the lane inside its group
  logic                  a_unknown_q;
  logic [PreW-1:0]       a_raw_bits_q;  // the beat's raw bits: the last active lane's end (0: no lane)
  logic [CW-1:0]         a_count_q;
  logic                  a_last_q;
  logic                  a_in_ready;  // the A slice can take R2's beat (a register)
  logic                  p_valid_q;
  logic [K*PlanBits-1:0] p_lane_q;
  logic [PreW-1:0]       p_need_q;
  logic                  p_need_nz_q;  // p_need_q != 0
  logic                  p_unknown_q;
  logic [CW-1:0]         p_count_q;
  logic                  p_last_q;
  logic                  used_q;      // the current chunk has taken raw bits
  logic                  w_valid_q;
  logic [WinBits-1:0]    w_words_q;   // the reader's words as the beat fired
  logic [K*EndLsb-1:0]   w_lane_q;    // each lane's plan without its end offset
  logic [K*OfsW-1:0]     w_first_q;   // each lane's first bit in w_words_q
  logic [K*OfsW-1:0]     w_end_q;     // and the bit after its last
  logic [23*K-1:0]       w_mask_q;    // each lane's fraction bits
  logic [CW-1:0]         w_count_q;
  logic                  w_last_q;
  logic                  v_valid_q;
  logic [K*EndLsb-1:0]   v_lane_q;
  logic [30*K-1:0]       v_bytes_q;   // each lane's bytes from its field's first one
  logic [3*K-1:0]        v_first_q;   // the field's first bit in them
  logic [8*K-1:0]        v_sbyte_q;   // the byte holding each lane's raw sign
  logic [3*K-1:0]        v_sbit_q;    // the sign's bit in it
  logic [23*K-1:0]       v_mask_q;
  logic [CW-1:0]         v_count_q;
  logic                  v_last_q;
  logic                  x_valid_q;
  logic [CW-1:0]         x_count_q;
  logic                  x_last_q;
  logic                  c_valid_q;   // C's data sits in the ws_num_convert registers
  logic [CW-1:0]         c_count_q;
  logic                  c_last_q;
  logic                  out_in_ready;  // the OUT slice can take C's beat (a register)
  logic                  err_q;       // the sticky error: poisons the pipeline until cleared

  // Handshakes down the pipeline: a stage advances when the next one is free or advancing. The
  // stages' free signals are registers (formed a cycle ahead), so no ready travels from OUT through
  // the stages into the fire and the data enables.
  logic c_adv, c_free, x_adv, x_free, v_adv, v_free, w_adv, w_free, fire, p_free, a_adv, ram_ce;
  logic c_free_q, x_free_q, v_free_q, w_free_q;

  // ---------------------------------------------------------------------------------------------
  // Configuration port and the table RAMs
  logic                 cfg_we, cfg_tab, cfg_bad;
  ws_pkg::unp_entry_t   cfg;
  logic [2:0]           cfg_cls;
  logic [4:0]           cfg_rb;
  logic [1:0]           cfg_sign;
  logic [EntryBits-1:0] cfg_entry;

  assign cfg_ready_o = !r0_valid_q && !r1_valid_q && !r2_valid_q && !a_valid_q && !p_valid_q && !w_valid_q
                    && !v_valid_q && !x_valid_q && !c_valid_q;
  assign cfg_we      = cfg_valid_i && cfg_ready_o;
  assign cfg_tab     = !cfg_addr_i[8];
  assign cfg         = cfg_data_i;
  assign cfg_cls     = cfg.cls;
  assign cfg_rb      = cfg.raw_bits;
  assign cfg_sign    = cfg.sign;
  logic unused_cfg;  // scale and implicit_one go to the RAM unchecked
  assign unused_cfg  = ^{cfg.scale, cfg.implicit_one};
  // What would break the datapath: no class 7 or sign 3, at most 24 raw bits, at most 23 fraction
  // bits, a raw sign needs a raw bit. A bad entry is stored as class none. (Scale ranges are the
  // software's check: Format::custom.)
  assign cfg_bad     = cfg_tab ? (cfg_cls != ws_pkg::UNP_CLASS_NONE
                                  && (cfg_cls == 3'd7 || cfg_sign == 2'd3 || cfg_rb > 5'd24
                                      || (cfg_sign != ws_pkg::UNP_SIGN_RAW && cfg_rb > 5'd23)
                                      || (cfg_sign == ws_pkg::UNP_SIGN_RAW && cfg_rb == 5'd0)))
                               : cfg_addr_i != 9'(ws_pkg::UNP_CFG_MODE);
  assign cfg_entry   = cfg_bad ? '0 : cfg_data_i;

  logic              sym_take;
  logic [K*EntryBits-1:0] ent, ent_act;

  for (genvar j = 0; j < K; j++) begin : g_ram
    ws_bram_sdp #(
      .AddrBits(8),
      .Width   (EntryBits)
    ) u_ram (
      .clk_i,
      .we_i   (cfg_we && cfg_tab),
      .waddr_i(cfg_addr_i[7:0]),
      .wdata_i(cfg_entry),
      .ce_i   (ram_ce),
      .raddr_i(sym_data_i[8*j +: 8]),
      .rdata_o(ent[j*EntryBits +: EntryBits])
    );
  end

  // R1 -> R2: an inactive lane's raw width set to 0 (one LUT after the RAM), so that in A the last
  // active lane's end is a sum, not a pick by the count after the sums.
  always_comb begin
    ent_act = ent;
    for (int j = 0; j < K; j++) begin
      if (CW'(j) >= r1_count_q) ent_act[j*EntryBits + ws_pkg::UNP_ENTRY_RAW_BITS_LSB +: 5] = '0;
    end
  end

  // R1 -> R2 also adds the raw widths in pairs (one adder after the zeroing LUT), so that in R2 -> A
  // every end offset inside a group is one adder from registers (two in series, and the A slice's
  // multiplexer, were the 4-lane unpacker's critical path), and at 8 lanes the beat's raw bits two
  // (three in series were the 8-lane unpacker's).
  localparam int Pairs = (K + 1) / 2;
  logic [Pairs*PreW-1:0] pair_d, r2_pair_q;
  always_comb begin
    for (int i = 0; i < Pairs; i++) begin
      pair_d[i*PreW +: PreW] = PreW'(ent_act[(2*i)*EntryBits + ws_pkg::UNP_ENTRY_RAW_BITS_LSB +: 5])
                             + (2*i + 1 < K ? PreW'(ent_act[((2*i+1) % K)*EntryBits
                                                             + ws_pkg::UNP_ENTRY_RAW_BITS_LSB +: 5]) : '0);
    end
  end
  always_ff @(posedge clk_i) begin
    if (ram_ce) r2_pair_q <= pair_d;
  end
  logic [PreW-1:0] r2_raw_bits;  // the beat's raw bits from R2's pair sums (8 lanes only)
  if (K > 4) begin : g_total8
    assign r2_raw_bits = (r2_pair_q[0 +: PreW] + r2_pair_q[PreW +: PreW])
                       + (r2_pair_q[2*PreW +: PreW] + r2_pair_q[3*PreW +: PreW]);
  end else begin : g_no_total8
    assign r2_raw_bits = '0;
  end

  // ---------------------------------------------------------------------------------------------
  // Bit reader of the raw stream
  logic [WinBits-1:0]  rd_words;
  logic [PadW-1:0]     rd_bit;
  logic [AvW-1:0]      rd_avail;
  logic                rd_ended, rd_skip;
  logic [PadW-1:0]     rd_pad;
  logic [1:0]          rd_consume, rd_load, rd_done;  // bit g: the reader's control if fire is g
  logic [AvW:0]        rd_slack;  // rd_avail - p_need_q while P holds a beat
  logic [K*PlanBits-1:0] plan;  // A's beat as P will hold it
  logic [PreW-1:0]     need;      // its raw bits

  ws_bit_reader #(
    .WordBits   (WordBits),
    .WindowBits (StepBits),
    .MaxConsume (StepBits),
    .BufferWords(BufferWords)
  ) u_reader (
    .clk_i,
    .rst_ni,
    .in_valid_i (raw_valid_i),
    .in_ready_o (raw_ready_o),
    .in_data_i  (raw_data_i),
    .in_last_i  (raw_last_i),
    .words_o    (rd_words),
    .bit_o      (rd_bit),
    .avail_o    (rd_avail),
    .ended_o    (rd_ended),
    .pad_o      (rd_pad),
    .skip_o     (rd_skip),
    .go_i       (fire),
    .consume_i  (p_need_q),
    .consume_en_i(rd_consume),
    .next_consume_i(need),
    .next_load_i(rd_load),
    .slack_o    (rd_slack),
    .done_i     (rd_done)
  );

  // ---------------------------------------------------------------------------------------------
  // R2 -> A: each lane's raw width and sign rule from its entry, the end offsets inside each group of
  // 4 lanes (a two-adder tree), unknown symbols. The fraction width and lsb (a decrement and a
  // subtraction) wait for A -> P: after the RAM's long routing they were the pipeline's critical
  // path. A's plan holds the raw width where P's holds the fraction width, and lsb 0.
  logic [K*PlanBits-1:0] a_lane;
  logic                  a_unknown;
  logic [PreW-1:0]       a_raw_bits;  // the beat's raw bits: the last active lane's end

  always_comb begin
    logic [2:0]      cls;
    logic [1:0]      sgn;
    logic [9:0]      scale;
    logic            act, raw_sign;
    logic [PreW-1:0] rb [K];
    logic [PreW-1:0] ends [K];
    logic [PreW-1:0] pair, pair_hi;
    a_unknown = 1'b0;
    for (int j = 0; j < K; j++) begin
      cls   = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_CLS_LSB +: 3];
      sgn   = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_SIGN_LSB +: 2];
      scale = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_SCALE_LSB +: 10];
      act   = CW'(j) < r2_count_q;
      if (act && cls == ws_pkg::UNP_CLASS_NONE) a_unknown = 1'b1;
      // Inactive lanes are 0 wide (R2): an active lane's end sums only active lanes anyway.
      rb[j] = PreW'(r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_RAW_BITS_LSB +: 5]);
    end
    // Lane j's end inside its group from R2's pair sums: one adder at most.
    for (int j = 0; j < K; j++) begin
      pair    = r2_pair_q[(j / 2 & ~1) * PreW +: PreW];  // the group's first pair
      pair_hi = r2_pair_q[((j / 2) % Pairs) * PreW +: PreW];  // lane j's own pair
      unique case (j & 3)
        0:       ends[j] = rb[j];
        1:       ends[j] = pair;
        2:       ends[j] = pair + rb[j];
        default: ends[j] = pair + pair_hi;
      endcase
    end
    // The beat's raw bits, the last active lane's end (here, not in P: there it would come before
    // the reader's slack subtractors). Inactive lanes are 0 wide, so at 8 lanes it is the sum of
    // all widths, with no pick by the count (the pick and an adder in A -> P, in front of the
    // reader's carry chains, were the 8-lane unpacker's critical path), from R2's pair sums.
    a_raw_bits = K > 4 ? r2_raw_bits : ends[K - 1];
    for (int j = 0; j < K; j++) begin
      sgn      = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_SIGN_LSB +: 2];
      scale    = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_SCALE_LSB +: 10];
      cls      = r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_CLS_LSB +: 3];
      raw_sign = sgn == ws_pkg::UNP_SIGN_RAW && rb[j] != '0;  // the sign is the top raw bit
      a_lane[j*PlanBits +: PlanBits] = {ends[j], scale, 11'd0, 5'(rb[j]), raw_sign,
                                        sgn == ws_pkg::UNP_SIGN_MINUS,
                                        r2_ent_q[j*EntryBits + ws_pkg::UNP_ENTRY_IMPLICIT_ONE_LSB], cls};
    end
  end

  ws_skid_buffer #(.Width(K * PlanBits + PreW + 2 + CW)) u_a_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (r2_valid_q),
    .in_ready_o (a_in_ready),
    .in_data_i  ({a_lane, a_raw_bits, a_unknown, r2_count_q, r2_last_q}),
    .out_valid_o(a_valid_q),
    .out_ready_i(p_free),
    .out_data_o ({a_lane_q, a_raw_bits_q, a_unknown_q, a_count_q, a_last_q})
  );

  // A -> P: each lane's fraction width and lsb, the end offsets across groups (one adder: group 1
  // adds group 0's total) and the beat's total

  always_comb begin
    logic [PreW-1:0] base;
    logic [4:0]      rbits, fb;
    logic [9:0]      scale;
    plan = a_lane_q;
    // Each lane's fraction width (the raw width less a raw sign) and lsb = scale - frac_bits.
    for (int j = 0; j < K; j++) begin
      rbits = a_lane_q[j*PlanBits + 6 +: 5];
      scale = a_lane_q[j*PlanBits + 22 +: 10];
      fb    = a_lane_q[j*PlanBits + 5] ? rbits - 5'd1 : rbits;
      plan[j*PlanBits + 6 +: 5]  = fb;
      plan[j*PlanBits + 11 +: 11] = {scale[9], scale} - {6'd0, fb};
    end
    for (int g = 1; g < Groups; g++) begin
      base = a_lane_q[(4*g-1)*PlanBits + EndLsb +: PreW];
      for (int j = 4*g; j < 4*g + 4; j++) begin
        plan[j*PlanBits + EndLsb +: PreW] = a_lane_q[j*PlanBits + EndLsb +: PreW] + base;
      end
    end
  end

  // The beat's raw bits, summed in A
  assign need = a_raw_bits_q;

  // P -> W: each lane's offsets in the reader's words, the reader's bit offset added (one adder
  // from registers each; lane j starts at the end of lane j-1, at most 24 j after the bit offset),
  // and the mask of its fraction bits.
  logic [K*OfsW-1:0] first_d, end_d;
  logic [K*EndLsb-1:0] lane_d;
  logic [23*K-1:0] mask_d;
  always_comb begin
    logic [PreW-1:0] prev;  // the end of the lane below
    prev = '0;
    for (int j = 0; j < K; j++) begin
      first_d[j*OfsW +: OfsW]    = OfsW'(rd_bit) + OfsW'(prev);
      prev                       = p_lane_q[j*PlanBits + EndLsb +: PreW];
      end_d[j*OfsW +: OfsW]      = OfsW'(rd_bit) + OfsW'(prev);
      lane_d[j*EndLsb +: EndLsb] = p_lane_q[j*PlanBits +: EndLsb];
      mask_d[23*j +: 23]         = ~(23'h7fffff << p_lane_q[j*PlanBits + 6 +: 5]);
    end
  end

  // W -> V -> X: each lane's fraction and sign from the registered words, in two steps. Lane j's
  // field lies in their low WordBits - 1 + 24 (j+1) bits. W -> V: the 30 bits from the field's first
  // byte and the byte holding the raw sign, the lane's last bit (bit `end` of the words shifted up
  // by one).
  // V -> X: the shift by the bits below the first byte, the mask. X is the input register of each
  // lane's ws_num_convert, which also takes what the plan alone decides.
  logic [30*K-1:0] bytes_d;
  logic [8*K-1:0]  sbyte_d;
  logic [23*K-1:0] frac_d;
  logic [K-1:0]    neg_d;

  for (genvar j = 0; j < K; j++) begin : g_cut
    localparam int Top = WordBits - 1 + 24 * (j + 1);
    localparam int P0  = j * EndLsb;  // the lane's plan in w_lane_q and v_lane_q
    logic [OfsW-4:0]     first_b, last_b;  // the byte of the first bit, and of the sign
    logic [22:0]         field;
    logic [7:0]          sbyte;
    assign first_b = w_first_q[j*OfsW + 3 +: OfsW - 3];
    assign last_b  = w_end_q[j*OfsW + 3 +: OfsW - 3];
    assign bytes_d[30*j +: 30] = 30'(w_words_q[Top-1:0] >> {first_b, 3'd0});
    assign sbyte_d[8*j +: 8]   = 8'(({w_words_q[Top-1:0], 1'b0}) >> {last_b, 3'd0});
    assign field = 23'(v_bytes_q[30*j +: 30] >> v_first_q[3*j +: 3]);
    assign frac_d[23*j +: 23]  = field & v_mask_q[23*j +: 23];
    assign sbyte               = v_sbyte_q[8*j +: 8];
    assign neg_d[j]            = v_lane_q[P0 + 5] ? sbyte[v_sbit_q[3*j +: 3]] : v_lane_q[P0 + 4];
  end

  // The cut's bit offsets inside the bytes, as V holds them
  logic [3*K-1:0] first_lo, sbit_lo;
  always_comb begin
    for (int j = 0; j < K; j++) begin
      first_lo[3*j +: 3] = w_first_q[j*OfsW +: 3];
      sbit_lo[3*j +: 3]  = w_end_q[j*OfsW +: 3];
    end
  end

  logic           rd_ok, rd_short, runs_out, null_beat, used_now, left_bad;
  logic [2:0]     ev;  // ws_pkg::unp_err_e

  // Each stage's free signal is a function of registers only (its own and later stages' valid and
  // the OUT slice's registered ready), so it is formed for the next cycle and registered: the chain
  // OUT ready -> C, X, V, W free, which fanned out into the fire and several hundred enables, was
  // the unpacker's critical path (docs/numfmt.md section 6, "Re-cut 7"). Same values every cycle.
  assign c_free    = c_free_q;
  assign x_free    = x_free_q;
  assign v_free    = v_free_q;
  assign w_free    = w_free_q;
  assign c_adv     = c_valid_q && out_in_ready;
  assign x_adv     = x_valid_q && c_free;
  assign v_adv     = v_valid_q && x_free;
  assign w_adv     = w_valid_q && v_free;
  // Fire when the chunk's bits are in the window, or its last word is (no more bits will come).
  // The reader keeps rd_avail - p_need_q in a register: the test is its sign, not a compare.
  assign rd_short  = rd_slack[AvW];
  assign rd_ok     = !rd_skip && (!rd_short || rd_ended);
  assign fire      = p_valid_q && w_free && (err_q || p_unknown_q || rd_ok);
  assign p_free    = !p_valid_q || fire;
  assign a_adv     = a_valid_q && p_free;
  // R0, R1 and R2 move together (the RAM's ce): whenever R2 is empty or the A slice has room, all
  // three, so the stall chain from OUT to P never reaches the RAMs or sym_ready_o.
  assign ram_ce    = !r2_valid_q || a_in_ready;
  assign runs_out  = rd_ended && rd_short;
  assign null_beat = err_q || p_unknown_q || runs_out;
  assign used_now  = used_q || p_need_nz_q;
  assign left_bad  = !rd_ended || rd_slack[AvW-1:0] > AvW'(rd_pad);  // not short when it counts
  // The beat's error as if it fired (from registers) and the configuration's; the fire, which
  // comes late, picks (the left-over compare and the priority after the fire were the iCE40's
  // critical path).
  logic [2:0] ev_beat, ev_cfg;  // ws_pkg::unp_err_e
  always_comb begin
    ev_beat = ws_pkg::UNP_ERR_NONE;
    if (!err_q) begin
      if (p_unknown_q)                         ev_beat = ws_pkg::UNP_ERR_UNKNOWN;
      else if (runs_out)                       ev_beat = ws_pkg::UNP_ERR_RUNS_OUT;
      else if (p_last_q && used_now && left_bad) ev_beat = ws_pkg::UNP_ERR_LEFT_OVER;
    end
    ev_cfg = cfg_we && cfg_bad ? ws_pkg::UNP_ERR_BAD_CFG : ws_pkg::UNP_ERR_NONE;
    ev     = fire && ev_beat != ws_pkg::UNP_ERR_NONE ? ev_beat : ev_cfg;
  end

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i,
    .rst_ni,
    .clear_i(err_clear_i),
    .cause_i(ev),
    .err_o  (err_q),
    .cause_o(err_cause_o)
  );

  // The reader's controls without and with the fire, which only picks one there (it comes late).
  // Consume as the beat fires; load the next amount as A moves to P.
  assign rd_consume = {!null_beat, 1'b0};
  assign rd_load    = {a_valid_q, a_valid_q && !p_valid_q};
  // End the chunk's raw stream after its last beat; a chunk that took no bits has no raw words.
  // After an error, end every chunk the reader holds words of, so that it drops every word; but not
  // one that has none yet: its words may belong to a chunk after the clear.
  logic err_drain;
  assign err_drain  = rd_avail != '0 || rd_ended;
  assign rd_done    = {err_q ? err_drain : null_beat || (p_last_q && used_now), err_q && err_drain};

  // Symbols enter R0 when the RAM's read pipeline moves; a table write has the RAMs to itself.
  assign sym_ready_o = ram_ce && !cfg_valid_i;
  assign sym_take    = sym_valid_i && sym_ready_o;

  // ---------------------------------------------------------------------------------------------
  // W -> X -> C -> OUT: conversion (X and C are ws_num_convert's registers)
  logic [32*K-1:0] words;
  for (genvar j = 0; j < K; j++) begin : g_conv
    localparam int P0 = j * EndLsb;  // the lane's plan in v_lane_q
    logic [31:0] w;
    ws_num_convert u_conv (
      .clk_i,
      .in_en_i    (x_free),
      .mid_en_i   (c_free),
      .int_mode_i (mode_int_q),
      .cls_i      (v_lane_q[P0 +: 3]),
      .neg_i      (neg_d[j]),
      .implicit_i (v_lane_q[P0 + 3]),
      .scale_i    (v_lane_q[P0 + 22 +: 10]),
      .lsb_i      (v_lane_q[P0 + 11 +: 11]),
      .frac_bits_i(v_lane_q[P0 + 6 +: 5]),
      .frac_i     (frac_d[23*j +: 23]),
      .word_o     (w)
    );
    assign words[32*j +: 32] = CW'(j) < c_count_q ? w : 32'd0;
  end

  // The free signals' next values from the stages' next valid bits and the OUT slice's next ready
  // (its spare register empties when its output may load, fills when C's beat arrives while it may
  // not).
  logic w_valid_d, v_valid_d, x_valid_d, c_valid_d, out_ready_d;
  logic c_free_d, x_free_d, v_free_d, w_free_d;
  assign w_valid_d   = fire || (w_valid_q && !w_adv);
  assign v_valid_d   = w_adv || (v_valid_q && !v_adv);
  assign x_valid_d   = v_adv || (x_valid_q && !x_adv);
  assign c_valid_d   = x_adv || (c_valid_q && !c_adv);
  assign out_ready_d = !out_valid_o || out_ready_i || (out_in_ready && !c_valid_q);
  assign c_free_d    = !c_valid_d || out_ready_d;
  assign x_free_d    = !x_valid_d || c_free_d;
  assign v_free_d    = !v_valid_d || x_free_d;
  assign w_free_d    = !w_valid_d || v_free_d;

  // ---------------------------------------------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      mode_int_q  <= 1'b0;
      r0_valid_q  <= 1'b0;
      r1_valid_q  <= 1'b0;
      r2_valid_q  <= 1'b0;
      p_valid_q   <= 1'b0;
      used_q      <= 1'b0;
      w_valid_q   <= 1'b0;
      v_valid_q   <= 1'b0;
      x_valid_q   <= 1'b0;
      c_valid_q   <= 1'b0;
      c_free_q    <= 1'b1;
      x_free_q    <= 1'b1;
      v_free_q    <= 1'b1;
      w_free_q    <= 1'b1;
    end else begin
      if (cfg_we && !cfg_tab && !cfg_bad) mode_int_q <= cfg_data_i[0];
      if (ram_ce) begin
        r0_valid_q <= sym_take;
        r1_valid_q <= r0_valid_q;
        r2_valid_q <= r1_valid_q;
      end
      p_valid_q   <= a_adv || (p_valid_q && !fire);
      if (fire) used_q <= !p_last_q && used_now;
      w_valid_q   <= w_valid_d;
      v_valid_q   <= v_valid_d;
      x_valid_q   <= x_valid_d;
      c_valid_q   <= c_valid_d;
      c_free_q    <= c_free_d;
      x_free_q    <= x_free_d;
      v_free_q    <= v_free_d;
      w_free_q    <= w_free_d;
    end
  end

  // Datapath registers: no reset.
  always_ff @(posedge clk_i) begin
    if (ram_ce) begin
      r0_count_q <= sym_count_i;
      r0_last_q  <= sym_last_i;
      r1_count_q <= r0_count_q;
      r1_last_q  <= r0_last_q;
      r2_ent_q   <= ent_act;
      r2_count_q <= r1_count_q;
      r2_last_q  <= r1_last_q;
    end
    if (a_adv) begin
      p_lane_q    <= plan;
      p_need_q    <= need;
      p_need_nz_q <= need != '0;
      p_unknown_q <= a_unknown_q;
      p_count_q   <= a_count_q;
      p_last_q    <= a_last_q;
    end
    // W loads whenever it is free, not only as P fires: a W left empty holds data nobody reads, and
    // the fire (late, from the stall chain and the reader) keeps off these 400-odd enables.
    if (w_free) begin
      w_words_q  <= rd_words;
      w_lane_q   <= lane_d;
      w_first_q  <= first_d;
      w_end_q    <= end_d;
      w_mask_q   <= mask_d;
      w_count_q  <= null_beat ? '0 : p_count_q;
      w_last_q   <= p_last_q;
    end
    // V, X and C load whenever free, as W (a stage left empty holds data nobody reads): the enables
    // are the registered free signals themselves.
    if (v_free) begin
      v_lane_q  <= w_lane_q;
      v_bytes_q <= bytes_d;
      v_first_q <= first_lo;
      v_sbyte_q <= sbyte_d;
      v_sbit_q  <= sbit_lo;
      v_mask_q  <= w_mask_q;
      v_count_q <= w_count_q;
      v_last_q  <= w_last_q;
    end
    if (x_free) begin
      x_count_q <= v_count_q;
      x_last_q  <= v_last_q;
    end
    if (c_free) begin
      c_count_q <= x_count_q;
      c_last_q  <= x_last_q;
    end
  end

  ws_skid_buffer #(.Width(1 + CW + 32 * K)) u_out_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (c_valid_q),
    .in_ready_o (out_in_ready),
    .in_data_i  ({c_last_q, c_count_q, words}),
    .out_valid_o(out_valid_o),
    .out_ready_i(out_ready_i),
    .out_data_o ({out_last_o, out_count_o, out_data_o})
  );

  assign err_o = err_q;

  // AXI-Stream rule on the output and, as assumptions about the environment, on the symbol and
  // configuration inputs (ws_bit_reader checks the raw words).
  `WS_ASSERT_STREAM(out_stable, out_valid_o, out_ready_i, {out_last_o, out_count_o, out_data_o})
  `WS_ASSERT_STREAM(sym_stable, sym_valid_i, sym_ready_o, {sym_last_i, sym_count_i, sym_data_i})
  `WS_ASSERT_STREAM(cfg_stable, cfg_valid_i, cfg_ready_o, {cfg_addr_i, cfg_data_i})
  // The reader's slack is exact while P holds a beat (it loads p_need_q's next value with a_adv).
  `WS_ASSERT(slack_exact, !p_valid_q || rd_slack == {1'b0, rd_avail} - {1'b0, AvW'(p_need_q)},
             ("ws_num_unpacker: reader slack %0d, %0d bits available, %0d needed", rd_slack, rd_avail,
              p_need_q))
  // The registered free signals are the combinational ones they replace.
  `WS_ASSERT(free_exact, {c_free_q, x_free_q, v_free_q, w_free_q}
             == {!c_valid_q || out_in_ready, !x_valid_q || !c_valid_q || out_in_ready,
                 !v_valid_q || !x_valid_q || !c_valid_q || out_in_ready,
                 !w_valid_q || !v_valid_q || !x_valid_q || !c_valid_q || out_in_ready},
             ("ws_num_unpacker: registered free signals %b", {c_free_q, x_free_q, v_free_q, w_free_q}))
  `WS_ASSERT(sym_count_in_range, !sym_valid_i || int'(sym_count_i) <= K,
             ("ws_num_unpacker: symbol beat with count %0d > %0d", sym_count_i, K))
endmodule
`resetall
