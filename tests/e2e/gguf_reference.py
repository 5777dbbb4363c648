#!/usr/bin/env python3
"""Every tensor of a real GGUF file, dequantized by `weightstream convert --to fp32`, against the gguf
PyPI package's dequantize (llama.cpp's own Python reference), value by value and bit for bit: names,
shapes (GGUF's ne reversed) and the fp32 bit pattern of every value. Installs gguf and numpy with pip
when missing. Exits non-zero on any mismatch, missing tensor or a file without the quantized types.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import pyrequire  # noqa: E402  (the one on-first-use pip installer)


def require(*modules):
    """Imports the modules, installing their PyPI packages first if any is missing."""
    return pyrequire.require(modules, ["gguf", "numpy"], "gguf_reference")


def read_safetensors(path, np):
    """{name: (shape, float32 array)} of an F32 safetensors file, memory-mapped."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    n = int(raw[:8].view(np.uint64)[0])
    header = json.loads(bytes(raw[8:8 + n]))
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        if e["dtype"] != "F32":
            sys.exit(f"gguf_reference: {name} is {e['dtype']} in the converted file, not F32")
        begin, end = e["data_offsets"]
        out[name] = (e["shape"], raw[8 + n + begin:8 + n + end].view(np.float32))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    if not args.gguf or not Path(args.gguf).is_file():
        sys.exit(f"gguf_reference: GGUF file '{args.gguf}' not found (run make deps, then reconfigure)")
    np, gguf = require("numpy", "gguf")
    from gguf.quants import dequantize

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    converted = work / "fp32.safetensors"
    subprocess.run([args.tool, "convert", "--to", "fp32", args.gguf, "-o", str(converted)], check=True)
    ours = read_safetensors(converted, np)

    reader = gguf.GGUFReader(args.gguf)
    tensors = values = mismatches = 0
    by_type = {}
    for t in reader.tensors:
        kind = t.tensor_type.name
        ref = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(-1)
        shape = [int(d) for d in reversed(t.shape)]
        if t.name not in ours:
            print(f"gguf_reference: tensor {t.name} missing from the converted file")
            mismatches += ref.size
            continue
        got_shape, got = ours.pop(t.name)
        if got_shape != shape or got.size != ref.size:
            print(f"gguf_reference: {t.name}: shape {got_shape}, reference {shape}")
            mismatches += ref.size
            continue
        bad = int(np.count_nonzero(got.view(np.uint32) != ref.view(np.uint32)))
        if bad:
            i = int(np.flatnonzero(got.view(np.uint32) != ref.view(np.uint32))[0])
            print(f"gguf_reference: {t.name} ({kind}): {bad} values differ, first at {i}: "
                  f"{got[i]!r} vs {ref[i]!r}")
        mismatches += bad
        tensors += 1
        values += ref.size
        by_type[kind] = by_type.get(kind, 0) + 1
    mismatches += sum(v[1].size for v in ours.values())  # tensors the reference does not have
    converted.unlink()

    print(f"gguf_reference: {tensors} tensors ({', '.join(f'{n} {k}' for k, n in sorted(by_type.items()))}), "
          f"{values} values, {mismatches} mismatches")
    # The claim is about the quantized types: a file without them would prove nothing.
    if mismatches or tensors != len(reader.tensors) or not {"Q4_1", "Q8_0", "F32"} <= by_type.keys():
        sys.exit(1)


if __name__ == "__main__":
    main()
