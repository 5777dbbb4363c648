#!/usr/bin/env bash
# LTE on SmolLM2-135M (docs/lte.md, "SmolLM2-135M"): the expert grouping, the calibration part of the real
# text as training windows, layer-local stage 1 with the model frozen at 25/50/75% of experts off
# (train/lte/train_local.py, JAX on CPU), then the quality table on the held-out part beside the
# activation-norm baseline. Usage: scripts/train_lte_smollm2.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: train_lte_smollm2.sh BUILD_DIR}
ws=$build/bin/weightstream
out=$build/lte_smollm2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)
gguf=$(bash "$here/scripts/smollm2.sh")
text=$(bash "$here/scripts/eval_text.sh")

# JAX reads the dequantized model (the same values the C++ model computes with).
[ -f "$out/smollm2_f32.safetensors" ] || "$ws" convert --to fp32 "$gguf" -o "$out/smollm2_f32.safetensors"
"$ws" lte-experts "$gguf" -o "$out/experts.safetensors" --seed 1
"$ws" sample "$gguf" --text "$text" --seqs 0 --len 256 -o "$out/calib.safetensors"   # calibration part only
/usr/bin/time -f "train_local: %e s wall, %U s user CPU, %M KB" nice -n 5 python3 "$here/train/lte/train_local.py" \
  --model "$out/smollm2_f32.safetensors" --experts "$out/experts.safetensors" --tokens "$out/calib.safetensors" \
  --off 0.25,0.5,0.75 --out "$out/lte" --seed 1 2>&1 | tee "$out/train.log"
# Held-out part: 4 windows x 128 predicted tokens.
"$ws" eval "$gguf" --text "$text" --seqs 4 --len 128 --threads 2 --lte "$out/experts.safetensors" \
  --lte-norm 0.25,0.5,0.75 | tee "$out/baseline.txt"
"$ws" eval "$gguf" "$gguf" "$gguf" "$gguf" --text "$text" --seqs 4 --len 128 --threads 2 \
  --lte "$out/lte25.safetensors" --lte "$out/lte50.safetensors" --lte "$out/lte75.safetensors" | tee "$out/lte.txt"
