`default_nettype none
// ws_dijiang_frame: the handshake both DiJiang units share (docs/dijiang_hw.md sections 4 and 6). A
// unit takes HeadSize elements (LOAD), works (BUSY, until its done_i), then gives HeadSize results
// (OUT). Configuration writes only between vectors: cfg_ready in LOAD before the first element; a
// configuration write wins over a first element offered in the same cycle. An element the unit
// cannot take (in_ok_i low: not configured) is consumed and dropped. Vectors are framed by count.
// Errors, in priority: the unit's bad configuration write, an element dropped, in_last on the wrong
// element, the unit's range error; the first since reset or the last clear is held.
module ws_dijiang_frame #(
  parameter int HeadSize = 8  // elements a vector, and results
) (
  input  wire                         clk_i,
  input  wire                         rst_ni,
  input  wire                         cfg_valid_i,
  output logic                        cfg_ready_o,
  input  wire                         cfg_bad_i,    // the offered write is refused
  input  wire                         in_valid_i,
  output logic                        in_ready_o,
  input  wire                         in_last_i,
  input  wire                         in_ok_i,      // the offered element can be taken
  input  wire                         in_range_i,   // the offered element is out of range
  output logic                        in_take_o,    // an element is taken, index idx_o
  output logic                        busy_o,       // from the cycle after the last element's
  input  wire                         done_i,       // the last busy cycle
  output logic                        out_valid_o,
  input  wire                         out_ready_i,
  output logic                        out_last_o,
  output logic [$clog2(HeadSize)-1:0] idx_o,        // element index in LOAD, result index in OUT
  input  wire                         err_clear_i,
  output logic                        err_o,
  output logic [2:0]                  err_cause_o   // ws_pkg::dij_err_e
);
  localparam int IdxBits = $clog2(HeadSize);

  typedef enum logic [1:0] {S_LOAD, S_BUSY, S_OUT} state_e;
  state_e             state_q;
  logic [IdxBits-1:0] idx_q;
  logic               in_fire, last_idx;

  assign idx_o       = idx_q;
  assign last_idx    = idx_q == IdxBits'(HeadSize - 1);
  assign cfg_ready_o = state_q == S_LOAD && idx_q == '0;
  assign in_ready_o  = state_q == S_LOAD && !(idx_q == '0 && cfg_valid_i);
  assign in_fire     = in_valid_i && in_ready_o;
  assign in_take_o   = in_fire && in_ok_i;
  assign busy_o      = state_q == S_BUSY;
  assign out_valid_o = state_q == S_OUT;
  assign out_last_o  = out_valid_o && last_idx;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= S_LOAD;
      idx_q   <= '0;
    end else begin
      unique case (state_q)
        S_LOAD: if (in_take_o) begin
          idx_q <= idx_q + 1'b1;  // wraps to 0 after the last
          if (last_idx) state_q <= S_BUSY;
        end
        S_BUSY: if (done_i) state_q <= S_OUT;
        default: if (out_ready_i) begin
          idx_q <= idx_q + 1'b1;
          if (last_idx) state_q <= S_LOAD;
        end
      endcase
    end
  end

  logic [2:0] cause;
  always_comb begin
    cause = ws_pkg::DIJ_ERR_NONE;
    if (cfg_valid_i && cfg_ready_o && cfg_bad_i) cause = ws_pkg::DIJ_ERR_CONFIG;
    else if (in_fire && !in_ok_i) cause = ws_pkg::DIJ_ERR_NOT_LOADED;
    else if (in_fire && in_last_i != last_idx) cause = ws_pkg::DIJ_ERR_FRAME;
    else if (in_fire && in_range_i) cause = ws_pkg::DIJ_ERR_RANGE;
  end

  ws_sticky_error #(.CauseBits(3)) u_err (
    .clk_i, .rst_ni, .clear_i(err_clear_i), .cause_i(cause), .err_o, .cause_o(err_cause_o));
endmodule
`resetall
