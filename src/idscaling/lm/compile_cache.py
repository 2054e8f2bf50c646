"""One compile per shape per sweep: torch.compile's on-disk caches in a folder every job shares.

Inductor keeps compiled graphs (FX graph cache), AOTAutograd's joint graphs and, on a GPU, Triton
kernels on disk, keyed by the graph and the torch version; a later process compiling the same
model at the same shape loads them instead of compiling again. By default they live in
``/tmp/torchinductor_<user>``, which on a cluster is per node and gone after the job, so every
training job of a sweep pays the full compile. Pointing them at one folder in the working
directory (a shared file system on a cluster) lets the first job of each shape pay it. Inductor
writes its cache entries atomically, so concurrent jobs may share the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["use_compile_cache"]


def use_compile_cache(folder: str | os.PathLike) -> Path:
    """Make torch.compile in this process (and the processes it starts) cache under ``folder``;
    call before the first compile. Returns the absolute folder."""
    root = Path(folder).resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(root / "inductor")
    os.environ["TRITON_CACHE_DIR"] = str(root / "triton")
    os.environ["TORCHINDUCTOR_FX_GRAPH_CACHE"] = "1"
    os.environ["TORCHINDUCTOR_AUTOGRAD_CACHE"] = "1"
    return root
