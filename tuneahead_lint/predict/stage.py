"""The lint pipeline's predict stage: features in, prediction and
attributions out.

The models are a bundle (:mod:`.bundle`): ``--model PATH`` or the shipped
default, ``models/tuneahead-smollm2-135m/full`` when the probe ran and
``.../static`` when it did not; a bundle with one folder per target
(``meta fit`` of each) predicts every target, the gate reads one
(``--gate-target``), and a divergence classifier in it adds P(diverged).
Hyperparameter features take the planned values given on the command line
(``--lr``, ``--batch-size``, ``--lora-r``) or else the median of the
training runs (reported as such).

Verdict, always one of three when there is a prediction:

* ``uncertain`` when the distance guard finds the dataset far from every
  training run (its interval is widened by the distance ratio), or when the
  interval is unbounded or there is no threshold;
* ``no-go`` when the interval's upper end is below the threshold: the
  base model's score by default (the fine-tune is predicted to make the base
  model worse), or ``min-score`` when set;
* ``go`` otherwise.

Each verdict carries its reason; the model card's grouped-CV skill travels
with it so the report can say how far to trust it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tuneahead_lint.predict.bundle import DEFAULT_MODEL  # noqa: F401 (re-exported: the shipped bundle)
from tuneahead_lint.predict.table import PredictError, feature_kind, target_unit
from tuneahead_lint.types import (
    DivergencePrediction, DivergenceSkill, FeatureRange, GuardResult, HParam, Measure, ModelSkill, Prediction,
    PredictionDetail, PredictOutcome, TargetPrediction,
)

# lint option -> hyperparameter feature of the meta-dataset
HPARAM_OPTIONS = {"lr": "learning_rate", "batch_size": "batch_size", "lora_r": "lora_r"}
# ProbeConfig field -> hyperparameter feature (the meta runs probe with the run's settings)
PROBE_HPARAMS = {"lr": "learning_rate", "batch_size": "batch_size", "lora_r": "lora_r",
                 "lora_alpha": "lora_alpha", "max_len": "max_len"}


def probe_defaults(model: str | None, gate_target: str | None = None) -> dict[str, Any]:
    """ProbeConfig fields that make a lint's probe measure what the
    predictor's training runs measured: the recorded probe recipe (steps,
    contrast pairs ...) and the hyperparameters at their training medians.
    Empty when the model is missing or recorded no probe recipe."""
    import json

    from tuneahead_lint.errors import UserError

    try:
        doc = json.loads((model_dir(model, True, gate_target) / "model.json").read_text(encoding="utf-8"))
    except (PredictError, UserError, OSError, ValueError):  # the predict stage says why
        return {}
    if not doc.get("probe"):
        return {}
    out = dict(doc["probe"])
    for key, feature in PROBE_HPARAMS.items():
        if feature in doc["ranges"] and doc["ranges"][feature]["median"] is not None:
            value = doc["ranges"][feature]["median"]
            out[key] = int(value) if key != "lr" else float(value)
    return out


def model_dir(model: str | None, probe: bool, gate_target: str | None = None) -> Path:
    """Model folder of the gate target of bundle ``model`` (a path, or a
    name under ``models/``; the shipped one when None) for this run."""
    from tuneahead_lint.predict.bundle import open_bundle

    bundle = open_bundle(model, probe, gate_target)
    return bundle.folder(bundle.gate)


def predict_stage(values: Sequence[tuple[str, Measure]], *, model: str | None, probe: bool,
                  min_score: float | None, hparams: Mapping[str, float] | None = None,
                  base_model: str | None = None, gate_target: str | None = None) -> PredictOutcome:
    """Predict, explain and judge one dataset with every target of the
    bundle (:mod:`.bundle`); ``min_score`` is the gate target's threshold.
    Raises :class:`PredictError` when the model cannot be used with these
    features (the pipeline then reports the predictor rules as skipped)."""
    from tuneahead_lint.predict.bundle import open_bundle

    bundle = open_bundle(model, probe, gate_target)
    hp = hparams or {}
    outcomes = {t: predict_target(folder, values, min_score if t == bundle.gate else None, hp, base_model)
                for t, folder in bundle.targets}
    gate = outcomes[bundle.gate]
    if bundle.single:
        return gate
    targets = tuple(TargetPrediction(t, o.detail.unit, t == bundle.gate, o.prediction, o.detail)
                    for t, o in outcomes.items())
    divergence = divergence_of(bundle.classifier, values, hp, base_model) if bundle.classifier else None
    if divergence is not None:
        divergence = replace(divergence, gate_far=not gate.prediction.in_distribution)
    return replace(gate, targets=targets, divergence=divergence)


def predict_target(folder: Path, values: Sequence[tuple[str, Measure]], min_score: float | None,
                   hparams: Mapping[str, float], base_model: str | None) -> PredictOutcome:
    """Prediction, interval, verdict and SHAP attributions of the model in ``folder``."""
    from tuneahead_lint.predict.explain import explain
    from tuneahead_lint.predict.predictor import Predictor

    predictor = Predictor.load(folder)
    _check_base_model(predictor.doc_, base_model, folder)
    x, used = _vector(predictor.features_, lambda n: predictor.ranges_[n].median, dict(values), hparams, folder)
    score, low, high = (float(v[0]) for v in predictor.predict_interval([x]))
    guard = predictor.guard_.check(x)
    if guard.far:
        low, high = score - (score - low) * guard.ratio, score + (high - score) * guard.ratio
    expected, attributions = explain(predictor, x)
    t = predictor.target_
    threshold, source = (min_score, "min-score") if min_score is not None else (t.base_score, "base model")
    verdict, reason = decide(score, low, high, threshold, source, guard, t.points_per_unit, target_unit(t.name))
    name = predictor.doc_.get("name") or folder.name
    prediction = Prediction(score, low, high, f"{name}/{predictor.doc_.get('variant', folder.name)}",
                            t.base_score, not guard.far, verdict)
    cv = predictor.doc_.get("cv")
    detail = PredictionDetail(
        expected, attributions, t.points_per_unit, _shown(folder), verdict_reason=reason, min_score=min_score,
        threshold=threshold, threshold_source=source, guard=guard,
        out_of_range=tuple(FeatureRange(*r) for r in predictor.out_of_range(x)), hparams=used,
        model_skill=ModelSkill.from_card(cv) if cv else None, unit=target_unit(t.name), target=t.name)
    return PredictOutcome(prediction, detail, {n: m.refs for n, m in values})


def divergence_of(folder: Path, values: Sequence[tuple[str, Measure]], hparams: Mapping[str, float],
                  base_model: str | None) -> DivergencePrediction:
    """P(diverged) from the bundle's classifier, with its grouped-CV skill."""
    from tuneahead_lint.predict.diverge import DivergenceClassifier

    clf = DivergenceClassifier.load(folder)
    _check_base_model(clf.doc_, base_model, folder)
    x, _ = _vector(clf.features_, clf.median, dict(values), hparams, folder)
    name = clf.doc_.get("name") or folder.parent.name
    cv = clf.doc_.get("cv")
    return DivergencePrediction(float(clf.predict_proba([x])[0]), f"{name}/{clf.doc_.get('variant', folder.name)}",
                                DivergenceSkill.from_card(cv) if cv else None, clf.base_rate_)


