"""The lint pipeline's predict stage: features in, prediction and
attributions out.

The model is a folder written by ``meta fit``: ``--model PATH`` or the
shipped default, ``models/tuneahead-smollm2-135m/full`` when the probe ran
and ``.../static`` when it did not. Hyperparameter features take the planned
values given on the command line (``--lr``, ``--batch-size``, ``--lora-r``)
or else the median of the training runs (reported as such).

Verdict against ``min-score``: ``no-go`` when the predicted score is below it,
``go`` otherwise, ``""`` when no ``min-score`` is set or when the dataset is
out of the training distribution (the gate never fails on an extrapolation
alone; the report says why).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneahead_lint.predict.table import PredictError, feature_kind
from tuneahead_lint.types import Measure, Prediction

DEFAULT_MODEL = "tuneahead-smollm2-135m"
# lint option -> hyperparameter feature of the meta-dataset
HPARAM_OPTIONS = {"lr": "learning_rate", "batch_size": "batch_size", "lora_r": "lora_r"}
# ProbeConfig field -> hyperparameter feature (the meta runs probe with the run's settings)
PROBE_HPARAMS = {"lr": "learning_rate", "batch_size": "batch_size", "lora_r": "lora_r",
                 "lora_alpha": "lora_alpha", "max_len": "max_len"}


def probe_defaults(model: str | None) -> dict[str, Any]:
    """ProbeConfig fields that make a lint's probe measure what the
    predictor's training runs measured: the recorded probe recipe (steps,
    contrast pairs ...) and the hyperparameters at their training medians.
    Empty when the model is missing or recorded no probe recipe."""
    import json

    try:
        doc = json.loads((model_dir(model, True) / "model.json").read_text(encoding="utf-8"))
    except (PredictError, OSError, ValueError):
        return {}
    if not doc.get("probe"):
        return {}
    out = dict(doc["probe"])
    for key, feature in PROBE_HPARAMS.items():
        if feature in doc["ranges"] and doc["ranges"][feature]["median"] is not None:
            value = doc["ranges"][feature]["median"]
            out[key] = int(value) if key != "lr" else float(value)
    return out


@dataclass(frozen=True)
class PredictOutcome:
    """Everything the predict stage found, for the rules and the report."""

    prediction: Prediction
    expected: float
    attributions: tuple[Any, ...]  # explain.Attribution, model feature order
    out_of_range: tuple[tuple[str, float, float, float], ...]
    min_score: float | None
    points_per_unit: float
    model_dir: str
    hparams: tuple[tuple[str, float, str], ...]  # (feature, value, "given" | "training median")
    refs: Mapping[str, tuple[tuple[str, int], ...]]  # feature -> evidence lines

    def extra(self) -> tuple[tuple[str, Any], ...]:
        """Entries for ``Report.extra`` (rendered by the JSON and text reporters)."""
        return (
            ("attributions", tuple(a.to_dict() for a in self.attributions)),
            ("prediction_detail", {
                "expected_score": self.expected, "min_score": self.min_score,
                "points_per_unit": self.points_per_unit, "model_dir": self.model_dir,
                "out_of_range": [{"feature": f, "value": v, "train_low": lo, "train_high": hi}
                                 for f, v, lo, hi in self.out_of_range],
                "hparams": [{"feature": f, "value": v, "source": s} for f, v, s in self.hparams],
            }),
        )


def model_dir(model: str | None, probe: bool) -> Path:
    """Folder of ``model`` (a path, or a name under ``models/``), or of the
    shipped default variant for this run."""
    from tuneahead_lint.resources import data_dir

    if model and (Path(model) / "model.json").is_file():
        return Path(model)
    base = data_dir("models") / (model or DEFAULT_MODEL)
    sub = base / ("full" if probe else "static")
    if (sub / "model.json").is_file():
        return sub
    if (base / "model.json").is_file():
        return base
    raise PredictError(f"no predictor model at {model or sub}")


def predict_stage(values: Sequence[tuple[str, Measure]], *, model: str | None, probe: bool,
                  min_score: float | None, hparams: Mapping[str, float] | None = None,
                  base_model: str | None = None) -> PredictOutcome:
    """Predict, explain and judge one dataset. Raises :class:`PredictError`
    when the model cannot be used with these features (the pipeline then
    reports the predictor rules as skipped, with the reason)."""
    from tuneahead_lint.predict.explain import explain
    from tuneahead_lint.predict.predictor import Predictor

    folder = model_dir(model, probe)
    predictor = Predictor.load(folder)
    _check_base_model(predictor, base_model, folder)
    x, used = _vector(predictor, dict(values), hparams or {}, folder)
    score, low, high = (float(v[0]) for v in predictor.predict_interval([x]))
    expected, attributions = explain(predictor, x)
    ood = predictor.out_of_range(x)
    t = predictor.target_
    verdict = "" if min_score is None or ood else ("no-go" if score < min_score else "go")
    name = predictor.doc_.get("name") or folder.name
    prediction = Prediction(score, low, high, f"{name}/{predictor.doc_.get('variant', folder.name)}",
                            t.base_score, not ood, verdict)
    refs = {n: m.refs for n, m in values}
    return PredictOutcome(prediction, expected, attributions, ood, min_score, t.points_per_unit,
                          _shown(folder), used, refs)


def _shown(folder: Path) -> str:
    """``models/NAME/VARIANT`` for a shipped model (no machine path in reports), else as given."""
    from tuneahead_lint.resources import data_dir

    try:
        return "models/" + folder.resolve().relative_to(data_dir("models").resolve()).as_posix()
    except ValueError:
        return str(folder)


def _vector(predictor, values: dict[str, Measure], hparams: Mapping[str, float],
            folder: Path) -> tuple[list[float], tuple[tuple[str, float, str], ...]]:
    given = {HPARAM_OPTIONS.get(k, k): float(v) for k, v in hparams.items()}
    x, used, missing = [], [], []
    for name in predictor.features_:
        if name in values:
            x.append(float(values[name].value))
        elif feature_kind(name) == "hparam":
            v, src = (given[name], "given") if name in given else (predictor.ranges_[name].median,
                                                                     "training median")
            x.append(v)
            used.append((name, v, src))
        else:
            missing.append(name)
    if missing:
        raise PredictError(f"predictor {folder} needs features this run did not compute: "
                           f"{', '.join(missing[:6])}" + (" ..." if len(missing) > 6 else ""))
    return x, tuple(used)


def _check_base_model(predictor, base_model: str | None, folder: Path) -> None:
    from tuneahead_lint.basemodel import DEFAULT_BASE_MODEL

    trained = predictor.doc_.get("base_model")
    wanted = base_model or DEFAULT_BASE_MODEL
    if trained and _norm(trained) != _norm(wanted):
        raise PredictError(f"predictor {folder} was trained for base model {trained}, this run uses {wanted}")


def _norm(name: str) -> str:
    return Path(name.rstrip("/")).name.lower()
