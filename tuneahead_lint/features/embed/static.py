"""Static embeddings: the cheap first stage of the semantic cascade.

``models/static-minilm-l6-v2`` is all-MiniLM-L6-v2 distilled by model2vec
into one 256-d vector per word piece (see its CARD.md): a text's vector is
the mean of its pieces' vectors, about 100x cheaper than running MiniLM. It
embeds every record so that MiniLM runs only on the records the cascade
picks (see :mod:`tuneahead_lint.features.embed.cascade`). Texts are cut to
the same 128 word pieces MiniLM reads. model2vec is imported in
:func:`static_model`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache

import numpy as np

from tuneahead_lint.features.embed.blocks import BlockMap, local_map
from tuneahead_lint.resources import data_dir

STATIC_MODEL = "static-minilm-l6-v2"


@cache
def static_model():
    """The shipped model2vec model (loaded once per process, offline)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec import StaticModel

    return StaticModel.from_pretrained(str(data_dir("models") / STATIC_MODEL))


BLOCK_TEXTS = 16_384  # texts per block (a multiple of model2vec's 1,024-text batches)
BLOCKS_PER_ROUND = 16  # blocks in flight at once: bounds the memory of the partial results


def static_encode(texts: Sequence[str], max_tokens: int = 128, mapper: BlockMap = local_map) -> np.ndarray:
    """(len(texts), 256) float32 unit vectors, in input order, encoded in
    blocks of :data:`BLOCK_TEXTS` by ``mapper`` (this process, or Ray
    tasks), :data:`BLOCKS_PER_ROUND` at a time. A text's vector is the mean
    of its pieces' vectors, so it does not depend on the block it lands in."""
    out = np.empty((len(texts), 256), np.float32)
    starts = range(0, len(texts), BLOCK_TEXTS)
    for first in range(0, len(starts), BLOCKS_PER_ROUND):
        round_starts = starts[first:first + BLOCKS_PER_ROUND]
        blocks = [list(texts[i:i + BLOCK_TEXTS]) for i in round_starts]
        for start, vecs in zip(round_starts, mapper(encode_block, blocks, max_tokens)):
            out[start:start + len(vecs)] = vecs
    return out


def encode_block(texts: list[str], max_tokens: int) -> np.ndarray:
    """Unit static vectors of one block of texts."""
    vecs = static_model().encode(texts, max_length=max_tokens, use_multiprocessing=False)
    return unit(np.asarray(vecs, np.float32))


def unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