def decide(score: float, low: float, high: float, threshold: float | None, source: str, guard: GuardResult,
           ppu: float, unit: str = "points") -> tuple[str, str]:
    """``(verdict, reason)``: see the module doc; the margin below the
    threshold is given in ``unit`` (target units x ``ppu``)."""
    if guard.far:
        return "uncertain", guard.reason() + f"; interval widened {guard.ratio:.2f}x"
    if threshold is None:
        return "uncertain", "no threshold: the model records no base-model score; give --min-score"
    if not math.isfinite(high - low):
        return "uncertain", "the interval is unbounded (too few training runs for its coverage)"
    what = "the base model's score" if source == "base model" else "min-score"
    if high < threshold:
        return "no-go", (f"the interval's upper end {high:.4f} is {_amount((threshold - high) * ppu, unit)} below "
                         f"{what} {threshold:.4f}" + (": fine-tuning is predicted to make the base model worse"
                                                      if source == "base model" else ""))
    if low >= threshold:
        return "go", f"the whole interval {low:.4f}-{high:.4f} is at or above {what} {threshold:.4f}"
    return "go", (f"the interval {low:.4f}-{high:.4f} reaches {what} {threshold:.4f}"
                  + (": not predicted to make the base model worse" if source == "base model" else ""))


def _amount(x: float, unit: str) -> str:
    """``0.98 points`` (two decimals) or ``0.0291 nats`` (three significant digits)."""
    return f"{x:.2f} {unit}" if unit == "points" else f"{x:.3g} {unit}"


def _shown(folder: Path) -> str:
    """``models/NAME/VARIANT`` for a shipped model (no machine path in reports), else as given."""
    from tuneahead_lint.resources import data_dir

    try:
        return "models/" + folder.resolve().relative_to(data_dir("models").resolve()).as_posix()
    except ValueError:
        return str(folder)


def _vector(features: Sequence[str], median: Callable[[str], float], values: dict[str, Measure],
            hparams: Mapping[str, float], folder: Path) -> tuple[list[float], tuple[HParam, ...]]:
    """The model's row: computed features, and hyperparameters as given or
    at their training ``median``."""
    given = {HPARAM_OPTIONS.get(k, k): float(v) for k, v in hparams.items()}
    x, used, missing = [], [], []
    for name in features:
        if name in values:
            x.append(float(values[name].value))
        elif feature_kind(name) == "hparam":
            v, src = (given[name], "given") if name in given else (median(name), "training median")
            x.append(v)
            used.append(HParam(name, v, src))
        else:
            missing.append(name)
    if missing:
        raise PredictError(f"predictor {folder} needs features this run did not compute: "
                           f"{', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else ""))
    return x, tuple(used)


def _check_base_model(doc: Mapping[str, Any], base_model: str | None, folder: Path) -> None:
    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL

    trained = doc.get("base_model")
    wanted = base_model or DEFAULT_BASE_MODEL
    if trained and _norm(trained) != _norm(wanted):
        raise PredictError(f"predictor {folder} was trained for base model {trained}, this run uses {wanted}")


def _norm(name: str) -> str:
    return Path(name.rstrip("/")).name.lower()
