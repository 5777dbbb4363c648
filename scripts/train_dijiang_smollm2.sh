#!/usr/bin/env bash
# DiJiang on SmolLM2-135M (docs/dijiang.md, "SmolLM2"): the model in fp32, the calibration part of the real
# text as training windows, every layer's DiJiang mixer and the random-feature baseline's distilled layer by
# layer against the dense model's softmax attention (train/dijiang/distill_layers.py, JAX on CPU), then a
# short end-to-end KL phase (train/dijiang/finetune_kl.py), an untrained side file beside them, then the
# quality table on the held-out part.
# Usage: scripts/train_dijiang_smollm2.sh BUILD_DIR [STEPS_PER_LAYER] [BATCH] [KL_STEPS]
set -euo pipefail
build=${1:?usage: train_dijiang_smollm2.sh BUILD_DIR [STEPS_PER_LAYER] [BATCH] [KL_STEPS]}
steps=${2:-300}
batch=${3:-4}
kl_steps=${4:-40}
ws=$build/bin/weightstream
out=$build/dijiang_smollm2
mkdir -p "$out"
here=$(cd "$(dirname "$0")/.." && pwd)
smol=$(bash "$here/scripts/smollm2.sh")
text=$(bash "$here/scripts/eval_text.sh")

[ -f "$out/smollm2_f32.safetensors" ] || "$ws" convert --to fp32 "$smol" -o "$out/smollm2_f32.safetensors"
# Training windows: the calibration part only (eval --text scores the held-out part), 128 tokens as eval's.
"$ws" sample "$smol" --text "$text" --seqs 0 --len 128 -o "$out/calib.safetensors"
/usr/bin/time -f "distill_layers: %e s wall, %U s user CPU" nice -n 5 python3 "$here/train/dijiang/distill_layers.py" \
  --model "$out/smollm2_f32.safetensors" --tokens "$out/calib.safetensors" --len 128 --steps "$steps" \
  --batch "$batch" --val 4 --seed 1 --out-dct "$out/dct.safetensors" --out-random "$out/random.safetensors" \
  2>&1 | tee "$out/distill.log"
# The end-to-end phase: every layer's mixer at once on KL(dense || DiJiang), from the per-layer fit.
for fm in dct random; do
  /usr/bin/time -f "finetune_kl $fm: %e s wall, %U s user CPU" nice -n 5 python3 "$here/train/dijiang/finetune_kl.py" \
    --model "$out/smollm2_f32.safetensors" --tokens "$out/calib.safetensors" --side "$out/$fm.safetensors" \
    --out "$out/${fm}_kl.safetensors" --steps "$kl_steps" --batch 2 --seed 1 2>&1 | tee "$out/kl_$fm.log"
done
"$ws" dijiang-init "$smol" -o "$out/untrained.safetensors" --seed 1
# One model per side file (eval --dijiang pairs them in order); the dense model is the reference row.
"$ws" eval "$smol" "$smol" "$smol" "$smol" "$smol" "$smol" --text "$text" --seqs 4 --len 128 --threads 2 \
  --dijiang "$out/dct.safetensors" --dijiang "$out/random.safetensors" --dijiang "$out/dct_kl.safetensors" \
  --dijiang "$out/random_kl.safetensors" --dijiang "$out/untrained.safetensors" | tee "$out/quality.txt"
