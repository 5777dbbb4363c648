#!/usr/bin/env bash
# `make demo MODEL=smollm2` (docs/demo.md): SmolLM2-135M-Instruct (the GGUF of `make deps`) answers a
# chat prompt with every linear layer's product taken from its compressed stream by the weight
# pipeline: lossless (bf16, every layer dense) and 2:4 (E-Sparse). Per generated token, RTL_PRODUCTS
# products of one transformer layer (7 = the whole layer) run on the Verilated RTL too.
# PROMPT, TOKENS (default 32), RTL_PRODUCTS (default 7) change the run. The pruned model is kept in
# $build/demo-smollm2 and made again only when the tool is newer.
set -euo pipefail
build=${1:-build}
tool="$build/bin/weightstream"
gguf=$(bash scripts/smollm2.sh)
text=$(bash scripts/eval_text.sh)
out="$build/demo-smollm2"
prompt=${PROMPT:-What is the capital of France?}
tokens=${TOKENS:-32}
rtl=${RTL_PRODUCTS:-7}
mkdir -p "$out" "$build/reports"

echo "== 1. the GGUF dequantized and rounded to bf16, compressed (every tensor dense, lossless)"
"$tool" convert -f --to bf16 "$gguf" -o "$out/smollm2_bf16.safetensors"
"$tool" compress -f "$out/smollm2_bf16.safetensors" -o "$out/smollm2_bf16.wsz"
"$tool" decompress -f "$out/smollm2_bf16.wsz" -o "$out/smollm2_bf16.roundtrip"
cmp "$out/smollm2_bf16.safetensors" "$out/smollm2_bf16.roundtrip"
rm -f "$out/smollm2_bf16.roundtrip"
echo "lossless: decompress gives the bf16 file back byte for byte"
echo
echo "== 2. pruned 2:4 with E-Sparse (global+local shuffle, calibrated on 4 x 128 tokens of $text), bf16, compressed"
if [[ ! -s "$out/pruned.safetensors" || "$tool" -nt "$out/pruned.safetensors" ]]; then
  "$tool" prune "$gguf" --method esparse --shuffle global+local --text "$text" --calib 4 --calib-len 128 \
    --threads 2 -o "$out/pruned.safetensors" >"$out/prune.log"
else
  echo "(kept from the last run: $out/pruned.safetensors)"
fi
"$tool" convert -f --to bf16 "$out/pruned.safetensors" -o "$out/pruned.bf16.safetensors"
"$tool" compress -f "$out/pruned.bf16.safetensors" -o "$out/pruned.bf16.wsz"
echo
echo "== 3. the plain bf16 model: weightstream generate"
echo "\$ weightstream generate smollm2_bf16.safetensors --chat --max-tokens $tokens --prompt \"$prompt\""
"$tool" generate "$out/smollm2_bf16.safetensors" --chat --threads 2 --max-tokens "$tokens" --prompt "$prompt" \
  | tee "$out/generate.txt"
echo
echo "== 4. the same prompt through the weight pipeline (functional model for every product, Verilated RTL for $rtl a token)"
"$build/bin/ws_demo_llm" --bf16 "$out/smollm2_bf16.safetensors" --lossless "$out/smollm2_bf16.wsz" \
  --pruned "$out/pruned.bf16.wsz" --prompt "$prompt" --tokens "$tokens" --rtl-products "$rtl" --threads 2 \
  --work "$out" --report "$build/reports/demo_smollm2.json"
# The tool's own answer against the pipeline's lossless one (ws_demo_llm already asserted its reference).
python3 - "$build/reports/demo_smollm2.json" "$out/generate.txt" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
tool = open(sys.argv[2], encoding="utf-8").read()
if rep["lossless"]["text"] + "\n" != tool:
    sys.exit("error: the pipeline's lossless answer differs from weightstream generate's")
print("lossless answer identical to weightstream generate's: yes")
PY
