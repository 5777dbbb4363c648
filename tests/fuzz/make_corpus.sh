#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets. corpus/ (fuzz_container): a few small real .wsz files
# written by the tool (llama2.c, bf16 / f16 / f32 safetensors with literal and empty tensors, 2:4
# tensors, fp8 / int8 / posit / int4 tensors, GGUF with block-quantized tensors, opaque, empty).
# corpus_gguf/ (fuzz_gguf): small GGUF files of real SmolLM2 blocks (every metadata type, versions 2
# and 3, alignment 64, every tensor type the reader decodes and one it stores literally).
# The v1_*.wsz and v2_*.wsz seeds are version-1 and version-2 containers (docs/format.md section 4.2)
# that the tool wrote before version 3: this script no longer writes them and leaves them as they are
# (they are what proves that every older container still reads). The crafted_*.wsz seeds are the index
# attacks of issue 17 on a container of the current version, each with the index checksum made to match: chunks swapped, a chunk
# duplicated, two tensors' names exchanged, a wrong content checksum.
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

# GGUF seeds: real blocks of SmolLM2 (read with gguf-py, the test's reference, installed if missing).
smollm2=$(bash "$here/../../scripts/smollm2.sh")
PYTHONPATH="$here/../../scripts" python3 -c "import pyrequire; pyrequire.require(['gguf', 'numpy'], ['gguf', 'numpy'], 'make_corpus')"
mkdir -p "$here/corpus_gguf"
python3 - "$smollm2" "$here/corpus_gguf" <<'PY'
import struct, sys
import gguf
reader = gguf.GGUFReader(sys.argv[1])
real = {t.name: bytes(t.data.tobytes()) for t in reader.tensors
        if t.name in ("token_embd.weight", "blk.0.attn_norm.weight", "blk.0.ffn_up.weight", "blk.1.attn_k.weight")}

def string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b
def kv(key, vtype, value):
    return string(key) + struct.pack("<I", vtype) + value
def array(etype, items):
    return struct.pack("<IQ", etype, len(items)) + b"".join(items)

def gguf_file(version, kvs, tensors, alignment=32):
    head = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs)) + b"".join(kvs)
    infos, data, offset = b"", b"", 0
    for name, ne, ttype, blob in tensors:
        infos += string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", ttype, offset)
        data += blob + bytes(-len(blob) % alignment)
        offset += len(blob) + (-len(blob) % alignment)
    out = head + infos
    return out + bytes(-len(out) % alignment) + data

q41 = real["blk.0.ffn_up.weight"][:4 * 20]
q40 = b"".join(q41[i:i + 2] + q41[i + 4:i + 20] for i in range(0, len(q41), 20))  # d and codes of Q4_1 blocks
every_type = [
    kv("general.architecture", 8, string("llama")), kv("u8", 0, b"\x07"), kv("i8", 1, b"\xfe"),
    kv("u16", 2, struct.pack("<H", 60000)), kv("i16", 3, struct.pack("<h", -3)),
    kv("u32", 4, struct.pack("<I", 30)), kv("i32", 5, struct.pack("<i", -7)), kv("f32", 6, struct.pack("<f", 1e-5)),
    kv("bool", 7, b"\x01"), kv("u64", 10, struct.pack("<Q", 1 << 40)), kv("i64", 11, struct.pack("<q", -5)),
    kv("f64", 12, struct.pack("<d", 100000.5)),
    kv("tokenizer.ggml.tokens", 9, array(8, [string("a"), string("\u0120b"), string("<|im_start|>")])),
    kv("ints", 9, array(5, [struct.pack("<i", v) for v in (1, -2, 3)])),
    kv("nested", 9, array(9, [array(3, [struct.pack("<h", 1), struct.pack("<h", 2)]), array(3, [])])),
]
tensors = [
    ("norm", [8], 0, real["blk.0.attn_norm.weight"][:32]),
    ("emb", [32, 2], 8, real["token_embd.weight"][:2 * 34]),
    ("q41", [64, 2], 3, q41),
    ("q40", [32, 2], 2, q40),
    ("h", [4], 1, struct.pack("<4e", 1.0, -0.5, 6e-8, 65504.0)),
    ("b", [4], 30, b"".join(real["blk.0.attn_norm.weight"][i + 2:i + 4] for i in range(0, 16, 4))),  # bf16 halves
    ("q50", [32], 6, bytes(range(22))),
]
open(f"{sys.argv[2]}/v3_every_type.gguf", "wb").write(gguf_file(3, every_type, tensors))
open(f"{sys.argv[2]}/v2_align64.gguf", "wb").write(gguf_file(
    2, [kv("general.alignment", 4, struct.pack("<I", 64))], tensors[:3], alignment=64))
