#!/usr/bin/env bash
# LTE on stories260K (docs/lte.md): the expert grouping, training tokens sampled from the dense model,
# routers trained for 25/50/75% of experts off (train/lte/train.py, JAX on CPU), then the quality table
# beside the activation-norm baseline. Usage: scripts/train_lte.sh BUILD_DIR [MODEL]
set -euo pipefail
build=${1:?usage: train_lte.sh BUILD_DIR [MODEL]}
model=${2:-../shared/data/stories260K.bin}
ws=$build/bin/weightstream
out=$build/lte
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)

"$ws" lte-experts "$model" -o "$out/experts.safetensors" --seed 1
"$ws" sample "$model" -o "$out/tokens.safetensors" --seqs 512 --len 128 --seed 1
for off in 25 50 75; do
  /usr/bin/time -f "train $off%%: %e s wall, %U s user CPU" nice -n 5 python3 "$here/train/lte/train.py" \
    --model "$model" --experts "$out/experts.safetensors" --tokens "$out/tokens.safetensors" --off 0.$off \
    --out-side "$out/lte$off.safetensors" --out-model "$out/lte$off.model.safetensors" --seed 1 --batch 8 \
    | tee "$out/train$off.log"
done
# Held-out: 32 sequences x 128 tokens sampled with seed 2 (the training tokens used seed 1).
"$ws" eval "$model" --lte "$out/experts.safetensors" --lte-norm 0.25,0.5,0.75 --seqs 32 --len 128 | tee "$out/baseline.txt"
"$ws" eval "$model" "$out/lte25.model.safetensors" "$out/lte50.model.safetensors" "$out/lte75.model.safetensors" \
  --lte "$out/lte25.safetensors" --lte "$out/lte50.safetensors" --lte "$out/lte75.safetensors" \
  --seqs 32 --len 128 | tee "$out/lte.txt"
