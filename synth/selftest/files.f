synth/selftest/st_pipe_add.sv
