"""Embedder backend choice, cache keys, batching, and int8 vs fp32 vectors
on real alpaca records; the perplexity tokenizer shortcut."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.features.conftest import records
from tuneahead_lint.features.embed import embedder
from tuneahead_lint.features.embed.embedder import Embedder, _onnx_available, length_batches

needs_onnx = pytest.mark.skipif(not _onnx_available(), reason="onnxruntime/onnx not installed")


def _texts(n: int = 60) -> list[str]:
    recs = records("alpaca_120.jsonl")[:n]
    return [r["instruction"] for r in recs] + [r["output"] for r in recs]


@needs_onnx
def test_auto_is_fp32_onnx_on_cpu_without_bf16(monkeypatch) -> None:
    """int8 is opt-in: its vectors depend on the batch (see the module doc)."""
    monkeypatch.setattr(embedder, "cpu_has_bf16", lambda: False)
    emb = Embedder(device="cpu")
    assert emb.resolved_backend() == "onnx"
    assert emb.get_params()["numerics"] == "fp32"


def test_auto_is_bf16_torch_on_a_bf16_cpu(monkeypatch) -> None:
    monkeypatch.setattr(embedder, "cpu_has_bf16", lambda: True)
    emb = Embedder(device="cpu")
    assert emb.resolved_backend() == "torch-bf16"
    assert emb.get_params()["numerics"] == "bf16"
    assert Embedder(device="cuda").resolved_backend() == "torch"


def test_explicit_backends_and_cuda() -> None:
    assert Embedder(backend="onnx").get_params()["numerics"] == "fp32"
    assert Embedder(backend="torch").get_params()["numerics"] == "fp32"
    assert Embedder(backend="onnx-int8").get_params()["numerics"] == "int8"
    assert Embedder(device="cuda").resolved_backend() == "torch"
    # torch and fp32 ONNX share vectors, int8 has its own cache namespace
    assert Embedder(backend="onnx").get_params() == Embedder(backend="torch").get_params()
    assert Embedder(backend="onnx").get_params() != Embedder(backend="onnx-int8").get_params()


def test_cache_key_needs_no_torch_import() -> None:
    """A warm run computes the key of ``auto`` without importing torch."""
    code = ("import sys; from tuneahead_lint.features.embed.embedder import Embedder; "
            "Embedder().get_params(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_length_batches_respect_the_token_budget() -> None:
    lengths = np.array([len(t.split()) + 2 for t in _texts()])
    batches = length_batches(lengths, 64)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    for b in batches:
        assert len(b) == 1 or len(b) * lengths[b].max() <= 64


@pytest.mark.slow
@needs_onnx
def test_int8_close_to_fp32_on_real_texts() -> None:
    texts = _texts()
    fp32 = Embedder(backend="onnx").encode(texts)
    int8 = Embedder(backend="onnx-int8").encode(texts)
    cos = np.einsum("ij,ij->i", fp32, int8)
    assert cos.mean() > 0.98 and cos.min() > 0.93
    # the batch size does not change fp32 vectors
    small = Embedder(backend="onnx", batch_tokens=256).encode(texts)
    assert np.abs(small - fp32).max() < 1e-4


@pytest.mark.slow
@needs_onnx
def test_bf16_close_to_fp32_and_independent_of_batch_and_workers() -> None:
    texts = _texts()
    fp32 = Embedder(backend="onnx").encode(texts)
    bf16 = Embedder(backend="torch-bf16").load()
    vecs = bf16.encode(texts)
    cos = np.einsum("ij,ij->i", fp32, vecs)
    assert cos.mean() > 0.9999 and cos.min() > 0.9995
    bf16.workers_ = 1
    assert np.array_equal(bf16.encode(texts), vecs)  # one worker or two: the same batches, the same vectors
    alone = np.concatenate([bf16.encode([t]) for t in texts[:8]])
    assert np.abs(alone - vecs[:8]).max() < 2e-3  # a text's vector hardly moves with its batch-mates


@pytest.mark.slow
def test_perplexity_token_ids_match_transformers_tokenizer() -> None:
    from tuneahead_lint.basemodel import load_tokenizer
    from tuneahead_lint.features import FeatureConfig
    from tuneahead_lint.features.scoring import _token_ids

    recs = records("alpaca_120.jsonl")
    texts = [f"{r['instruction']}\n\n{r['output']}" for r in recs]
    cfg = FeatureConfig(ppl_max_tokens=32)
    want = load_tokenizer(None)(texts, truncation=True, max_length=32, add_special_tokens=False)["input_ids"]
    assert _token_ids(texts, cfg) == [list(x) for x in want]


_LOAD_BOTH = """
import threading
from tuneahead_lint import basemodel
from tuneahead_lint.features.embed import embedder
errors = []
def run(load):
    try:
        load()
    except Exception as exc:
        errors.append(repr(exc))
loads = (lambda: basemodel.load_causal_lm(None, device="cpu", dtype="bfloat16", tokenizer=False),
         lambda: embedder.Embedder(backend="torch-bf16").load())
threads = [threading.Thread(target=run, args=(f,)) for f in loads]
[t.start() for t in threads]
[t.join() for t in threads]
print(errors or "ok")
"""


@pytest.mark.slow
def test_base_model_and_embedder_load_in_two_threads_at_once() -> None:
    """The perplexity thread and the embedder import from transformers at the same time in a
    small lint; without MODEL_LOAD_LOCK that raised "cannot import name 'AutoModel'" (3 of 3 runs)."""
    out = subprocess.run([sys.executable, "-c", _LOAD_BOTH], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "ok"
