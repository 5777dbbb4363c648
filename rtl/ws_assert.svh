// Assertion macros of every block, written once (after lowRISC ibex's prim_assert.sv). Include it
// inside the module, after the ports: `` `include "ws_assert.svh" ``. Simulation checks vanish under
// SYNTHESIS; parameter checks stop every tool (Verilator, Yosys) at elaboration.
`ifndef WS_ASSERT_SVH
`define WS_ASSERT_SVH

// A parameter outside its legal range stops elaboration with the message: WS_PARAM_CHECK(g_name,
// condition that must hold, ("text %0d", value)). Used at module scope (a generate-if).
`define WS_PARAM_CHECK(name, cond, msg) \
  if (!(cond)) begin : name \
    $error msg; \
  end

`ifndef SYNTHESIS
// The AXI-Stream rule on one stream (docs: DESIGN.md): once valid rises, valid and data hold until
// the transfer. On an output it checks the block; on an input it is an assumption about the
// environment, and a failure names the stream. Needs clk_i and rst_ni in scope.
`define WS_ASSERT_STREAM(name, valid, ready, data) \
  ws_stream_check #(.Bits($bits(data)), .Name(`"name`")) name ( \
    .clk_i, .rst_ni, .valid_i(valid), .ready_i(ready), .data_i(data));

// An invariant checked on every rising clock edge out of reset.
`define WS_ASSERT(name, cond, msg) \
  always @(posedge clk_i) begin : name \
    if (rst_ni) assert (cond) else $error msg; \
  end
`else
`define WS_ASSERT_STREAM(name, valid, ready, data)
`define WS_ASSERT(name, cond, msg)
`endif

`endif
