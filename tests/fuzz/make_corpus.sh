#!/usr/bin/env bash
# Regenerates the seed corpus of the container fuzz target: a few small real .wsz files written by the
# tool (llama2.c, bf16 / f16 / f32 safetensors with literal and empty tensors, 2:4 tensors, fp8 / int8 /
# posit / int4 tensors, opaque, empty). The tool writes container version 2; those seeds are named
# v2_*.wsz. The seeds without the prefix are version 1, written before version 2 existed: they stay
# as they are (no tool writes them any more) so that the replay keeps reading the old format.
# Usage: tests/fuzz/make_corpus.sh [path to weightstream]   (default build/bin/weightstream)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tool=${1:-$here/../../build/bin/weightstream}
stories=${WS_DATA_DIR:-$here/../../../shared/data}/stories260K.bin
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$stories" "$work" <<'PY'
import json, random, struct, sys
stories, work = sys.argv[1], sys.argv[2]
floats = open(stories, "rb").read()[28:]
# A tiny llama2.c model (dim 8, hidden 8, 1 layer, 2 heads, 1 kv head, vocab 4 with its own
# classifier, seq_len 2) filled with real stories260K weights.
n = 32 + 8 + 64 + 32 + 32 + 64 + 8 + 64 + 64 + 64 + 8 + 4 + 4 + 32
open(f"{work}/tiny.bin", "wb").write(struct.pack("<7i", 8, 8, 1, 2, 1, -4, 2) + floats[:4 * n])
# A safetensors file: f16 and f32 tensors, an empty one, an I64 one (literal) and a gap.
random.seed(1)
f16 = struct.pack("<15e", *[random.gauss(0, 0.1) for _ in range(15)])
f32 = floats[4000:4000 + 4 * 12]
i64 = struct.pack("<4q", 0, 1, 2, 3)
parts, off, header = [], 0, {"__metadata__": {"format": "pt"}}
for name, dtype, shape, data, gap in [("h", "F16", [5, 3], f16, 0), ("e", "BF16", [0], b"", 0),
                                      ("ids", "I64", [4], i64, 2), ("w", "F32", [3, 4], f32, 0)]:
    parts.append(b"\0" * gap + data)
    off += gap
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
    off += len(data)
text = json.dumps(header).encode()
open(f"{work}/mixed.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(parts))
open(f"{work}/opaque.bin", "wb").write(bytes(random.randrange(256) for _ in range(200)))
open(f"{work}/empty.bin", "wb").write(b"")
# 2:4 tensors (stored 2:4 by compress): a stacked bf16 [2][3][12] (odd group count: padding), f16
# [2][8] with a kept -0, f32 [1][4], filled from real weights with 2 of every 4 zeroed; and a dense one.
def sparse24(vals, width):
    out = bytearray(vals)
    for g in range(len(out) // (4 * width)):
        for k in (g % 4, (g % 4 + 1 + g // 4 % 3) % 4):
            out[(4 * g + k) * width:(4 * g + k + 1) * width] = bytes(width)
    return bytes(out)
b16 = sparse24(b"".join(floats[4 * i + 2:4 * i + 4] for i in range(72)), 2)
h16 = bytearray(sparse24(struct.pack("<16e", *[0.01 * (i + 1) for i in range(16)]), 2))
h16[2 * 2:2 * 3] = b"\x00\x80"  # -0 in place of a kept value: stays a kept value
w32 = sparse24(floats[8000:8000 + 16], 4)
parts, off, header = [], 0, {}
for name, dtype, shape, data in [("s", "BF16", [2, 3, 12], b16), ("h", "F16", [2, 8], bytes(h16)),
                                 ("f", "F32", [1, 4], w32), ("d", "BF16", [2, 4], floats[:16])]:
    parts.append(data)
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
    off += len(data)
text = json.dumps(header).encode()
open(f"{work}/sparse24.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(parts))
# Every number format the container carries beyond bf16/f16/f32: F8_E4M3, F8_E5M2, I8 tensors, and
# U16 / U8 tensors that __metadata__ names posit16_1 / int4 for (format ids 4..8, docs/format.md 4.1).
random.seed(2)
parts, off = [], 0
header = {"__metadata__": {"weightstream.format.p": "posit16_1", "weightstream.format.q": "int4"}}
for name, dtype, shape, data in [
        ("e", "F8_E4M3", [3, 8], bytes(random.choice([0x30, 0x38, 0xb4, 0x7f, random.randrange(256)]) for _ in range(24))),
        ("f", "F8_E5M2", [24], bytes(random.choice([0x3c, 0xbc, 0x7c, random.randrange(256)]) for _ in range(24))),
        ("i", "I8", [4, 5], bytes(random.choice([0, 1, 0xff, 0x80, random.randrange(256)]) for _ in range(20))),
        ("p", "U16", [2, 6], struct.pack("<12H", *[random.choice([0, 0x8000, 0x4000, 0xc123, random.randrange(65536)]) for _ in range(12)])),
        ("q", "U8", [16], bytes(random.randrange(16) for _ in range(16)))]:
    parts.append(data)
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
    off += len(data)
text = json.dumps(header).encode()
open(f"{work}/formats.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + b"".join(parts))
PY

"$tool" convert --to bf16 "$work/tiny.bin" -o "$work/tiny_bf16.safetensors" >/dev/null
"$tool" compress "$work/tiny.bin" -o "$here/corpus/v2_llama2c_f32.wsz" --chunk 16 >/dev/null
"$tool" compress "$work/tiny_bf16.safetensors" -o "$here/corpus/v2_bf16_lanes2_L5.wsz" --chunk 8 --lanes 2 --table-log 5 >/dev/null
"$tool" compress "$work/mixed.safetensors" -o "$here/corpus/v2_mixed_lanes1.wsz" --chunk 5 --lanes 1 >/dev/null
"$tool" compress "$work/mixed.safetensors" -o "$here/corpus/v2_mixed_lanes8.wsz" --lanes 8 --table-log 12 >/dev/null
"$tool" compress "$work/sparse24.safetensors" -o "$here/corpus/v2_sparse24_rows1.wsz" --chunk 8 >/dev/null
"$tool" compress "$work/sparse24.safetensors" -o "$here/corpus/v2_sparse24_lanes8.wsz" --lanes 8 >/dev/null
"$tool" compress "$work/formats.safetensors" -o "$here/corpus/v2_formats_chunk8.wsz" --chunk 8 --lanes 2 >/dev/null
"$tool" compress "$work/opaque.bin" -o "$here/corpus/v2_opaque.wsz" >/dev/null
"$tool" compress "$work/empty.bin" -o "$here/corpus/v2_empty.wsz" >/dev/null
cp "$work/mixed.safetensors" "$here/corpus/source_mixed.safetensors"  # also seeds the source parsers
du -cb "$here"/corpus/* | tail -1
