`default_nettype none
// ws_weight_pipeline_paths: Paths weight pipelines on one activation vector (docs/weight_pipeline.md,
// "Paths: 32 dense weights a cycle"). Each path is a whole ws_weight_pipeline with its own ports
// and streams its own rows of a layer (its own chunks, its own y); the activations arrive once and
// are forked to every path.
//
//   act ─► fork ─┬─► ws_weight_pipeline (path 0: cfg, value/raw/meta streams) ─► y[0], err[0]
//                └─► ws_weight_pipeline (path 1: ...)                          ─► y[1], err[1]
//
// Why paths and not one MAC array of Rows = Paths: the paths stall apart (a path whose decoder
// waits for its state ports does not stop the others), so the top's rate is the sum of the paths'
// rates, not the slowest path's beat by beat; every block, the cycle model and its bench stay as
// they are; and the MAC array at Rows 2 is twice the LUTs of Rows 1 anyway (docs/synth.md).
// The fork (a PULP common_cells stream_fork, rewritten) offers x to every path that has not taken
// it yet and takes it at the port once all have, so no path's valid depends on its ready.
// Ports of path p are the slices [p] of the flattened arrays, each as ws_weight_pipeline's port
// of the same name.
module ws_weight_pipeline_paths #(
  parameter int Paths         = 2,
  parameter int MaxK          = 256,
  parameter int ValueTableLog = 11,
  parameter int MetaTableLog  = 8,
  parameter int CountBits     = 32,
  parameter int BeatBits      = 24,
  parameter int ValueLanes    = 8,
  parameter int MetaLanes     = 4,
  parameter int Bf16Unpacker  = 1  // each path's unpacker: 1 ws_bf16_unpacker, 0 ws_num_unpacker
) (
  input  wire                          clk_i,
  input  wire                          rst_ni,
  input  wire  [Paths-1:0]             cfg_valid_i,
  output logic [Paths-1:0]             cfg_ready_o,
  input  wire  [Paths*16-1:0]          cfg_addr_i,
  input  wire  [Paths*32-1:0]          cfg_data_i,
  input  wire  [Paths-1:0]             vdesc_valid_i,
  output logic [Paths-1:0]             vdesc_ready_o,
  input  wire  [Paths*(ws_pkg::TANS_DESC_HEAD_BITS+CountBits)-1:0]vdesc_data_i,
  input  wire  [Paths*2*ValueLanes-1:0] vunit_valid_i,
  output logic [Paths*2*ValueLanes-1:0] vunit_ready_o,
  input  wire  [Paths*32*ValueLanes-1:0] vunit_data_i,
  input  wire  [Paths*2*ValueLanes-1:0] vunit_last_i,
  input  wire  [Paths-1:0]             raw_valid_i,
  output logic [Paths-1:0]             raw_ready_o,
  input  wire  [Paths*ws_pkg::raw_word_bits(ValueLanes)-1:0]raw_data_i,
  input  wire  [Paths-1:0]             raw_last_i,
  input  wire  [Paths-1:0]             mdesc_valid_i,
  output logic [Paths-1:0]             mdesc_ready_o,
  input  wire  [Paths*(ws_pkg::TANS_DESC_HEAD_BITS+CountBits)-1:0]mdesc_data_i,
  input  wire  [Paths*2*MetaLanes-1:0] munit_valid_i,
  output logic [Paths*2*MetaLanes-1:0] munit_ready_o,
  input  wire  [Paths*32*MetaLanes-1:0] munit_data_i,
  input  wire  [Paths*2*MetaLanes-1:0] munit_last_i,
  // Activations x, once for every path
  input  wire                          act_valid_i,
  output logic                         act_ready_o,
  input  wire  [15:0]                  act_data_i,
  input  wire                          act_last_i,
  output logic [Paths-1:0]             y_valid_o,
  input  wire  [Paths-1:0]             y_ready_i,
  output logic [Paths*32-1:0]          y_data_o,
  output logic [Paths-1:0]             y_last_o,
  input  wire                          err_clear_i,   // clears every path
  output logic [Paths-1:0]             err_o,
  output logic [Paths*6-1:0]           err_cause_o
);
  localparam int DescBits = ws_pkg::TANS_DESC_HEAD_BITS + CountBits;
  localparam int RawBits  = ws_pkg::raw_word_bits(ValueLanes);

  `include "ws_assert.svh"
  `WS_PARAM_CHECK(g_check_paths, Paths >= 1 && Paths <= 4,
                  ("ws_weight_pipeline_paths: Paths = %0d, must be 1 .. 4", Paths))

  // The activation fork: sent_q[p] once path p has taken the current x and the others have not.
  logic [Paths-1:0] sent_q, path_act_valid, path_act_ready, path_done;
  assign path_act_valid = {Paths{act_valid_i}} & ~sent_q;
  assign path_done      = sent_q | path_act_ready;
  assign act_ready_o    = &path_done;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sent_q <= '0;
    else if (act_valid_i) sent_q <= act_ready_o ? '0 : path_done;
  end

  for (genvar p = 0; p < Paths; p++) begin : g_path
    ws_weight_pipeline #(
      .MaxK         (MaxK),
      .ValueTableLog(ValueTableLog),
      .MetaTableLog (MetaTableLog),
      .CountBits    (CountBits),
      .BeatBits     (BeatBits),
      .ValueLanes   (ValueLanes),
      .MetaLanes    (MetaLanes),
      .Bf16Unpacker (Bf16Unpacker)
    ) u_path (
      .clk_i,
      .rst_ni,
      .cfg_valid_i  (cfg_valid_i[p]),
      .cfg_ready_o  (cfg_ready_o[p]),
      .cfg_addr_i   (cfg_addr_i[16*p +: 16]),
      .cfg_data_i   (cfg_data_i[32*p +: 32]),
      .vdesc_valid_i(vdesc_valid_i[p]),
      .vdesc_ready_o(vdesc_ready_o[p]),
      .vdesc_data_i (vdesc_data_i[DescBits*p +: DescBits]),
      .vunit_valid_i(vunit_valid_i[2*ValueLanes*p +: 2*ValueLanes]),
      .vunit_ready_o(vunit_ready_o[2*ValueLanes*p +: 2*ValueLanes]),
      .vunit_data_i (vunit_data_i[32*ValueLanes*p +: 32*ValueLanes]),
      .vunit_last_i (vunit_last_i[2*ValueLanes*p +: 2*ValueLanes]),
      .raw_valid_i  (raw_valid_i[p]),
      .raw_ready_o  (raw_ready_o[p]),
      .raw_data_i   (raw_data_i[RawBits*p +: RawBits]),
      .raw_last_i   (raw_last_i[p]),
      .mdesc_valid_i(mdesc_valid_i[p]),
      .mdesc_ready_o(mdesc_ready_o[p]),
      .mdesc_data_i (mdesc_data_i[DescBits*p +: DescBits]),
      .munit_valid_i(munit_valid_i[2*MetaLanes*p +: 2*MetaLanes]),
      .munit_ready_o(munit_ready_o[2*MetaLanes*p +: 2*MetaLanes]),
      .munit_data_i (munit_data_i[32*MetaLanes*p +: 32*MetaLanes]),
      .munit_last_i (munit_last_i[2*MetaLanes*p +: 2*MetaLanes]),
      .act_valid_i  (path_act_valid[p]),
      .act_ready_o  (path_act_ready[p]),
      .act_data_i,
      .act_last_i,
      .y_valid_o    (y_valid_o[p]),
      .y_ready_i    (y_ready_i[p]),
      .y_data_o     (y_data_o[32*p +: 32]),
      .y_last_o     (y_last_o[p]),
      .err_clear_i,
      .err_o        (err_o[p]),
      .err_cause_o  (err_cause_o[6*p +: 6])
    );
  end

  `WS_ASSERT_STREAM(act_stable, act_valid_i, act_ready_o, {act_last_i, act_data_i})
endmodule
`resetall
