"""The hashing embedder the rule cases use instead of MiniLM behaves as the
cases assume: shared words give high cosine, none give zero, and the same
text gives the same vector in every process (no salted hash)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.rules.fakes import HashingEmbedder

ROOT = Path(__file__).resolve().parents[2]
CLIMATE = "One solution to address the global climate crisis is the introduction of carbon taxes."


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_same_words_in_another_case_and_punctuation_have_cosine_one():
    a, b = HashingEmbedder().encode([CLIMATE, CLIMATE.upper().replace(".", "!")])
    assert abs(_cos(a, b) - 1.0) < 1e-6


def test_disjoint_words_have_cosine_zero_and_a_paraphrase_lies_between():
    a, b, c = HashingEmbedder().encode([CLIMATE, "zxqv qqqq 0101",
                                        "A good solution to tackle the global climate crisis is a carbon tax."])
    assert abs(_cos(a, b)) < 1e-6
    assert 0.5 < _cos(a, c) < 0.95


def test_vectors_are_unit_length_or_zero():
    vecs = HashingEmbedder(dim=64).encode([CLIMATE, "", "word"])
    assert vecs.shape == (3, 64) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs[[0, 2]], axis=1), 1.0) and not vecs[1].any()


def test_the_same_text_lands_in_the_same_buckets_in_every_process():
    code = ("from tests.rules.fakes import HashingEmbedder; import numpy as np; "
            "print(np.flatnonzero(HashingEmbedder().encode(['carbon taxes'])[0]).tolist())")
    runs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": seed}).stdout
            for seed in ("1", "2")}
    assert len(runs) == 1
