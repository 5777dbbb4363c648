`default_nettype none
// ws_dijiang_feature_map: DiJiang's feature map phi(x) = softmax(x P) for one head vector
// (docs/dijiang_hw.md), in fixed point: phi_j = 2^(f_j - max f) / sum_k 2^(f_k - max f) with
// f = x P', P' = P log2(e) loaded through the configuration port, so the exponential is a power of 2:
// an integer shift and a 256-entry table of 2^-r/256 (loaded too). The arithmetic, every rounding
// and its C++ twin: ws::dijiang_features (model/hw/dijiang_feature_map_model.hpp).
//
// One head vector at a time, in phases of fixed length (the cycle model counts the same):
//   LOAD  HeadSize elements x (bf16, in_last on the last), one per transfer, to signed fixed point
//   PROD  f = x P' on Lanes multipliers (ws_dsp_mul), HeadSize / Lanes groups of Lanes features,
//         P' read from block RAM a group row per cycle; exact sums, then f rounded to 8 fraction bits
//   MAX   the largest f, one per cycle
//   EXP   e_j = table[(m - f_j) mod 256] >> ((m - f_j) / 256), and their sum
//   DIV   R = floor(2^33 / sum) by restoring division, a quotient bit per cycle
//   NORM  phi_j = (e_j R + 2^16) >> 17 on one more multiplier
//   OUT   HeadSize transfers of phi (unsigned, 16 fraction bits), out_last on the last
// Configuration writes only between vectors (cfg_ready: LOAD with no element taken yet); they win
// over a first element offered in the same cycle.
module ws_dijiang_feature_map #(
  parameter int HeadSize = 8,  // d: 8, 16, 32 or 64
  parameter int Lanes    = 8   // multipliers of the product: a power of 2, 1 .. HeadSize
) (
  input  wire                                      clk_i,
  input  wire                                      rst_ni,
  // configuration: P'[i][j] (signed) at i * HeadSize + j, table entry r at DIJ_CFG_EXP_BASE + r
  input  wire                                      cfg_valid_i,
  output logic                                     cfg_ready_o,
  input  wire  [ws_pkg::DIJ_CFG_ADDR_BITS-1:0]     cfg_addr_i,
  input  wire  [ws_pkg::DIJ_P_BITS-1:0]            cfg_data_i,
  // the head vector, one bf16 element a transfer
  input  wire                                      in_valid_i,
  output logic                                     in_ready_o,
  input  wire  [15:0]                              in_data_i,
  input  wire                                      in_last_i,
  // the features, one a transfer
  output logic                                     out_valid_o,
  input  wire                                      out_ready_i,
  output logic [ws_pkg::DIJ_PHI_BITS-1:0]          out_data_o,
  output logic                                     out_last_o,
  input  wire                                      err_clear_i,
  output logic                                     err_o,
  output logic [2:0]                               err_cause_o  // ws_pkg::dij_err_e
);
  `include "ws_assert.svh"
  `include "ws_dijiang_bf16_fixed.svh"
  `WS_PARAM_CHECK(g_check_size, (HeadSize == 8 || HeadSize == 16 || HeadSize == 32 || HeadSize == 64)
                  && Lanes >= 1 && Lanes <= HeadSize && (Lanes & (Lanes - 1)) == 0,
                  ("ws_dijiang_feature_map: HeadSize = %0d, Lanes = %0d: need HeadSize 8, 16, 32 or 64 and Lanes a power of 2 up to it",
                   HeadSize, Lanes))

  localparam int XBits    = ws_pkg::DIJ_X_BITS;
  localparam int PBits    = ws_pkg::DIJ_P_BITS;
  localparam int EBits    = ws_pkg::DIJ_EXP_BITS;
  localparam int PhiBits  = ws_pkg::DIJ_PHI_BITS;
  localparam int IdxBits  = $clog2(HeadSize);
  localparam int Groups   = HeadSize / Lanes;
  localparam int GroupBits = Groups > 1 ? $clog2(Groups) : 1;
  localparam int LaneBits = Lanes > 1 ? $clog2(Lanes) : 1;
  localparam int PWords   = HeadSize * Groups;          // P' words of Lanes entries
  localparam int PWordBits = $clog2(PWords);
  localparam int PEntries = HeadSize * HeadSize;
  localparam int PNextBits = $clog2(PEntries) + 1;
  localparam int Entries  = 1 << ws_pkg::DIJ_EXP_INDEX_BITS;
  localparam int ProdBits = XBits + PBits;              // one exact product
  localparam int AccBits  = ProdBits + IdxBits;         // the exact sum of HeadSize products
  localparam int RoundBits = ws_pkg::DIJ_X_FRAC + ws_pkg::DIJ_P_FRAC - ws_pkg::DIJ_EXP_INDEX_BITS;
  localparam int FBits    = AccBits - RoundBits;        // f with 8 fraction bits
  localparam int SumBits  = EBits + IdxBits;
  localparam int QBits    = ws_pkg::DIJ_RECIP_LOG - 15; // 18 quotient bits (the sum is at least 2^16)
  localparam int ProdLen  = PWords + 5;                 // phase lengths in cycles
  localparam int MaxLen   = HeadSize + 1;
  localparam int ExpLen   = HeadSize + 3;
  localparam int NormLen  = HeadSize + 3;
  localparam int CntBits  = $clog2((ProdLen > QBits ? ProdLen : QBits) + 1);

  // LOAD, the busy phases below, OUT: the handshake in ws_dijiang_frame, the busy phases here.
  typedef enum logic [2:0] {S_PROD, S_MAX, S_EXP, S_DIV, S_NORM} phase_e;

  phase_e             state_q;     // the busy phase (S_PROD outside them)
  logic [CntBits-1:0] cnt_q;       // cycle within the phase (0 outside them)
  logic               busy, phase_end, done;
  logic [IdxBits-1:0] idx;         // element index in LOAD, result index in OUT
  phase_e             next_phase;
  always_comb begin
    unique case (state_q)
      S_PROD:  begin phase_end = cnt_q == CntBits'(ProdLen - 1); next_phase = S_MAX;  end
      S_MAX:   begin phase_end = cnt_q == CntBits'(MaxLen - 1);  next_phase = S_EXP;  end
      S_EXP:   begin phase_end = cnt_q == CntBits'(ExpLen - 1);  next_phase = S_DIV;  end
      S_DIV:   begin phase_end = cnt_q == CntBits'(QBits - 1);   next_phase = S_NORM; end
      default: begin phase_end = cnt_q == CntBits'(NormLen - 1); next_phase = S_PROD; end
    endcase
  end
  assign done = busy && state_q == S_NORM && phase_end;

  // -----------------------------------------------------------------------------------------------
  // Configuration: each region loads in address order from its first address (a write to the first
  // address starts it again: the next layer's P'); loaded when its last address is written.
  logic [PNextBits-1:0] p_next_q;
  logic [8:0]           t_next_q;
  logic                 loaded;
  logic                 cfg_fire, cfg_is_p, cfg_is_t, cfg_ok;
  logic [ws_pkg::DIJ_CFG_ADDR_BITS-1:0] t_off;

  assign loaded   = p_next_q == PNextBits'(PEntries) && t_next_q == 9'(Entries);
  assign cfg_fire = cfg_valid_i && cfg_ready_o;
  assign t_off    = cfg_addr_i - ws_pkg::DIJ_CFG_ADDR_BITS'(ws_pkg::DIJ_CFG_EXP_BASE);
  assign cfg_is_p = cfg_addr_i < ws_pkg::DIJ_CFG_ADDR_BITS'(PEntries);
  assign cfg_is_t = cfg_addr_i >= ws_pkg::DIJ_CFG_ADDR_BITS'(ws_pkg::DIJ_CFG_EXP_BASE) &&
                    t_off < ws_pkg::DIJ_CFG_ADDR_BITS'(Entries);
  assign cfg_ok   = cfg_is_p ? (cfg_addr_i == '0 || cfg_addr_i == ws_pkg::DIJ_CFG_ADDR_BITS'(p_next_q))
                  : cfg_is_t ? ((t_off == '0 || t_off == ws_pkg::DIJ_CFG_ADDR_BITS'(t_next_q)) &&
                                cfg_data_i <= PBits'(1 << 16))
                  : 1'b0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      p_next_q <= '0;
      t_next_q <= '0;
    end else if (cfg_fire) begin
      if (cfg_is_p) p_next_q <= cfg_ok ? PNextBits'(cfg_addr_i) + 1'b1 : '0;
      if (cfg_is_t) t_next_q <= cfg_ok ? 9'(t_off) + 1'b1 : '0;
    end
  end

  // P' words: Lanes consecutive entries of a row, assembled as they arrive (in address order).
  logic [Lanes*PBits-1:0] p_word;
  logic                   p_we;
  logic [LaneBits-1:0]    p_lane;

  assign p_lane = Lanes > 1 ? LaneBits'(cfg_addr_i) : '0;
  assign p_we   = cfg_fire && cfg_is_p && cfg_ok && p_lane == LaneBits'(Lanes - 1);
  if (Lanes > 1) begin : g_assemble
    logic [(Lanes-1)*PBits-1:0] p_part_q;
    always_ff @(posedge clk_i) begin
      for (int l = 0; l < Lanes - 1; l++)
        if (cfg_fire && cfg_is_p && p_lane == LaneBits'(l)) p_part_q[l*PBits +: PBits] <= cfg_data_i;
    end
    assign p_word = {cfg_data_i, p_part_q};
  end else begin : g_single
    assign p_word = cfg_data_i;
  end

  logic [PWordBits-1:0]   p_raddr;
  logic [Lanes*PBits-1:0] p_rdata;
  ws_bram_sdp #(.AddrBits(PWordBits), .Width(Lanes * PBits)) u_p_ram (
    .clk_i, .we_i(p_we), .waddr_i(PWordBits'(cfg_addr_i >> (Lanes > 1 ? LaneBits : 0))),
    .wdata_i(p_word), .ce_i(1'b1), .raddr_i(p_raddr), .rdata_o(p_rdata));

  logic [ws_pkg::DIJ_EXP_INDEX_BITS-1:0] t_raddr;
  logic [EBits-1:0]                      t_rdata;
  ws_bram_sdp #(.AddrBits(ws_pkg::DIJ_EXP_INDEX_BITS), .Width(EBits)) u_exp_table (
    .clk_i, .we_i(cfg_fire && cfg_is_t && cfg_ok), .waddr_i(t_off[ws_pkg::DIJ_EXP_INDEX_BITS-1:0]),
    .wdata_i(EBits'(cfg_data_i)), .ce_i(1'b1), .raddr_i(t_raddr), .rdata_o(t_rdata));

  // -----------------------------------------------------------------------------------------------
  // LOAD: bf16 to signed fixed point with DIJ_X_FRAC fraction bits, round to nearest even; a value
  // not finite or of magnitude 512 or more saturates and raises DIJ_ERR_RANGE.
  logic             in_take;
  logic             x_range_err;
  logic [XBits-1:0] x_fixed;


  // The element is registered first and converted the cycle after (the conversion's shift, rounding
  // and negation are a stage of their own); PROD reads x[d - 1] no earlier than d - 1 cycles later.
  // The range test is one compare of the exponent, on the element as it arrives.
  logic [15:0]        x_raw_q;
  logic [IdxBits-1:0] x_idx_q;
  logic               x_we_q, unused_x_range;
  assign x_range_err = in_data_i[14:7] >= 8'd136;
  assign {unused_x_range, x_fixed} = dij_bf16_fixed(x_raw_q);

  logic [XBits-1:0] x_q [HeadSize];
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) x_we_q <= 1'b0;
    else x_we_q <= in_take;
  end
  always_ff @(posedge clk_i) begin
    x_raw_q <= in_data_i;
    x_idx_q <= idx;
    if (x_we_q) x_q[x_idx_q] <= x_fixed;
  end

  // -----------------------------------------------------------------------------------------------
  // PROD: cycle c reads P' word (row i, group g) with c = g HeadSize + i and x[i]; the products
  // arrive 4 cycles later and are summed exactly; at a group's last row the sums are rounded
  // (half up) to 8 fraction bits into f the next cycle.
  logic [IdxBits-1:0]   prod_i_q;
  logic [GroupBits-1:0] prod_g_q;
  logic                 prod_issue;
  logic [4:0]           pv_q, plast_q;   // stage s: bit s - 1
  logic [3:0]           pfirst_q;
  logic [GroupBits-1:0] pg_q [5];
  logic [XBits-1:0]     xsel_q, xsel2_q;

  assign prod_issue = busy && state_q == S_PROD && cnt_q < CntBits'(PWords);
  assign p_raddr    = Groups > 1 ? PWordBits'({prod_i_q, prod_g_q[GroupBits-1:0]}) : PWordBits'(prod_i_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      prod_i_q <= '0;
      prod_g_q <= '0;
      pv_q     <= '0;
    end else begin
      if (prod_issue) begin
        prod_i_q <= prod_i_q + 1'b1;
        if (prod_i_q == IdxBits'(HeadSize - 1)) prod_g_q <= Groups > 1 ? prod_g_q + 1'b1 : '0;
      end else if (!busy || state_q != S_PROD) begin
        prod_i_q <= '0;
        prod_g_q <= '0;
      end
      pv_q <= {pv_q[3:0], prod_issue};
    end
  end

  always_ff @(posedge clk_i) begin
    pfirst_q <= {pfirst_q[2:0], prod_i_q == '0};
    plast_q  <= {plast_q[3:0], prod_i_q == IdxBits'(HeadSize - 1)};
    pg_q[0]  <= prod_g_q;
    for (int s = 1; s < 5; s++) pg_q[s] <= pg_q[s - 1];
    xsel_q   <= x_q[prod_i_q];
    xsel2_q  <= xsel_q;
  end

  // f_flat[j * FBits +: FBits] is f_j; lane l holds the features j = g Lanes + l.
  logic [HeadSize*FBits-1:0] f_flat;
  for (genvar l = 0; l < Lanes; l++) begin : g_lane
    logic signed [ProdBits-1:0] prod;
    logic signed [AccBits-1:0]  acc_q;
    logic [FBits-1:0]           f_round;
    logic [RoundBits-1:0]       unused_round;  // below f's 8 fraction bits
    logic [FBits-1:0]           f_q [Groups];
    ws_dsp_mul #(.Width(18)) u_mul (
      .clk_i, .a_i(xsel2_q), .b_i(p_rdata[l*PBits +: PBits]), .p_o(prod));
    assign {f_round, unused_round} = acc_q + AccBits'(1 << (RoundBits - 1));  // floor of the shift
    always_ff @(posedge clk_i) begin
      if (pv_q[3]) acc_q <= (pfirst_q[3] ? AccBits'(0) : acc_q) + AccBits'(prod);
      if (pv_q[4] && plast_q[4]) f_q[pg_q[4]] <= f_round;
    end
    for (genvar g = 0; g < Groups; g++) begin : g_group
      assign f_flat[(g*Lanes + l)*FBits +: FBits] = f_q[g];
    end
  end

  // -----------------------------------------------------------------------------------------------
  // MAX and EXP read f one per cycle (cnt); MAX keeps the largest, EXP turns each into e.
  logic signed [FBits-1:0] fsel_q, max_q;
  logic                    mv_q, mfirst_q;
  logic                    read_f;

  assign read_f = busy && (state_q == S_MAX || state_q == S_EXP) && cnt_q < CntBits'(HeadSize);
  always_ff @(posedge clk_i) begin
    fsel_q   <= f_flat[cnt_q[IdxBits-1:0]*FBits +: FBits];
    mv_q     <= read_f && state_q == S_MAX;
    mfirst_q <= cnt_q == '0;
    if (mv_q && (mfirst_q || fsel_q > max_q)) max_q <= fsel_q;
  end

  // EXP: t = m - f >= 0 with 8 fraction bits; 2^-t = table[t mod 256] >> (t / 256), 0 from 17 on.
  logic [FBits:0]       t_diff;
  logic [2:0]           ev_q;
  logic [IdxBits-1:0]   eidx_q [3];
  logic [4:0]           eshift_q [2];
  logic [EBits-1:0]     e_q [HeadSize];  // e, then phi in place
  logic [SumBits-1:0]   sum_q;
  logic [EBits-1:0]     e_new;

  assign t_diff  = (FBits + 1)'(max_q) - (FBits + 1)'(fsel_q);
  assign t_raddr = t_diff[7:0];
  assign e_new   = eshift_q[1] > 5'd16 ? '0 : t_rdata >> eshift_q[1];

  always_ff @(posedge clk_i) begin
    ev_q        <= {ev_q[1:0], read_f && state_q == S_EXP};
    eidx_q[0]   <= cnt_q[IdxBits-1:0];
    eidx_q[1]   <= eidx_q[0];
    eidx_q[2]   <= eidx_q[1];
    eshift_q[0] <= t_diff[FBits:8] > (FBits - 7)'(16) ? 5'd31 : 5'(t_diff[FBits:8]);
    eshift_q[1] <= eshift_q[0];
    if (state_q == S_MAX) sum_q <= '0;
    else if (ev_q[2]) sum_q <= sum_q + SumBits'(e_new);
  end

  // DIV: restoring division of 2^33 by the sum, quotient bits 17 .. 0 (the bits above are 0 as the
  // sum is at least 2^16 with the table's T[0] = 2^16); R saturates at 2^17 - 1 (the one-hot case).
  logic [SumBits-1:0] rem_q;
  logic [SumBits:0]   rem2;
  logic [SumBits-1:0] rem_sub;
  logic               quot_bit;
  logic [QBits-1:0]   quot_q;
  logic [17:0]        recip;

  assign rem2     = {rem_q, 1'b0};
  assign quot_bit = rem2 >= (SumBits + 1)'(sum_q);
  assign rem_sub  = rem2[SumBits-1:0] - sum_q;  // the bit above is 0 where it is taken
  assign recip = quot_q[QBits-1] ? 18'h1FFFF : 18'(quot_q);
  always_ff @(posedge clk_i) begin
    if (state_q == S_EXP) begin
      rem_q  <= SumBits'(1 << (ws_pkg::DIJ_RECIP_LOG - QBits));
      quot_q <= '0;
    end else if (state_q == S_DIV) begin
      rem_q  <= quot_bit ? rem_sub : rem2[SumBits-1:0];
      quot_q <= {quot_q[QBits-2:0], quot_bit};
    end
  end

  // NORM: phi_j = (e_j R + 2^16) >> 17, written over e_j; 3 cycles from the read to the write.
  logic [EBits-1:0]   esel_q;
  logic [2:0]         nv_q;
  logic [IdxBits-1:0] nidx_q [3];
  logic signed [35:0] norm_prod;
  logic [PhiBits-1:0] norm_phi;
  logic [1:0]         unused_norm_hi;  // 0: e R + 2^16 < 2^33
  logic [16:0]        unused_norm_lo;

  ws_dsp_mul #(.Width(18)) u_norm_mul (
    .clk_i, .a_i(18'(esel_q)), .b_i(recip), .p_o(norm_prod));
  assign {unused_norm_hi, norm_phi, unused_norm_lo} = 36'(norm_prod) + 36'(1 << 16);

  always_ff @(posedge clk_i) begin
    esel_q    <= e_q[cnt_q[IdxBits-1:0]];
    nv_q      <= {nv_q[1:0], busy && state_q == S_NORM && cnt_q < CntBits'(HeadSize)};
    nidx_q[0] <= cnt_q[IdxBits-1:0];
    nidx_q[1] <= nidx_q[0];
    nidx_q[2] <= nidx_q[1];
    if (ev_q[2]) e_q[eidx_q[2]] <= e_new;
    else if (nv_q[2]) e_q[nidx_q[2]] <= norm_phi;
  end

  // -----------------------------------------------------------------------------------------------
  // The busy phases, the handshake and the errors.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= S_PROD;
      cnt_q   <= '0;
    end else if (busy) begin
      cnt_q <= phase_end ? '0 : cnt_q + 1'b1;
      if (phase_end) state_q <= next_phase;
    end
  end

  assign out_data_o = e_q[idx];
  ws_dijiang_frame #(.HeadSize(HeadSize)) u_frame (
    .clk_i, .rst_ni, .cfg_valid_i, .cfg_ready_o, .cfg_bad_i(!cfg_ok), .in_valid_i, .in_ready_o, .in_last_i,
    .in_ok_i(loaded), .in_range_i(x_range_err), .in_take_o(in_take), .busy_o(busy), .done_i(done),
    .out_valid_o, .out_ready_i, .out_last_o, .idx_o(idx), .err_clear_i, .err_o, .err_cause_o);

  `WS_ASSERT_STREAM(a_out_stream, out_valid_o, out_ready_i, {out_data_o, out_last_o})
  `WS_ASSERT(a_sum_fits, !(state_q == S_DIV) || sum_q <= SumBits'(HeadSize << 16),
             ("ws_dijiang_feature_map: sum %0d above HeadSize 2^16", sum_q))
endmodule
`resetall
