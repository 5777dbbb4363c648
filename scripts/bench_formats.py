#!/usr/bin/env python3
"""Compression of the bundled model (stories260K) under each number format, through the real tool:
`weightstream compress --format F --round` (int8 / int4: a per-tensor absmax scale first, written here
as an I8 / metadata-named U8 safetensors file that `compress` codes as it is), then `inspect --json`.
Prints bits per weight of the coded tensors against their order-0 entropy bound (docs/numfmt.md
section 8) and writes build/reports/formats.json.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, --format name or None for the file as it is, or "absmax:<bits>"; the format's width in bits)
FORMATS = [
    ("fp32 (exact)", None, 32),
    ("bf16", "bf16", 16),
    ("fp16", "fp16", 16),
    ("posit16 (es 2)", "posit16", 16),
    ("posit16 (es 1)", "posit16_1", 16),
    ("fp8 E4M3", "e4m3", 8),
    ("fp8 E5M2", "e5m2", 8),
    ("posit8 (es 2)", "posit8", 8),
    ("int8 (absmax/tensor)", "absmax:8", 8),
    ("int4 (absmax/tensor)", "absmax:4", 4),
]

LLAMA_NAMES = ["token_embedding_table", "rms_att_weight", "wq", "wk", "wv", "wo", "rms_ffn_weight", "w1", "w2",
               "w3", "rms_final_weight", "freq_cis_real", "freq_cis_imag"]


def llama2c_tensors(path):
    """(name, shape, list of floats) of a llama2.c .bin with a shared classifier."""
    data = Path(path).read_bytes()
    dim, hidden, layers, heads, kv_heads, vocab, seq = struct.unpack("<7i", data[:28])
    kv_dim, half = dim * kv_heads // heads, dim // heads // 2
    shapes = [[abs(vocab), dim], [layers, dim], [layers, dim, dim], [layers, kv_dim, dim], [layers, kv_dim, dim],
              [layers, dim, dim], [layers, dim], [layers, hidden, dim], [layers, dim, hidden],
              [layers, hidden, dim], [dim], [seq, half], [seq, half]]
    values = array("f")
    values.frombytes(data[28:])
    out, at = [], 0
    for name, shape in zip(LLAMA_NAMES, shapes):
        n = 1
        for d in shape:
            n *= d
        out.append((name, shape, values[at:at + n]))
        at += n
    return out


def absmax_safetensors(model, bits, path):
    """Symmetric per-tensor absmax quantisation to `bits`-bit integers (round half to even), as I8
    (8 bits) or as U8 holding the two's complement nibble with the format named in __metadata__."""
    top = (1 << (bits - 1)) - 1
    header, blobs, off = {"__metadata__": {}}, [], 0
    for name, shape, vals in model:
        amax = max(abs(v) for v in vals) or 1.0
        q = [max(-top, min(top, round(v / amax * top))) for v in vals]
        blob = bytes((x & ((1 << bits) - 1)) if bits < 8 else (x & 0xff) for x in q)
        dtype = "I8" if bits == 8 else "U8"
        if bits != 8:
            header["__metadata__"][f"weightstream.format.{name}"] = f"int{bits}"
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    if not header["__metadata__"]:
        del header["__metadata__"]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tool(build, *args):
    return subprocess.run([str(build / "bin" / "weightstream"), *map(str, args)], check=True, capture_output=True,
                          text=True).stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default=os.environ.get("WS_DATA_DIR", str(ROOT.parent / "shared" / "data")) +
                    "/stories260K.bin")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    model = None
    rows = []
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for label, fmt, width in FORMATS:
            wsz = work / "out.wsz"
            if fmt is None:
                tool(build, "compress", "-f", args.model, "-o", wsz)
            elif fmt.startswith("absmax:"):
                model = model or llama2c_tensors(args.model)
                src = work / "q.safetensors"
                absmax_safetensors(model, int(fmt[7:]), src)
                tool(build, "compress", "-f", src, "-o", wsz)
            else:
                tool(build, "compress", "-f", args.model, "-o", wsz, "--format", fmt, "--round")
            rep = json.loads(tool(build, "inspect", "--json", wsz))
            values = sum(t["values"] for t in rep["tensors"])
            coded = sum(t["compressed_bytes"] for t in rep["tensors"])
            bound = sum(t["bound_bits"] for t in rep["tensors"])
            formats = sorted({t["format"] for t in rep["tensors"]})
            rows.append({"format": label, "stored_as": ",".join(formats), "width": width, "values": values,
                         "file_bytes": rep["file_bytes"], "tensor_bytes": coded,
                         "bits_per_weight": 8 * coded / values, "bound_bits_per_weight": bound / values,
                         "file_bits_per_weight": rep["total"]["bits_per_weight"]})
    print(f"stories260K ({rows[0]['values']} weights), `weightstream compress` defaults (chunks of 65,536 values, "
          "table log 11, 4 lanes); bits per weight of the coded tensors (chunks and index records)")
    print()
    print("| format | stored as | .wsz bytes | bound | achieved | over bound | vs width | whole file |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['format']} | {r['stored_as']} | {r['file_bytes']:,} | {r['bound_bits_per_weight']:.3f} | "
              f"{r['bits_per_weight']:.3f} | {100 * (r['bits_per_weight'] / r['bound_bits_per_weight'] - 1):+.2f}% | "
              f"{r['bits_per_weight'] / r['width']:.3f} | {r['file_bits_per_weight']:.3f} |")
    reports = build / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "formats.json").write_text(json.dumps(rows, indent=2) + "\n")
    for r in rows:
        if r["bound_bits_per_weight"] > r["bits_per_weight"]:
            sys.exit(f"error: {r['format']}: bound above the achieved size")


if __name__ == "__main__":
    main()
