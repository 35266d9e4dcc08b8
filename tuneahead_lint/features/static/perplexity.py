"""Reference perplexity: how surprising the data is to the base model.

The two features over the per-record perplexities that
:mod:`tuneahead_lint.features.scoring` computes for the corpus's seeded sample.
"""

from __future__ import annotations

import numpy as np

from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.types import Measure


def reference_ppl_mean(c: Corpus) -> Measure:
    """Mean per-record perplexity over the seeded sample."""
    ppl = c.perplexity
    if not len(ppl):
        return Measure(float("nan"))
    worst = c.sample_rows[np.argsort(-ppl, kind="stable")]
    sem = ppl.std(ddof=1) / np.sqrt(len(ppl)) if len(ppl) > 1 else float("nan")
    info = c.stats["perplexity"]
    return Measure(float(ppl.mean()), c.refs_at(worst),
                   f"sample {len(ppl)} records x <= {c.cfg.ppl_max_tokens} tokens, "
                   f"standard error {sem:.2f}, corpus ppl {info['corpus_ppl']:.2f}")


def reference_ppl_std(c: Corpus) -> Measure:
    """Standard deviation of per-record perplexity over the sample."""
    ppl = c.perplexity
    return Measure(float(ppl.std()) if len(ppl) else float("nan"),
                   detail=f"sample {len(ppl)} records")
