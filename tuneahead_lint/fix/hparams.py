"""Hyperparameter remedy: a suggested training config, scored by the predictor.

The paper's case study lowered the learning rate and adjusted the AdamW betas
next to de-duplication and outlier removal. Here:

* learning rate: with a predictor model, the best predicted score among the
  planned rate x 1, 1/2, 1/4 (ties: the smaller change), each scored by
  querying the predictor with that ``lr`` on the fixed data's features;
  without one, half the planned rate, unscored.
* betas: (0.9, 0.95) (beta2 lowered from torch's 0.999, as is usual for short
  LLM fine-tunes). The predictor has no betas feature, so this part is never
  scored; the summary says so.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tuneahead_lint.types import Prediction

BASE_LR = 2e-4  # the probe's and the meta fine-tunes' default
BASE_BETAS = (0.9, 0.999)  # torch AdamW default
SUGGESTED_BETAS = (0.9, 0.95)
LR_FACTORS = (1.0, 0.5, 0.25)
Query = Callable[[float], Prediction]


@dataclass(frozen=True)
class HyperSuggestion:
    lr: float
    betas: tuple[float, float]
    base_lr: float
    base_betas: tuple[float, float]
    predicted: Prediction | None  # score at the suggested lr
    baseline: Prediction | None  # score at the planned lr
    note: str


def suggest(query: Query | None, base_lr: float = BASE_LR) -> HyperSuggestion:
    """The suggested config (see the module doc)."""
    if query is None:
        return HyperSuggestion(base_lr * 0.5, SUGGESTED_BETAS, base_lr, BASE_BETAS, None, None,
                               "the case study's direction; not scored: no predictor model")
    scored = [(query(base_lr * f), base_lr * f) for f in LR_FACTORS]
    best = max(scored, key=lambda s: s[0].score)  # max keeps the first of equals
    return HyperSuggestion(best[1], SUGGESTED_BETAS, base_lr, BASE_BETAS, best[0], scored[0][0],
                           f"best of {len(LR_FACTORS)} learning rates; betas are not a predictor "
                           "feature and are not scored")


def predictor_query(features: Sequence[tuple[str, Any]], model: str | None = None,
                    base_model: str | None = None) -> Query | None:
    """Query the predictor on ``features`` at a given learning rate; None
    when no predictor model can score them."""
    if not features:
        return None
    try:
        from tuneahead_lint.predict.stage import predict_stage
        from tuneahead_lint.predict.table import PredictError
    except ImportError:
        return None

    def query(lr: float) -> Prediction:
        return predict_stage(features, model=model, probe=False, min_score=None,
                             hparams={"lr": lr}, base_model=base_model).prediction
    try:
        query(BASE_LR)
    except (PredictError, ImportError):
        return None
    return query
