#!/usr/bin/env bash
# `make demo`: the main job on the bundled real model. Until the hardware pipeline exists (issue 8)
# it runs the lossless codec: fp32 and bf16 stories260K compressed, inspected, decompressed, compared.
set -euo pipefail
build=${1:-build}
tool="$build/bin/weightstream"
model=../shared/data/stories260K.bin
out="$build/demo"
mkdir -p "$out"

echo "== weightstream demo on $model (a real trained llama2.c model)"
"$tool" convert --to bf16 "$model" -o "$out/stories260K.bf16.safetensors"
for f in "$model" "$out/stories260K.bf16.safetensors"; do
  name=$(basename "$f")
  echo
  echo "== $name: compress, inspect, decompress, compare"
  "$tool" compress "$f" -o "$out/$name.wsz"
  "$tool" inspect "$out/$name.wsz"
  "$tool" decompress "$out/$name.wsz" -o "$out/$name.roundtrip"
  if cmp -s "$f" "$out/$name.roundtrip"; then
    echo "round trip: byte-exact ($(stat -c %s "$f") bytes -> $(stat -c %s "$out/$name.wsz") bytes)"
  else
    echo "round trip: MISMATCH" >&2
    exit 1
  fi
done
echo
echo "outputs in $out/"