open(f"{sys.argv[2]}/empty.gguf", "wb").write(gguf_file(3, [], []))

# A real tokenizer cut small: SmolLM2's first 400 tokens (control tokens, bytes, early merges) and the
# merges among them, with its pre-tokenizer and chat template (llm/tokenizer.hpp builds and uses it).
field = lambda k: reader.fields[k].contents()
tokens, types = field("tokenizer.ggml.tokens")[:400], field("tokenizer.ggml.token_type")[:400]
merges = [m for m in field("tokenizer.ggml.merges") if {*m.split(" ", 1), m.replace(" ", "", 1)} <= set(tokens)]
tokenizer = [
    kv("tokenizer.ggml.model", 8, string("gpt2")), kv("tokenizer.ggml.pre", 8, string("smollm")),
    kv("tokenizer.ggml.tokens", 9, array(8, [string(t) for t in tokens])),
    kv("tokenizer.ggml.token_type", 9, array(5, [struct.pack("<i", t) for t in types])),
    kv("tokenizer.ggml.merges", 9, array(8, [string(m) for m in merges])),
    kv("tokenizer.ggml.eos_token_id", 4, struct.pack("<I", 2)),
    kv("tokenizer.chat_template", 8, string(field("tokenizer.chat_template"))),
]
open(f"{sys.argv[2]}/tokenizer.gguf", "wb").write(gguf_file(3, tokenizer, []))
PY

"$tool" convert -f --to bf16 "$work/tiny.bin" -o "$work/tiny_bf16.safetensors" >/dev/null
"$tool" compress -f "$work/tiny.bin" -o "$here/corpus/llama2c_f32.wsz" --chunk 16 >/dev/null
"$tool" compress -f "$work/tiny_bf16.safetensors" -o "$here/corpus/bf16_lanes2_L5.wsz" --chunk 8 --lanes 2 --table-log 5 >/dev/null
"$tool" compress -f "$work/mixed.safetensors" -o "$here/corpus/mixed_lanes1.wsz" --chunk 5 --lanes 1 >/dev/null
"$tool" compress -f "$work/mixed.safetensors" -o "$here/corpus/mixed_lanes8.wsz" --lanes 8 --table-log 12 >/dev/null
"$tool" compress -f "$work/sparse24.safetensors" -o "$here/corpus/sparse24_rows1.wsz" --chunk 8 >/dev/null
"$tool" compress -f "$work/sparse24.safetensors" -o "$here/corpus/sparse24_lanes8.wsz" --lanes 8 >/dev/null
"$tool" compress -f "$work/formats.safetensors" -o "$here/corpus/formats_chunk8.wsz" --chunk 8 --lanes 2 >/dev/null
"$tool" compress -f "$here/corpus_gguf/v3_every_type.gguf" -o "$here/corpus/gguf_chunk64.wsz" --chunk 64 >/dev/null
"$tool" compress -f "$here/corpus_gguf/v2_align64.gguf" -o "$here/corpus/gguf_lanes1.wsz" --lanes 1 --table-log 5 >/dev/null
"$tool" compress -f "$work/opaque.bin" -o "$here/corpus/opaque.wsz" >/dev/null
"$tool" compress -f "$work/empty.bin" -o "$here/corpus/empty.wsz" >/dev/null
python3 - "$here/corpus/llama2c_f32.wsz" "$here/corpus" <<'PY'
# Index edits of a version-3 container of fp32 tensors (format id 3, no parameters), footer CRC fixed.
import struct, sys, zlib
wsz = open(sys.argv[1], "rb").read()
off, size = struct.unpack_from("<QQ", wsz, len(wsz) - 24)
ix = wsz[off:off + size]
kind, source, content, count = struct.unpack_from("<BQQI", ix, 0)
assert struct.unpack_from("<H", wsz, 4)[0] == 3
p, segs = 21, []
for _ in range(count):
    k = ix[p]
    if k == 0:
        segs.append({"kind": 0, "raw": ix[p:p + 21]}); p += 21; continue
    n = struct.unpack_from("<H", ix, p + 1)[0]
    name = ix[p + 3:p + 3 + n]; q = p + 3 + n
    assert ix[q] in (1, 2, 3); fmt = ix[q]; rank = ix[q + 1]; q += 2
    dims = ix[q:q + 8 * rank + 8]; q += 8 * rank + 8
    nc = struct.unpack_from("<I", ix, q)[0]; q += 4
    chunks = [ix[q + 16 * j:q + 16 * j + 16] for j in range(nc)]
    segs.append({"kind": k, "name": name, "fmt": fmt, "rank": rank, "dims": dims, "chunks": chunks}); p = q + 16 * nc
