-f rtl/weight_pipeline.f
rtl/ws_weight_pipeline_paths.sv
