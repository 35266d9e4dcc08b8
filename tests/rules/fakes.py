"""Stand-ins for the model-backed stages, built from a rule case.

A case (tests/rules/cases/*.yaml) may carry, besides its data:

``features``
    run the real feature stage, with :class:`HashingEmbedder` instead of
    MiniLM and the base model skipped (``skip`` lists what to skip; default
    ``[base_model]``). ``recorded`` replaces measures by recorded values:
    ``{name: {value: v, lines: [..]}}``; ``samples`` sets sample sizes.
``probe``
    a recorded probe run: ``losses``, ``grad_norms`` (per step), ``batches``
    (the data lines of each step's batch), ``values`` as ``recorded`` above
    (``contrast_margin_*``; ``detail`` as the probe writes it), ``lr``.
``prediction``
    a recorded prediction: ``score``, ``interval`` ([low, high]),
    ``base_score``, ``min_score``, ``attributions`` (``{feature, points,
    success: [low, high, median] of successful runs}``, ``value`` for a
    feature the pipeline does not compute) and ``guard`` (``ratio``,
    ``features``: [[name, sd], ...]). The verdict comes from
    :func:`~tuneahead_lint.predict.stage.decide` and the evidence lines from
    the features the pipeline computed, as in the real stage.

:func:`stages_for` turns these into a :class:`~tuneahead_lint.pipeline.Stages`
and the :class:`~tuneahead_lint.pipeline.LintOptions` that switch the stages on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np

from tuneahead_lint.pipeline import LintOptions, Stages
from tuneahead_lint.types import Example, Measure

WORD = re.compile(r"\w+")
POINTS_PER_UNIT = 100.0


class HashingEmbedder:
    """Bag of lower-cased words hashed (blake2b) into ``dim`` buckets, unit
    length: deterministic and model-free. Texts with the same words have
    cosine 1, texts that share no word about 0."""

    def __init__(self, dim: int = 1024) -> None:
        self.dim = dim

    def get_params(self) -> dict[str, Any]:
        return {"model": "hashing-bag-of-words", "dim": self.dim}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32, unit norm (all zeros for a text without words)."""
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in WORD.findall(text.lower()):
                out[row, self._bucket(word)] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _bucket(self, word: str) -> int:
        digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % self.dim


def measures(spec: Mapping[str, Any], path: str) -> dict[str, Measure]:
    """``{name: {value, lines, detail}}`` as Measures whose refs are lines of ``path``."""
    return {name: Measure(float(m["value"]), tuple((path, n) for n in m.get("lines", ())),
                          m.get("detail", "recorded"))
            for name, m in spec.items()}


def _features(examples: Sequence[Example], cfg: Any, spec: Mapping[str, Any]) -> Any:
    from tuneahead_lint.features import compute_features

    result = compute_features(examples, cfg, embedder=HashingEmbedder())
    path = examples[0].path if examples else ""
    recorded = measures(spec.get("recorded", {}), path)
    values = tuple((name, recorded.get(name, m)) for name, m in result.values)
    samples = {**dict(result.samples), **spec.get("samples", {})}
    return replace(result, values=values, samples=tuple(sorted(samples.items())))


def _probe(examples: Sequence[Example], cfg: Any, spec: Mapping[str, Any]) -> Any:
    from tuneahead_lint.probe import ProbeResult

    path = examples[0].path
    losses = tuple(float(x) for x in spec["losses"])
    norms = tuple(float(x) for x in spec.get("grad_norms", [1.0] * len(losses)))
    batches = tuple(tuple((path, n) for n in b) for b in spec["batches"])
    return ProbeResult(values=tuple(measures(spec.get("values", {}), path).items()), losses=losses,
                       grad_norms=norms, steps_run=len(losses), device="cpu", wall_s=0.0,
                       step_refs=batches, config=(("lr", spec.get("lr", cfg.lr)),), model="recorded")


def _guard(spec: Mapping[str, Any] | None) -> Any:
    from tuneahead_lint.types import GuardResult

    spec = spec or {}
    feats = tuple((str(f), float(sd)) for f, sd in spec.get("features", ()))
    return GuardResult(0.0, 1.0, float(spec.get("ratio", 0.5)), feats, ())


def _attribution(row: Mapping[str, Any], values: Mapping[str, Measure]) -> Any:
    """``{feature, points, success: [low, high, median]}``; the value is the
    one the pipeline computed unless the row gives ``value`` (hyperparameters)."""
    from tuneahead_lint.types import Attribution

    value = row["value"] if "value" in row else values[row["feature"]].value
    low, high, median = row["success"]
    return Attribution(row["feature"], float(value), float(row["points"]), low, high, median)


def _predict(values: Sequence[tuple[str, Measure]], *, spec: Mapping[str, Any], min_score: float | None,
             **_: Any) -> Any:
    """A PredictOutcome from the recorded numbers, judged like the real stage."""
    from tuneahead_lint.predict.stage import decide
    from tuneahead_lint.types import Prediction, PredictionDetail, PredictOutcome

    score, base = float(spec["score"]), spec.get("base_score")
    low, high = (float(x) for x in spec.get("interval", (score - 0.02, score + 0.02)))
    guard = _guard(spec.get("guard"))
    threshold, source = (min_score, "min-score") if min_score is not None else (base, "base model")
    verdict, reason = decide(score, low, high, threshold, source, guard, POINTS_PER_UNIT)
    prediction = Prediction(score, low, high, "recorded/static", base, not guard.far, verdict)
    attributions = tuple(_attribution(row, dict(values)) for row in spec.get("attributions", ()))
    detail = PredictionDetail(score, attributions, POINTS_PER_UNIT, "recorded", verdict_reason=reason,
                              min_score=min_score, threshold=threshold, threshold_source=source, guard=guard)
    return PredictOutcome(prediction, detail, {n: m.refs for n, m in values})


def _no_prediction(values: Sequence[tuple[str, Measure]], **_: Any) -> Any:
    """The predictor declines (its rules are skipped) when a case records no prediction."""
    from tuneahead_lint.predict.table import PredictError

    raise PredictError("this case records no prediction")


def stages_for(case: Mapping[str, Any]) -> tuple[LintOptions, Stages]:
    """The options and stage stand-ins a case asks for (features off and the
    real stages when it carries no fixture)."""
    feats, probe, pred = case.get("features"), case.get("probe"), case.get("prediction")
    use_features = feats is not None or pred is not None
    skip = frozenset((feats or {}).get("skip", ["base_model"]))
    opts = LintOptions(features=use_features, probe=probe is not None,
                       feature_params={"use_cache": False, "skip": skip},
                       min_score=(pred or {}).get("min_score"))
    stages = Stages(features=partial(_features, spec=feats or {}) if use_features else None,
                    probe=partial(_probe, spec=probe) if probe is not None else None,
                    predict=partial(_predict, spec=pred) if pred is not None else _no_prediction)
    return opts, stages
