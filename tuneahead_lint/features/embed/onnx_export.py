"""Export a mean-pooling sentence-transformers model to ONNX, once.

The exported graph (and its int8 variant) is written to the cache folder,
keyed by the model folder's file sizes and times; later runs load it in
milliseconds. Needs ``torch``, ``onnx`` and ``onnxruntime`` (imported here,
only when the ONNX backend is chosen).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

from tuneahead_lint.atomic import atomic_path
from tuneahead_lint.basemodel import cache_root
from tuneahead_lint.errors import EmbedderError


def _fingerprint(folder: Path) -> str:
    h = hashlib.sha256(str(folder).encode())
    for p in sorted(folder.glob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def check_mean_pooling(folder: Path) -> None:
    """Raise :class:`EmbedderError` unless the model pools by the mean of its tokens."""
    cfg = folder / "1_Pooling" / "config.json"
    if not cfg.exists() or not json.loads(cfg.read_text()).get("pooling_mode_mean_tokens"):
        raise EmbedderError(f"{folder}: the onnx and torch-bf16 backends support mean-pooling models only; "
                            "use backend torch")


def exported_model(source: str, quantized: bool) -> Path:
    """Path of the ONNX file for the model folder ``source`` (exported and,
    if ``quantized``, int8-quantised on first use)."""
    folder = Path(source)
    check_mean_pooling(folder)
    out = cache_root() / "models" / f"embedder-{_fingerprint(folder)}"
    fp32, int8 = out / "model.onnx", out / "model.int8.onnx"
    if not fp32.exists():
        out.mkdir(parents=True, exist_ok=True)
        _export(folder, fp32)
    if quantized and not int8.exists():
        _quantize(fp32, int8)
    return int8 if quantized else fp32


def _export(folder: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    class _Hidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    model = _Hidden(AutoModel.from_pretrained(str(folder)).eval())
    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {"b": 0, "s": 1}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    dynamic = {n: {v: k for k, v in axes.items()} for n in [*names, "last_hidden_state"]}
    with atomic_path(target) as tmp, torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches
        torch.onnx.export(model, (dummy, dummy, torch.zeros_like(dummy)), str(tmp),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)


def offline_onnxruntime():
    """``onnxruntime`` with its telemetry off: on Linux it otherwise looks up
    mobile.events.data.microsoft.com (10-12 DNS queries in one cold lint,
    measured with strace). ``ORT_DISABLE_TELEMETRY`` must be set before the
    import to stop it all; the API call stops later events. Returns the module."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    ort.disable_telemetry_events()
    return ort


def _quantize(fp32: Path, target: Path) -> None:
    offline_onnxruntime()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Unsigned per-channel weights: signed int8 saturates on AVX2 CPUs without
    # VNNI and costs 0.04 of cosine; QUInt8 keeps cosine to fp32 near 0.99.
    with atomic_path(target) as tmp:
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QUInt8, per_channel=True)
