`default_nettype none
// Fixture of scripts/coverage.py's test (tests/coverage/): a counter whose mode_i stays 0, so one
// branch and one case arm are never taken and one input never toggles.
module ws_fixture (
  input  wire        clk_i,
  input  wire        rst_ni,
  input  wire        mode_i,
  output logic [3:0] count_o
);
  logic [3:0] count_d;
  always_comb begin
    if (mode_i) count_d = 4'd0;
    else        count_d = count_o + 4'd1;
    unique case (count_o)
      4'd15:   count_d = 4'd0;
      default: ;
    endcase
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) count_o <= 4'd0;
    else         count_o <= count_d;
  end
endmodule
`resetall
