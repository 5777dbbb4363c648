"""What the train/*/reference.py scripts share with tests/common/jax_reference.hpp: the command line
(--model M, --side S, --ids "1 2 3,4 5": ids space-separated, sequences comma-separated, --out-logits L)
and the outputs, float32 [positions][...] of every sequence in order, each sequence from position 0."""
import argparse

import numpy as np


def parser(doc, side_required):
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--side", required=side_required)
    ap.add_argument("--ids", required=True, help="sequences of token ids, comma-separated")
    ap.add_argument("--out-logits", required=True)
    return ap


def sequences(ids):
    """Each sequence of --ids as int32 [1, T]."""
    return [np.asarray([[int(t) for t in seq.split()]], dtype=np.int32) for seq in ids.split(",")]


def write_f32(path, per_sequence):
    np.concatenate(per_sequence).astype(np.float32).tofile(path)
