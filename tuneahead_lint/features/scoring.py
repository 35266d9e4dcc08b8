"""Reference perplexity: how surprising the data is to the base model.

A seeded sample of ``ppl_sample`` records (same input, same sample) is scored
as ``prompt + "\\n\\n" + response``, truncated to ``ppl_max_tokens`` base-model
tokens. A record's perplexity is exp(mean next-token NLL). The model runs in
bfloat16 on a CPU that computes it natively (half the CPU time; alpaca's
sample mean moves 0.2%, 0.02 of its standard error), else in float32
(:func:`~tuneahead_lint.basemodel.scoring_dtype`); the log-softmax is float32
either way. Per-text results are cached (:mod:`tuneahead_lint.cache`) under
the dtype. torch loads in
:func:`record_perplexities` only when some text is not cached. The features
over these numbers are in :mod:`tuneahead_lint.features.static.perplexity`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tuneahead_lint.basemodel import model_id, scoring_dtype

if TYPE_CHECKING:
    from tuneahead_lint.features.config import FeatureConfig

# Padded tokens per batch. The (tokens x 49k-vocab) float32 logits and their
# log-softmax are the cold lint's memory peak: 256 instead of 1024 measured
# 1,115 vs 1,649 MB peak RSS for the 64-record alpaca sample, 23.1 vs 23.8 CPU s
# (one thread), mean perplexity equal to 6 decimals (2048: 25-40% slower).
_BATCH_TOKENS = 256


def record_perplexities(texts: Sequence[str], cfg: FeatureConfig,
                        torch_threads: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Perplexity per text (float64) and run info (cached/scored counts);
    ``torch_threads`` > 0 runs torch on that many threads meanwhile."""
    from tuneahead_lint.cache import VectorCache, cached_values, namespace

    params = {"model": model_id(cfg.base_model), "max_tokens": cfg.ppl_max_tokens,
              "dtype": scoring_dtype(cfg.device) if cfg.ppl_dtype == "auto" else cfg.ppl_dtype}
    cache = VectorCache(cfg.cache_path(), namespace("perplexity", params), dtype="float64")
    try:
        values, scored = cached_values(texts, cache, lambda todo: _score(todo, cfg, params["dtype"], torch_threads),
                                       label="perplexity")
    finally:
        cache.close()
    nll = np.array(values).reshape(-1, 2)
    ppl = np.exp(nll[:, 0] / np.maximum(nll[:, 1], 1))
    info = {**params, "records": len(texts), "scored": scored,
            "tokens": int(nll[:, 1].sum()),
            "corpus_ppl": float(np.exp(nll[:, 0].sum() / max(nll[:, 1].sum(), 1)))}
    return ppl, info


def _score(texts: Sequence[str], cfg: FeatureConfig, dtype: str, threads: int = 0) -> list[np.ndarray]:
    """[sum NLL, predicted tokens] per text, batched by length; torch on
    ``threads`` threads (0: as it is)."""
    from tuneahead_lint.basemodel import MODEL_LOAD_LOCK

    with MODEL_LOAD_LOCK:
        import torch

    before = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        return _score_batches(texts, cfg, dtype)
    finally:
        torch.set_num_threads(before)


def _score_batches(texts: Sequence[str], cfg: FeatureConfig, dtype: str) -> list[np.ndarray]:
    import torch

    from tuneahead_lint import progress
    from tuneahead_lint.basemodel import default_device, load_causal_lm
    from tuneahead_lint.features.embed.embedder import length_batches

    device = cfg.device or default_device()
    # The Rust tokenizer gives the same ids as the transformers one (checked
    # on alpaca_5000) without its 2 s load; truncation = the first ids.
    ids = _token_ids(texts, cfg)
    model, _ = load_causal_lm(cfg.base_model, device=device, dtype=dtype, tokenizer=False)
    out: list[np.ndarray] = [np.zeros(2)] * len(texts)
    lengths = np.array([len(x) for x in ids])
    with torch.inference_mode():
        for batch in length_batches(lengths, _BATCH_TOKENS, max_rows=32):
            for row, stat in zip(batch, _batch_nll([ids[i] for i in batch], model, device)):
                out[row] = stat
            progress.advance(len(batch))
    return out


def _token_ids(texts: Sequence[str], cfg: FeatureConfig) -> list[list[int]]:
    from tuneahead_lint.basemodel import BaseModelError, fast_tokenizer, load_tokenizer

    try:
        tok = fast_tokenizer(cfg.base_model)
    except BaseModelError:  # no tokenizer.json: the transformers tokenizer
        enc = load_tokenizer(cfg.base_model)(list(texts), truncation=True, max_length=cfg.ppl_max_tokens,
                                             add_special_tokens=False)
        return [list(x) for x in enc["input_ids"]]
    return [e.ids[:cfg.ppl_max_tokens] for e in tok.encode_batch(list(texts), add_special_tokens=False)]


def _batch_nll(rows: list[list[int]], model, device: str) -> list[np.ndarray]:  # noqa: ANN001
    import torch

    width = max(len(r) for r in rows)
    # Right padding under the attention mask: the pad id never reaches a
    # scored position (causal attention, masked NLL), so any id will do.
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for k, r in enumerate(rows):
        ids[k, :len(r)] = torch.tensor(r)
        mask[k, :len(r)] = 1
    ids, mask = ids.to(device), mask.to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    # Flattened (rows*tokens, vocab): 2x faster than cross_entropy on (B, V, T).
    nll = torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
    nll = nll.view(len(rows), width - 1) * mask[:, 1:]
    sums, counts = nll.sum(1).cpu().numpy(), mask[:, 1:].sum(1).cpu().numpy()
    return [np.array([s, n], np.float64) for s, n in zip(sums, counts)]
