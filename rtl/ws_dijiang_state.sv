`default_nettype none
// ws_dijiang_state: DiJiang's state update and read-out for one head and token (docs/dijiang_hw.md
// section 6): S <- gamma S + phi(k)^T v, then o = phi(q) S (the token's own key counts), with the
// d x d state of each of Heads heads in block RAM. Wide fixed point: S signed 44 bits with 24
// fraction bits, where phi(k)_i v_j (16 + 8 fraction bits) adds exactly and gamma S is computed as
// S - floor(S delta / 2^22), delta = (1 - gamma) 2^22 per head from configuration; o_j = sum_i phi(q)_i
// S_ij exact, rounded half up to 16 fraction bits (44 bits). C++ twin: ws::dijiang_state_step
// (model/hw/dijiang_state_model.hpp).
//
// Per token and head, in phases of fixed length (the cycle model counts the same):
//   LOAD  HeadSize transfers {phi(k)_i, phi(q)_i, v_i}; head and clear taken from the first
//   RUN   HeadSize^2 + 7 cycles: column j outer, row i inner, one state element a cycle (read,
//         decay, add, write back, multiply by phi(q)_i, accumulate o_j)
//   OUT   HeadSize transfers of o_j (signed, 16 fraction bits), out_last on the last
module ws_dijiang_state #(
  parameter int HeadSize = 8,  // d: 8, 16, 32 or 64
  parameter int Heads    = 8   // heads whose state the unit keeps: 1 .. 64
) (
  input  wire                                  clk_i,
  input  wire                                  rst_ni,
  // configuration: head h's delta = round((1 - gamma_h) 2^22) at address h, 2^13 .. 2^17
  input  wire                                  cfg_valid_i,
  output logic                                 cfg_ready_o,
  input  wire  [ws_pkg::DIJ_CFG_ADDR_BITS-1:0] cfg_addr_i,
  input  wire  [ws_pkg::DIJ_P_BITS-1:0]        cfg_data_i,
  // one element of the token's head: phi(k)_i, phi(q)_i (unsigned, 16 fraction bits) and v_i (bf16)
  input  wire                                  in_valid_i,
  output logic                                 in_ready_o,
  input  wire  [ws_pkg::DIJ_PHI_BITS-1:0]      in_phi_k_i,
  input  wire  [ws_pkg::DIJ_PHI_BITS-1:0]      in_phi_q_i,
  input  wire  [15:0]                          in_v_i,
  input  wire  [5:0]                           in_head_i,   // read with the first element; < Heads
  input  wire                                  in_clear_i,  // with the first element: S from 0 (position 0)
  input  wire                                  in_last_i,
  output logic                                 out_valid_o,
  input  wire                                  out_ready_i,
  output logic [ws_pkg::DIJ_O_BITS-1:0]        out_data_o,
  output logic                                 out_last_o,
  input  wire                                  err_clear_i,
  output logic                                 err_o,
  output logic [2:0]                           err_cause_o  // ws_pkg::dij_err_e
);
  `include "ws_assert.svh"
  `include "ws_dijiang_bf16_fixed.svh"
  `WS_PARAM_CHECK(g_check_size, (HeadSize == 8 || HeadSize == 16 || HeadSize == 32 || HeadSize == 64)
                  && Heads >= 1 && Heads <= 64,
                  ("ws_dijiang_state: HeadSize = %0d, Heads = %0d: need HeadSize 8, 16, 32 or 64, Heads 1 .. 64",
                   HeadSize, Heads))

  localparam int IdxBits  = $clog2(HeadSize);
  localparam int HeadBits = $clog2(Heads > 1 ? Heads : 2);
  localparam int SBits    = ws_pkg::DIJ_S_BITS;                 // 44, 24 fraction bits
  localparam int XBits    = ws_pkg::DIJ_X_BITS;
  localparam int PhiBits  = ws_pkg::DIJ_PHI_BITS;
  localparam int DBits    = ws_pkg::DIJ_P_BITS;                 // delta, unsigned, <= 2^17
  localparam int DecayProdBits = SBits + DBits;
  localparam int OProdBits = SBits + PhiBits + 1;
  localparam int OAccBits  = OProdBits + IdxBits;
  localparam int ORound    = ws_pkg::DIJ_PHI_FRAC + ws_pkg::DIJ_S_FRAC - ws_pkg::DIJ_O_FRAC;  // 24
  localparam int AddrBits = HeadBits + 2 * IdxBits;
  localparam int RunLen   = HeadSize * HeadSize + 7;
  localparam int CntBits  = $clog2(RunLen + 1);

  // LOAD, RUN, OUT: the handshake in ws_dijiang_frame; RUN's cycle count here.
  logic [CntBits-1:0] cnt_q;       // cycle within RUN (0 outside it)
  logic               busy, done;
  logic [IdxBits-1:0] idx;         // element index in LOAD, result index in OUT
  assign done = busy && cnt_q == CntBits'(RunLen - 1);

  // -----------------------------------------------------------------------------------------------
  // Configuration: delta per head, 2^13 .. 2^17 (gamma from 1 - 2^-9 to 1 - 2^-5, DiJiang's range,
  // which bounds |S| below 2^18 + 1 and keeps it in 44 bits).
  logic [DBits-1:0] delta_q [Heads];
  logic [Heads-1:0] loaded_q;
  logic             cfg_fire, cfg_ok;

  assign cfg_fire    = cfg_valid_i && cfg_ready_o;
  assign cfg_ok      = cfg_addr_i < ws_pkg::DIJ_CFG_ADDR_BITS'(Heads) &&
                       cfg_data_i >= DBits'(ws_pkg::DIJ_DELTA_MIN) && cfg_data_i <= DBits'(ws_pkg::DIJ_DELTA_MAX);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) loaded_q <= '0;
    else if (cfg_fire && cfg_ok) loaded_q[HeadBits'(cfg_addr_i)] <= 1'b1;
  end
  always_ff @(posedge clk_i) begin
    if (cfg_fire && cfg_ok) delta_q[HeadBits'(cfg_addr_i)] <= cfg_data_i;
  end

  // -----------------------------------------------------------------------------------------------
  // LOAD: phi(k), phi(q) and v (to fixed point, 8 fraction bits) into register files.
  logic                in_take, head_ok, v_range_err;
  logic [XBits-1:0]    v_fixed;
  logic [HeadBits-1:0] head_q;
  logic                clear_q;
  logic [PhiBits-1:0]  phik_q [HeadSize];
  logic [PhiBits-1:0]  phiq_q [HeadSize];
  logic [XBits-1:0]    v_q [HeadSize];
  logic [5:0]          head;

  assign head       = idx == '0 ? in_head_i : 6'(head_q);
  assign head_ok    = 32'(head) < Heads && loaded_q[head[HeadBits-1:0]];
  // v is converted the cycle after its transfer (RUN reads v[d - 1] no earlier than d - 1 cycles
  // later); the range test is one compare of the exponent, on the element as it arrives.
  logic [15:0]        v_raw_q;
  logic [IdxBits-1:0] v_idx_q;
  logic               v_we_q, unused_v_range;
  assign v_range_err = in_v_i[14:7] >= 8'd136;
  assign {unused_v_range, v_fixed} = dij_bf16_fixed(v_raw_q);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) v_we_q <= 1'b0;
    else v_we_q <= in_take;
  end

  always_ff @(posedge clk_i) begin
    v_raw_q <= in_v_i;
    v_idx_q <= idx;
    if (v_we_q) v_q[v_idx_q] <= v_fixed;
    if (in_take) begin
      phik_q[idx] <= in_phi_k_i;
      phiq_q[idx] <= in_phi_q_i;
      if (idx == '0) begin
        head_q  <= in_head_i[HeadBits-1:0];
        clear_q <= in_clear_i;
      end
    end
  end

  // -----------------------------------------------------------------------------------------------
  // RUN: cycle c = j HeadSize + i reads S_ij; stages (cycle after the read's issue):
  //   1 phi(k)_i, v_j, phi(q)_i selected      2 S_ij out of the RAM      3 S (or 0 on clear)
  //   4 S delta, phi(k)_i v_j   5 S' = S - floor(S delta / 2^22) + phi(k)_i v_j, written back
  //   6 phi(q)_i S'   7 o_j accumulated; at i = d - 1 rounded into o_j the next cycle.
  logic [IdxBits-1:0] run_i_q, run_j_q;
  logic               issue;
  logic [6:0]         rv_q, rlast_q;           // stage s: bit s - 1
  logic [5:0]         rfirst_q;
  logic [IdxBits-1:0] rj_q [7];
  logic [AddrBits-1:0] raddr, waddr_q [5];
  logic [SBits-1:0]   s_rdata;

  assign issue = busy && cnt_q < CntBits'(HeadSize * HeadSize);
  assign raddr = {head_q, run_j_q, run_i_q};

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      run_i_q <= '0;
      run_j_q <= '0;
      rv_q    <= '0;
    end else begin
      if (issue) begin
        run_i_q <= run_i_q + 1'b1;
        if (run_i_q == IdxBits'(HeadSize - 1)) run_j_q <= run_j_q + 1'b1;
      end else begin
        run_i_q <= '0;
        run_j_q <= '0;
      end
      rv_q <= {rv_q[5:0], issue};
    end
  end

  always_ff @(posedge clk_i) begin
    rfirst_q   <= {rfirst_q[4:0], run_i_q == '0};
    rlast_q    <= {rlast_q[5:0], run_i_q == IdxBits'(HeadSize - 1)};
    rj_q[0]    <= run_j_q;
    for (int s = 1; s < 7; s++) rj_q[s] <= rj_q[s - 1];
    waddr_q[0] <= raddr;
    for (int s = 1; s < 5; s++) waddr_q[s] <= waddr_q[s - 1];
  end

  // Stage 1 selects, then phi(k)_i v_j on a DSP (2 cycles: ready in stage 3, registered for stage 4).
  logic [PhiBits-1:0]       pk_q, pq_q [5];
  logic [XBits-1:0]         vj_q;
  logic signed [35:0]       kv;
  logic signed [35:0]       kv4_q;
  always_ff @(posedge clk_i) begin
    pk_q    <= phik_q[run_i_q];
    vj_q    <= v_q[run_j_q];
    pq_q[0] <= phiq_q[run_i_q];
    for (int s = 1; s < 5; s++) pq_q[s] <= pq_q[s - 1];
    kv4_q   <= kv;
  end
  ws_dsp_mul #(.Width(18)) u_kv_mul (.clk_i, .a_i(18'(pk_q)), .b_i(vj_q), .p_o(kv));

  // Stages 3-5: the decay and the update. delta of this head, registered once per token.
  logic signed [SBits-1:0]         s3_q, s4_q, snew_q;
  logic signed [DecayProdBits-1:0] decay4_q;
  logic [DBits-1:0]                delta;
  logic signed [SBits-1:0]         decay_floor;
  logic [ws_pkg::DIJ_DELTA_FRAC-1:0] unused_decay_lo;

  assign delta = delta_q[head_q];
  // |S delta / 2^22| < |S| / 32: its floor fits; the arithmetic shift is the floor.
  assign decay_floor     = SBits'($signed(decay4_q[DecayProdBits-1:ws_pkg::DIJ_DELTA_FRAC]));
  assign unused_decay_lo = decay4_q[ws_pkg::DIJ_DELTA_FRAC-1:0];
  always_ff @(posedge clk_i) begin
    s3_q     <= clear_q ? '0 : s_rdata;
    decay4_q <= s3_q * $signed({1'b0, delta});
    s4_q     <= s3_q;
    snew_q   <= s4_q - decay_floor + SBits'(kv4_q);
  end

  // The state: written back in stage 5, never read in the cycle it is written. (The write address
  // through a plain wire: Yosys 0.23 and 0.70 fail to re-derive the module with an array element on a
  // port of a parameterised instance.)
  logic [AddrBits-1:0] waddr;
  assign waddr = waddr_q[4];
  ws_bram_sdp #(.AddrBits(AddrBits), .Width(SBits)) u_state (
    .clk_i, .we_i(rv_q[4]), .waddr_i(waddr), .wdata_i(snew_q), .ce_i(1'b1), .raddr_i(raddr),
    .rdata_o(s_rdata));

  // Stages 6-7: phi(q)_i S'_ij, accumulated exactly over i; o_j rounded half up.
  logic signed [OProdBits-1:0] oprod_q;
  logic signed [OAccBits-1:0]  oacc_q;
  logic signed [OAccBits-1:0]    o_sum;
  logic [ws_pkg::DIJ_O_BITS-1:0] o_round;
  logic [ORound-1:0]             unused_o_lo;
  logic [ws_pkg::DIJ_O_BITS-1:0] o_q [HeadSize];

  // o_sum >> 24 has at most 44 bits (|S| < 2^43, phi < 2^17, 64 terms): sign-extended, never cut.
  assign o_sum       = oacc_q + OAccBits'(1 << (ORound - 1));
  assign o_round     = ws_pkg::DIJ_O_BITS'($signed(o_sum[OAccBits-1:ORound]));
  assign unused_o_lo = o_sum[ORound-1:0];
  always_ff @(posedge clk_i) begin
    oprod_q <= snew_q * $signed({1'b0, pq_q[4]});
    if (rv_q[5]) oacc_q <= (rfirst_q[5] ? OAccBits'(0) : oacc_q) + OAccBits'(oprod_q);
    if (rv_q[6] && rlast_q[6]) o_q[rj_q[6]] <= o_round;
  end

  // -----------------------------------------------------------------------------------------------
  // RUN's cycle count, the handshake and the errors.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) cnt_q <= '0;
    else if (busy) cnt_q <= done ? '0 : cnt_q + 1'b1;
  end

  assign out_data_o = o_q[idx];
  ws_dijiang_frame #(.HeadSize(HeadSize)) u_frame (
    .clk_i, .rst_ni, .cfg_valid_i, .cfg_ready_o, .cfg_bad_i(!cfg_ok), .in_valid_i, .in_ready_o, .in_last_i,
    .in_ok_i(head_ok),
    .in_range_i(v_range_err || in_phi_k_i > PhiBits'(1 << 16) || in_phi_q_i > PhiBits'(1 << 16)),
    .in_take_o(in_take), .busy_o(busy), .done_i(done), .out_valid_o, .out_ready_i, .out_last_o,
    .idx_o(idx), .err_clear_i, .err_o, .err_cause_o);

  `WS_ASSERT_STREAM(a_out_stream, out_valid_o, out_ready_i, {out_data_o, out_last_o})
endmodule
`resetall
