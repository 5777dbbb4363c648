`default_nettype none
// ws_bf16_unpacker: the number unpacker of the weight pipeline's one format, bf16
// (docs/numfmt.md section 6.1). Every bf16 symbol is the exponent field and takes 8 raw bits,
// `sign << 7 | mantissa`, so a beat's fields are whole bytes at fixed places in the raw words: no
// format table, no bit reader. It has ws_num_unpacker's ports and contract, so the pipeline can take
// either (ws_weight_pipeline's Bf16Unpacker).
//
// A raw word holds Slots = WordBits / (8 Lanes) beats (1 at 4 and 8 lanes, 2 at 2, 4 at 1): beat i of a
// chunk reads slot i mod Slots of the chunk's word i / Slots. The decoder's beats are full but a chunk's
// last (a partial beat elsewhere is an error of the weight pipeline's top), so that is where the
// general unpacker finds the fields too. The symbol beat and the raw word each pass a ws_skid_buffer
// (sym_ready_o and raw_ready_o are flip-flops), and their outputs are joined into the output's
// ws_skid_buffer; latency 2 from the symbol transfer.
//
// Configuration writes are checked, not stored: an entry at 0..255 must be the bf16 table's
// (Format::builtin("bf16")), the mode at UNP_CFG_MODE fp32 (0); anything else raises cause 4. Always
// ready. Errors as ws_num_unpacker's (ws_pkg::unp_err_e): 1 a beat of a chunk whose raw words ended,
// 3 a word after the chunk's last beat, or a non-zero byte after its last field, 4 a bad
// configuration write; 2 cannot happen (every bf16 symbol is defined). The failing beat of cause 1
// leaves with count 0; a cause-3 beat keeps its numbers. err_o rises two cycles after the failing
// transfer (the causes are registered once); from then on every beat leaves with count 0 and every raw
// word is dropped until err_clear_i (or reset); clear between chunks, once every raw word sent has
// been taken.
module ws_bf16_unpacker #(
  parameter int Lanes = 4  // symbols per beat: 1, 2, 4 or 8
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,
  input  wire                         cfg_valid_i,
  output logic                        cfg_ready_o,
  input  wire  [8:0]                  cfg_addr_i,
  input  wire  [20:0]                 cfg_data_i,
  input  wire                         sym_valid_i,
  output logic                        sym_ready_o,
  input  wire  [8*Lanes-1:0]          sym_data_i,
  input  wire  [$clog2(Lanes+1)-1:0]  sym_count_i,
  input  wire                         sym_last_i,
  input  wire                         raw_valid_i,
  output logic                        raw_ready_o,
  input  wire  [ws_pkg::raw_word_bits(Lanes)-1:0] raw_data_i,
  input  wire                         raw_last_i,
  output logic                        out_valid_o,
  input  wire                         out_ready_i,
  output logic [32*Lanes-1:0]         out_data_o,
  output logic [$clog2(Lanes+1)-1:0]  out_count_o,
  output logic                        out_last_o,
  input  wire                         err_clear_i,
  output logic                        err_o,
  output logic [2:0]                  err_cause_o
);
  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_lanes, Lanes == 1 || Lanes == 2 || Lanes == 4 || Lanes == 8,
                  ("ws_bf16_unpacker: Lanes = %0d, must be 1, 2, 4 or 8", Lanes))

  localparam int WordBits  = ws_pkg::raw_word_bits(Lanes);
  localparam int SlotBits  = 8 * Lanes;
  localparam int Slots     = WordBits / SlotBits;
  localparam int SlotW     = Slots > 1 ? $clog2(Slots) : 1;
  localparam int CW        = $clog2(Lanes + 1);
  localparam int OutW      = 32 * Lanes + CW + 1;

  // The bf16 table's entry of symbol s, as Format::builtin("bf16").config_words() has it.
  function automatic logic [20:0] bf16_entry(input logic [7:0] s);
    logic [9:0] scale;
    logic       implicit_one;
    ws_pkg::unp_class_e cls;
    cls          = s == 8'hff ? ws_pkg::UNP_CLASS_INF_NAN : ws_pkg::UNP_CLASS_FINITE;
    implicit_one = s != 8'h00;
    scale        = s == 8'hff ? 10'd0 : s == 8'h00 ? -10'sd126 : 10'({2'b00, s} - 10'd127);
    bf16_entry   = {scale, implicit_one, ws_pkg::UNP_SIGN_RAW, 5'd8, cls};
  endfunction

  // ---- raw words: a register slice, so raw_ready_o is a flip-flop ----
  logic                raw_valid;
  logic                raw_pop;
  logic [WordBits-1:0] raw_word;
  logic                raw_last;
  // nz_from[b]: a byte at or above byte b of the word is non-zero. Formed as the word arrives and kept
  // with it, so the left-over check is one pick by the beat's end, not a compare and a wide AND.
  localparam int WordBytes = WordBits / 8;
  localparam int ByteW     = $clog2(WordBytes + 1);
  logic [WordBytes:0]  nz_from_in, nz_from;
  always_comb begin
    nz_from_in[WordBytes] = 1'b0;
    for (int b = WordBytes - 1; b >= 0; b--) nz_from_in[b] = nz_from_in[b+1] || raw_data_i[8*b +: 8] != 8'h00;
  end

  ws_skid_buffer #(
    .Width(WordBits + WordBytes + 2)
  ) u_raw_slice (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (raw_valid_i),
    .in_ready_o (raw_ready_o),
    .in_data_i  ({nz_from_in, raw_last_i, raw_data_i}),
    .out_valid_o(raw_valid),
    .out_ready_i(raw_pop),
    .out_data_o ({nz_from, raw_last, raw_word})
  );

  // ---- symbol beats: a register slice too, so sym_ready_o is a flip-flop and the decoder side's
  // handshake (the top's error and pass logic) ends at registers, not in the join ----
  // The slice carries "count != 0" as a bit of its own (need_bits), so the join's handshake reads it
  // from a register and not through a compare.
  localparam int SymW = 8 * Lanes + CW + 2;
  logic                sym_valid, sym_last, need_bits, sym_nz_in;
  logic [8*Lanes-1:0]  sym_data;
  logic [CW-1:0]       sym_count;
  logic                fire;  // the join takes the slice's beat

  ws_skid_buffer #(
    .Width(SymW)
  ) u_sym_slice (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (sym_valid_i),
    .in_ready_o (sym_ready_o),
    .in_data_i  ({sym_nz_in, sym_last_i, sym_count_i, sym_data_i}),
    .out_valid_o(sym_valid),
    .out_ready_i(fire),
    .out_data_o ({need_bits, sym_last, sym_count, sym_data})
  );
  assign sym_nz_in = sym_count_i != '0;

  // ---- the join ----
  logic              err, drain;  // the sticky error; its copy for the join (below)
  logic [SlotW-1:0]  slot_q;   // the beat's slot in the current raw word
  logic              ended_q;  // the chunk's raw words ended before its last beat
  logic              open_q;   // the chunk has taken a whole word that was not its last
  logic              out_in_ready;
  logic              last_slot, wants_word, need_word, pop_word;
  logic [SlotBits-1:0] fields;
  logic [ByteW-1:0]    beat_end;  // the byte after the beat's last field

  assign last_slot = Slots == 1 || slot_q == SlotW'(Slots - 1);
  // A beat waits for a word when it has fields to read, or when it ends a chunk whose words have not
  // ended (a count-0 last beat inside a word, or after a whole word without last: the next word is
  // then left over and must raise cause 3, not slip into the next chunk), unless the error or the
  // run-out decides it.
  assign wants_word  = !ended_q && (need_bits || (sym_last && (slot_q != '0 || open_q)));
  assign need_word   = !drain && wants_word;
  assign fire        = sym_valid && out_in_ready && (!need_word || raw_valid);
  assign pop_word    = fire && need_word && (last_slot || sym_last);
  assign raw_pop     = drain ? raw_valid : pop_word;

  assign fields = Slots == 1 ? raw_word[SlotBits-1:0] : raw_word[slot_q * SlotBits +: SlotBits];

  // The bytes after the beat's last field, to the end of its word, must be zero padding.
  assign beat_end = ByteW'(slot_q) * ByteW'(Lanes) + ByteW'(sym_count);

  // Each cause's condition is registered on its own and their priority taken after the register, so
  // the join's handshake and the sticky error reach no error enable and no condition waits for another
  // (placed in the pipeline, those were limiting paths): err_o rises two cycles after the failing
  // transfer, and one more beat may pass meanwhile. The conditions read fire and pop_word without the
  // error (wants_word) and are masked by !err, so the sticky error enters each cone at its end.
  logic       runs_out, left_over, bad_cfg, runs_out_q, left_over_q, bad_cfg_q;
  logic [2:0] cause;  // of the conditions registered last cycle
  assign runs_out  = !err && sym_valid && out_in_ready && ended_q && need_bits;
  assign left_over = !err && sym_valid && out_in_ready && raw_valid && wants_word && sym_last &&
                     (!raw_last || (slot_q == '0 && !need_bits) || nz_from[beat_end]);
  assign bad_cfg   = cfg_valid_i && (cfg_addr_i[8] ? (cfg_addr_i[7:0] != 8'h00 || cfg_data_i != '0)
                                                   : cfg_data_i != bf16_entry(cfg_addr_i[7:0]));

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      runs_out_q  <= 1'b0;
      left_over_q <= 1'b0;
      bad_cfg_q   <= 1'b0;
    end else begin
      runs_out_q  <= runs_out;
      left_over_q <= left_over;
      bad_cfg_q   <= bad_cfg;
    end
  end

  always_comb begin
    cause = ws_pkg::UNP_ERR_NONE;
    if (runs_out_q) cause = ws_pkg::UNP_ERR_RUNS_OUT;
    else if (left_over_q) cause = ws_pkg::UNP_ERR_LEFT_OVER;
    else if (bad_cfg_q) cause = ws_pkg::UNP_ERR_BAD_CFG;
  end

  ws_sticky_error #(
    .CauseBits(3)
  ) u_err (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .clear_i(err_clear_i),
    .cause_i(cause),
    .err_o  (err),
    .cause_o(err_cause_o)
  );
  assign err_o       = err;
  assign cfg_ready_o = 1'b1;

  // drain: a second flip-flop of the same sticky flag (equal to err on every cycle), for the join's
  // handshake and state. err also feeds the causes and the top, so its flip-flop is placed between
  // them; this one is placed at the join (the error's route into the join's readies and clock
  // enables was the pipeline's limiting path). Its own feedback keeps Yosys from merging the two.
  logic cause_any, unused_drain_cause;
  assign cause_any = cause != ws_pkg::UNP_ERR_NONE;
  ws_sticky_error #(
    .CauseBits(1)
  ) u_drain (
    .clk_i  (clk_i),
    .rst_ni (rst_ni),
    .clear_i(err_clear_i),
    .cause_i(cause_any),
    .err_o  (drain),
    .cause_o(unused_drain_cause)  // = drain
  );

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      slot_q  <= '0;
      ended_q <= 1'b0;
      open_q  <= 1'b0;
    end else if (drain || err_clear_i) begin
      slot_q  <= '0;  // after an error the next chunk starts afresh
      ended_q <= 1'b0;
      open_q  <= 1'b0;
    end else if (fire) begin
      if (sym_last) begin
        slot_q  <= '0;
        ended_q <= 1'b0;
        open_q  <= 1'b0;
      end else if (pop_word) begin
        slot_q  <= '0;
        ended_q <= raw_last;
        open_q  <= !raw_last;
      end else if (need_word) begin
        slot_q  <= slot_q + SlotW'(1);
      end
    end
  end

  // ---- numbers: fp32 words, the bf16 pattern {sign, exponent, mantissa} in bits 31:16 ----
  logic [CW-1:0]       out_count;
  logic [32*Lanes-1:0] numbers;
  assign out_count = (drain || ended_q) ? '0 : sym_count;
  always_comb begin
    for (int j = 0; j < Lanes; j++) begin
      numbers[32*j +: 32] = CW'(j) < out_count
          ? {fields[8*j+7], sym_data[8*j +: 8], fields[8*j +: 7], 16'h0000} : 32'h0;
    end
  end

  ws_skid_buffer #(
    .Width(OutW)
  ) u_out_slice (
    .clk_i      (clk_i),
    .rst_ni     (rst_ni),
    .in_valid_i (fire),
    .in_ready_o (out_in_ready),
    .in_data_i  ({sym_last, out_count, numbers}),
    .out_valid_o(out_valid_o),
    .out_ready_i(out_ready_i),
    .out_data_o ({out_last_o, out_count_o, out_data_o})
  );

  `WS_ASSERT_STREAM(sym_stable, sym_valid_i, sym_ready_o, {sym_data_i, sym_count_i, sym_last_i})
  `WS_ASSERT(sym_count_range, !sym_valid_i || int'(sym_count_i) <= Lanes,
             ("ws_bf16_unpacker: sym_count_i = %0d > Lanes", sym_count_i))
endmodule
`resetall
