#!/usr/bin/env bash
# `make demo LTE=1` (docs/demo.md, docs/lte.md): stories260K with its LTE experts, converted to bf16 and
# compressed with one chunk per expert (container version 4); then tokens generated while the routers
# choose the experts per token and layer, and only the active experts' w1, w3 and w2 chunks stream
# through the Verilated pipeline, each product checked against the golden model of the sparse FFN.
# With the trained routers of `make train-lte` (build/lte/lte50.*) when they are there, else the
# k-means grouping under the activation-norm gate at 50% of experts off.
set -euo pipefail
build=${1:-build}
ws() { "$build/bin/weightstream" "$@"; }
out="$build/demo-lte"
mkdir -p "$out" "$build/reports"

gate=()
if [[ -f "$build/lte/lte50.safetensors" && -f "$build/lte/lte50.model.safetensors" ]]; then
  echo "== 1. the routers of make train-lte at 50% of experts off: $build/lte/lte50.safetensors (and its fine-tuned model)"
  model="$build/lte/lte50.model.safetensors"
  side="$build/lte/lte50.safetensors"
else
  echo "== 1. no trained routers ($build/lte/lte50.*; make train-lte makes them): the k-means experts under the"
  echo "      activation-norm gate at 50% of experts off"
  model=../shared/data/stories260K.bin
  side="$out/experts.safetensors"
  ws lte-experts "$model" -o "$side" --seed 1 | tail -n 1
  gate=(--lte-norm 0.5)
fi
echo
echo "== 2. convert to bf16, compress with one chunk per expert (w1/w3: its rows, w2: its column block)"
ws convert -f --to bf16 "$model" -o "$out/model.bf16.safetensors"
ws compress -f --lte "$side" --table-log 8 "$out/model.bf16.safetensors" -o "$out/model.lte.wsz" | tail -n 2
ws inspect "$out/model.lte.wsz" | grep -m 2 "w2 chunk" || true
echo
echo "== 3. generate ${TOKENS:-32} tokens; the active experts' FFN chunks on the Verilated pipeline"
"$build/bin/ws_demo_lte" "$out/model.lte.wsz" "${gate[@]}" --tokens "${TOKENS:-32}" --report "$build/reports/demo_lte.json"
