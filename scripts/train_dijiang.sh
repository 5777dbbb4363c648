#!/usr/bin/env bash
# DiJiang on stories260K (docs/dijiang.md): training tokens sampled from the dense model, the model
# distilled with DiJiang attention and with the random-feature baseline (train/dijiang/distill.py, JAX on
# CPU), then the quality table on held-out sequences. Usage: scripts/train_dijiang.sh BUILD_DIR [MODEL] [STEPS]
set -euo pipefail
build=${1:?usage: train_dijiang.sh BUILD_DIR [MODEL] [STEPS]}
model=${2:-../shared/data/stories260K.bin}
steps=${3:-1500}
ws=$build/bin/weightstream
out=$build/dijiang
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)

"$ws" sample "$model" -o "$out/tokens.safetensors" --seqs 4096 --len 128 --seed 1
for fm in dct random; do
  /usr/bin/time -f "distill $fm: %e s wall, %U s user CPU" nice -n 5 python3 "$here/train/dijiang/distill.py" \
    --model "$model" --tokens "$out/tokens.safetensors" --feature-map $fm --train all --steps "$steps" --seed 1 \
    --out-side "$out/$fm.safetensors" --out-model "$out/$fm.model.safetensors" | tee "$out/distill_$fm.log"
done
# Held-out: 32 sequences x 128 tokens sampled with seed 2 (the training tokens used seed 1).
"$ws" eval "$model" "$out/dct.model.safetensors" "$out/random.model.safetensors" \
  --dijiang "$out/dct.safetensors" --dijiang "$out/random.safetensors" --seqs 32 --len 128 | tee "$out/quality.txt"