assert p == len(ix)
def write(path, segs, content=content):
    out = struct.pack("<BQQI", kind, source, content, len(segs))
    for s in segs:
        if s["kind"] == 0: out += s["raw"]; continue
        out += bytes([s["kind"]]) + struct.pack("<H", len(s["name"])) + s["name"] + bytes([s["fmt"], s["rank"]])
        out += s["dims"] + struct.pack("<I", len(s["chunks"])) + b"".join(s["chunks"])
    body = wsz[:off] + out
    open(path, "wb").write(body + struct.pack("<QQI", off, len(out), zlib.crc32(out)) + b"WSZE")
byname = {s["name"]: s for s in segs if s["kind"]}
import copy
e = copy.deepcopy(segs); t = [s for s in e if s.get("name") == b"wq"][0]; t["chunks"][0], t["chunks"][1] = t["chunks"][1], t["chunks"][0]
write(f"{sys.argv[2]}/crafted_swap.wsz", e)
e = copy.deepcopy(segs); t = [s for s in e if s.get("name") == b"wq"][0]; t["chunks"][2] = t["chunks"][1]
write(f"{sys.argv[2]}/crafted_dup.wsz", e)
e = copy.deepcopy(segs); a = [s for s in e if s.get("name") == b"wq"][0]; b = [s for s in e if s.get("name") == b"wo"][0]
a["name"], b["name"] = b["name"], a["name"]
write(f"{sys.argv[2]}/crafted_rename.wsz", e)
write(f"{sys.argv[2]}/crafted_content.wsz", segs, content ^ 1)
PY
# Version 4 (docs/format.md section 4.3): the tiny model's FFN cut into LTE experts of 3 neurons (8 = 3 + 3
# + 2: w1/w3 rows, w2 column blocks), and the crafted expert indexes the reader must refuse by name:
# overlapping, out-of-range and missing expert chunks.
"$tool" lte-experts "$work/tiny.bin" -o "$work/tiny_experts.safetensors" --expert-size 3 >/dev/null
"$tool" compress -f --lte "$work/tiny_experts.safetensors" "$work/tiny.bin" -o "$work/lte_experts.wsz" >/dev/null
cp "$work/lte_experts.wsz" "$here/corpus/lte_experts.wsz"  # the side file beside it stays behind
# The crafted expert indexes of a version-4 container (argument 1); with a file name (argument 2), only
# that one instead, of a version-5 container: a 2:4 column block that is not whole groups of 4.
lte_crafted() {
python3 - "$1" "$here/corpus" "${2:-}" <<'PY'
import struct, sys, zlib
wsz = open(sys.argv[1], "rb").read()
version = struct.unpack_from("<H", wsz, 4)[0]
assert version == (5 if sys.argv[3] else 4)
off, size = struct.unpack_from("<QQ", wsz, len(wsz) - 24)
ix = bytearray(wsz[off:off + size])
count = struct.unpack_from("<I", ix, 17)[0]
p, keys = 21, {}  # tensor name -> offset of its first expert key (16 bytes: matrix, expert, first, count)
for _ in range(count):
    k = ix[p]
    if k == 0:
        p += 21; continue
    n = struct.unpack_from("<H", ix, p + 1)[0]
    name = bytes(ix[p + 3:p + 3 + n]); q = p + 3 + n
    assert ix[q] in (1, 2, 3); rank = ix[q + 1]; q += 2 + 8 * rank + 8
    nc = struct.unpack_from("<I", ix, q)[0]; q += 4 + 16 * nc
    if k == 1 or (k == 2 and version >= 5):  # the expert layout: dense records from version 4, 2:4 from 5
        layout = ix[q]; q += 1
        if layout: keys[name] = q; q += 16 * nc
    p = q
assert p == len(ix) and set(keys) == {b"w1", b"w2", b"w3"}
def write(path, edit):
    out = bytearray(ix); edit(out)
    open(path, "wb").write(wsz[:off] + out + struct.pack("<QQI", off, len(out), zlib.crc32(out)) + b"WSZE")
def field(name, chunk, k):  # k: 0 matrix, 1 expert, 2 first, 3 count
    return keys[name] + 16 * chunk + 4 * k
if sys.argv[3]:  # 2:4 expert chunks: a w2 column block of 2 columns, not whole groups of 4
    def cols2(b):
        struct.pack_into("<I", b, field(b"w2", 0, 3), 2)
        struct.pack_into("<II", b, field(b"w2", 1, 2), 2, 6)
    write(f"{sys.argv[2]}/{sys.argv[3]}", cols2)
    sys.exit(0)
write(f"{sys.argv[2]}/crafted_lte_overlap.wsz", lambda b: struct.pack_into("<I", b, field(b"w1", 1, 2), 1))
write(f"{sys.argv[2]}/crafted_lte_range.wsz", lambda b: struct.pack_into("<I", b, field(b"w2", 2, 3), 9))
write(f"{sys.argv[2]}/crafted_lte_matrix.wsz", lambda b: struct.pack_into("<I", b, field(b"w3", 2, 0), 7))
write(f"{sys.argv[2]}/crafted_lte_expert.wsz", lambda b: struct.pack_into("<I", b, field(b"w1", 2, 1), 1))
PY
}
lte_crafted "$here/corpus/lte_experts.wsz"
# Version 5, 2:4 expert chunks (docs/lte.md, "2:4 and LTE"): the tiny model pruned 2:4 (magnitude) with w2's shuffle
# inside experts of 4 neurons, as bf16: w1/w3 2:4 row chunks, w2 2:4 column blocks (row segments of 4).
"$tool" lte-experts "$work/tiny.bin" -o "$work/tiny_experts4.safetensors" --expert-size 4 >/dev/null
"$tool" prune "$work/tiny.bin" -o "$work/tiny_pruned.safetensors" --method magnitude --calib-len 2 --lte "$work/tiny_experts4.safetensors" >/dev/null
"$tool" convert -f --to bf16 "$work/tiny_pruned.safetensors" -o "$work/tiny_pruned_bf16.safetensors" >/dev/null
"$tool" compress -f --lte "$work/tiny_experts4.safetensors" "$work/tiny_pruned_bf16.safetensors" -o "$work/lte_sparse24_experts.wsz" >/dev/null
cp "$work/lte_sparse24_experts.wsz" "$here/corpus/lte_sparse24_experts.wsz"
lte_crafted "$here/corpus/lte_sparse24_experts.wsz" crafted_lte_sparse24_cols.wsz
cp "$work/mixed.safetensors" "$here/corpus/source_mixed.safetensors"  # also seeds the source parsers
cp "$here/corpus_gguf/v3_every_type.gguf" "$here/corpus/source_every_type.gguf"  # the detector's GGUF path
du -cb "$here"/corpus/* "$here"/corpus_gguf/* | tail -1
