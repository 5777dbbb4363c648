`default_nettype none
// ws_value_path: the weight pipeline's value path alone, ws_tans_decoder -> register slice ->
// ws_num_unpacker, with one configuration port. A synthesis top (synth/blocks.json `value_path`):
// issue 12's iCE40 figure of "decoder and unpacker as one design". It has no bench of its own: the two
// blocks and the slice are each checked by theirs, and ws_weight_pipeline, which wires them the same
// way (plus its abort-beat hold and error ordering), by tb/weight_pipeline.
//
// cfg_addr_i = {unpacker, bank, offset}: unpacker 1 writes the unpacker (offset[8:0]: its address),
// else the decoder's table bank `bank`, entry offset[MaxTableLog-1:0].
module ws_value_path #(
  parameter int Lanes       = 4,  // symbols per beat: 1, 2, 4 or 8
  parameter int MaxTableLog = 8,  // the decoder's table banks: 2**MaxTableLog entries each
  parameter int CountBits   = 32
) (
  input  wire                               clk_i,
  input  wire                               rst_ni,
  input  wire                               cfg_valid_i,
  output logic                              cfg_ready_o,
  input  wire  [(MaxTableLog > 9 ? MaxTableLog : 9)+1:0] cfg_addr_i,  // {unpacker, bank, offset}
  input  wire  [23:0]                       cfg_data_i,
  input  wire                               desc_valid_i,
  output logic                              desc_ready_o,
  input  wire  [ws_pkg::TANS_DESC_HEAD_BITS+CountBits-1:0] desc_data_i,
  input  wire  [2*Lanes-1:0]                in_valid_i,
  output logic [2*Lanes-1:0]                in_ready_o,
  input  wire  [32*Lanes-1:0]               in_data_i,
  input  wire  [2*Lanes-1:0]                in_last_i,
  input  wire                               raw_valid_i,
  output logic                              raw_ready_o,
  input  wire  [ws_pkg::raw_word_bits(Lanes)-1:0] raw_data_i,  // 32 bits, 64 at 8 lanes
  input  wire                               raw_last_i,
  output logic                              out_valid_o,
  input  wire                               out_ready_i,
  output logic [32*Lanes-1:0]               out_data_o,
  output logic [$clog2(Lanes+1)-1:0]        out_count_o,
  output logic                              out_last_o,
  input  wire                               err_clear_i,
  output logic                              err_o,
  output logic [3:0]                        err_cause_o  // {1: unpacker / 0: decoder, its cause}
);
  localparam int AddrBits = MaxTableLog > 9 ? MaxTableLog : 9;
  localparam int CW       = $clog2(Lanes + 1);

  logic                   sel_u, d_cfg_ready, u_cfg_ready, d_err, u_err;
  logic [2:0]             d_cause, u_cause;
  logic                   d_valid, d_ready, d_last, s_valid, s_ready, s_last;
  logic [8*Lanes-1:0]     d_data, s_data;
  logic [CW-1:0]          d_count, s_count;

  assign sel_u       = cfg_addr_i[AddrBits+1];
  assign cfg_ready_o = sel_u ? u_cfg_ready : d_cfg_ready;

  ws_tans_decoder #(
    .Lanes      (Lanes),
    .MaxTableLog(MaxTableLog),
    .CountBits  (CountBits)
  ) u_dec (
    .clk_i,
    .rst_ni,
    .cfg_valid_i (cfg_valid_i && !sel_u),
    .cfg_ready_o (d_cfg_ready),
    .cfg_bank_i  (cfg_addr_i[AddrBits]),
    .cfg_addr_i  (cfg_addr_i[MaxTableLog-1:0]),
    .cfg_data_i  (cfg_data_i),
    .desc_valid_i,
    .desc_ready_o,
    .desc_data_i,
    .in_valid_i,
    .in_ready_o,
    .in_data_i,
    .in_last_i,
    .out_valid_o (d_valid),
    .out_ready_i (d_ready),
    .out_data_o  (d_data),
    .out_count_o (d_count),
    .out_last_o  (d_last),
    .err_clear_i,
    .err_o       (d_err),
    .err_cause_o (d_cause)
  );

  ws_skid_buffer #(.Width(1 + CW + 8 * Lanes)) u_slice (
    .clk_i,
    .rst_ni,
    .in_valid_i (d_valid),
    .in_ready_o (d_ready),
    .in_data_i  ({d_last, d_count, d_data}),
    .out_valid_o(s_valid),
    .out_ready_i(s_ready),
    .out_data_o ({s_last, s_count, s_data})
  );

  ws_num_unpacker #(.Lanes(Lanes)) u_unp (
    .clk_i,
    .rst_ni,
    .cfg_valid_i(cfg_valid_i && sel_u),
    .cfg_ready_o(u_cfg_ready),
    .cfg_addr_i (cfg_addr_i[8:0]),
    .cfg_data_i (cfg_data_i[20:0]),
    .sym_valid_i(s_valid),
    .sym_ready_o(s_ready),
    .sym_data_i (s_data),
    .sym_count_i(s_count),
    .sym_last_i (s_last),
    .raw_valid_i,
    .raw_ready_o,
    .raw_data_i,
    .raw_last_i,
    .out_valid_o,
    .out_ready_i,
    .out_data_o,
    .out_count_o,
    .out_last_o,
    .err_clear_i,
    .err_o      (u_err),
    .err_cause_o(u_cause)
  );

  // Both flags are sticky; the decoder's (upstream) cause wins when both are up.
  assign err_o       = d_err || u_err;
  assign err_cause_o = d_err ? {1'b0, d_cause} : {u_err, u_cause};
endmodule
`resetall
