"""The training framework, installed from PyPI on first use (docs/lte.md "Install cost"): JAX on CPU
(jax + jaxlib, CPU-only wheels, no CUDA), optax for Adam, safetensors for the files the C++ tool reads
and writes. Pinned, so a training run is reproducible from its seed."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import pyrequire  # noqa: E402  (the one on-first-use pip installer)

PINNED = ["jax==0.10.2", "jaxlib==0.10.2", "optax==0.2.8", "safetensors==0.8.0", "numpy"]

# Before jax and numpy load: XLA's and BLAS's thread pools fighting over 2 shared cores are slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def require():
    """Imports jax, optax, safetensors.numpy and numpy, pip-installing the pinned packages if one is missing."""
    return pyrequire.require(["numpy", "jax", "optax", "safetensors.numpy"], PINNED, "train")
