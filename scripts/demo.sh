#!/usr/bin/env bash
# `make demo`, the main job (docs/demo.md): the bundled real model pruned to 2:4 with E-Sparse,
# converted to bf16 and compressed; then tokens generated with every pruned linear layer computed by
# the Verilated RTL pipeline from the compressed chunks, each product checked against the golden model.
# TRACE=1 also writes an FST waveform of the first token's products.
set -euo pipefail
build=${1:-build}
tool="$build/bin/weightstream"
model=../shared/data/stories260K.bin
out="$build/demo"
tokens=${TOKENS:-32}
mkdir -p "$out" "$build/reports"

echo "== 1. prune $model (a real trained llama2.c model) to 2:4: E-Sparse, global+local channel shuffle"
"$tool" prune "$model" --method esparse --shuffle global+local -o "$out/pruned.safetensors" >"$out/prune.log"
head -n 2 "$out/prune.log"
echo
echo "== 2. convert to bf16 and compress (2:4 layers: kept values + metadata, both tANS-coded)"
"$tool" convert -f --to bf16 "$out/pruned.safetensors" -o "$out/pruned.bf16.safetensors"
"$tool" compress -f "$out/pruned.bf16.safetensors" -o "$out/pruned.bf16.wsz"
"$tool" decompress -f "$out/pruned.bf16.wsz" -o "$out/pruned.bf16.roundtrip"
cmp "$out/pruned.bf16.safetensors" "$out/pruned.bf16.roundtrip"
echo "lossless: decompress gives the bf16 file back byte for byte"
echo
echo "== 3. generate $tokens tokens on the Verilated pipeline (ws_weight_pipeline: tANS decoders -> number unpacker -> 2:4 MAC array)"
trace=()
if [[ "${TRACE:-0}" == 1 ]]; then
  mkdir -p "$build/waves"
  trace=(--trace "$build/waves/demo.fst")
fi
"$build/bin/ws_demo" "$out/pruned.bf16.wsz" --dense "$model" --tokens "$tokens" \
  --report "$build/reports/demo.json" "${trace[@]}"
if [[ ${#trace[@]} -eq 0 ]]; then
  echo "waveform: run TRACE=1 make demo for $build/waves/demo.fst"
fi
echo "per-tensor storage: $tool inspect $out/pruned.bf16.wsz"
