`default_nettype none
// Fixture for synth/selftest: a pipelined adder with a valid/ready handshake (the whole pipe
// stalls when the output is held). Not part of the design; only the flow's self-test reads it.
module st_pipe_add #(
  parameter int Width  = 8,
  parameter int Stages = 2
) (
  input  wire logic             clk_i,
  input  wire logic             rst_ni,
  input  wire logic             in_valid,
  output      logic             in_ready,
  input  wire logic [Width-1:0] in_a,
  input  wire logic [Width-1:0] in_b,
  output      logic             out_valid,
  input  wire logic             out_ready,
  output      logic [Width:0]   out_data
);
  logic [Stages-1:0] valid_q;
  logic [Width:0]    data_q [Stages];
  logic              advance;

  assign advance  = !valid_q[Stages-1] || out_ready;
  assign in_ready = advance;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= '0;
    else if (advance) valid_q <= {valid_q[Stages-2:0], in_valid};
  end

  always_ff @(posedge clk_i) begin
    if (advance) begin
      data_q[0] <= {1'b0, in_a} + {1'b0, in_b};
      for (int i = 1; i < Stages; i++) data_q[i] <= data_q[i-1] ^ {data_q[i-1][Width-1:0], 1'b0};
    end
  end

  assign out_valid = valid_q[Stages-1];
  assign out_data  = data_q[Stages-1];
endmodule
