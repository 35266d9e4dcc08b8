"""Frozen records passed between stages.

Data flow (see STYLE.md): readers yield :class:`Example`; checks and features
read them; rules turn check hits and features into :class:`Finding`; the
pipeline assembles a :class:`Report`; reporters render it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class Severity(str, enum.Enum):
    """Finding severity; the values are SARIF ``level`` values."""

    NOTE = "note"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"note": 0, "warning": 1, "error": 2}[self.value]


ASSISTANT_ROLES = frozenset({"assistant"})
KNOWN_ROLES = frozenset({"system", "user", "assistant"})


@dataclass(frozen=True, slots=True)
class Turn:
    """One message. ``role`` is normalised to system/user/assistant when the
    source role is known (human->user, gpt->assistant ...); unknown source roles
    are kept verbatim so the ``unknown-role`` rule can name them."""

    role: str
    content: str


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the reader noticed while decoding one record.

    ``check`` names the check function (and so the rule) that reports it,
    e.g. ``invalid_json``; ``detail`` is a short human sentence; ``value`` an
    optional measured number."""

    check: str
    detail: str
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Example:
    """One training record, whatever its on-disk format.

    ``line`` is the 1-based line where the record starts in ``path`` (for
    JSON arrays: the line of its opening brace). ``index`` is its 0-based
    position in the file. ``turns`` is empty when the record could not be
    decoded; ``problems`` then says why. ``raw_hash`` is the sha256 of the
    record's bytes, used by ``fix`` to keep records byte-exact."""

    path: str
    line: int
    index: int
    format: str
    turns: tuple[Turn, ...]
    problems: tuple[Problem, ...] = ()
    raw_hash: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.turns)

    @property
    def prompt(self) -> str:
        """Everything the model conditions on for the final response: all turns
        before the last assistant turn, contents joined by blank lines."""
        last = self._last_assistant()
        turns = self.turns if last is None else self.turns[:last]
        return "\n\n".join(t.content for t in turns)

    @property
    def response(self) -> str:
        """Content of the last assistant turn ('' if there is none)."""
        last = self._last_assistant()
        return "" if last is None else self.turns[last].content

    def _last_assistant(self) -> int | None:
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == "assistant":
                return i
        return None


def text_hash(*parts: str) -> str:
    """Stable sha256 over text parts (NUL separated)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class Hit:
    """What a check function returns: one problem at one place.

    ``lines`` are the 1-based lines of the evidence (first is the anchor).
    ``evidence`` are name -> number/string pairs rendered into the rule's
    message template and shown to the user. ``key`` is content-derived text
    used for the SARIF partial fingerprint (not line numbers)."""

    path: str
    lines: tuple[int, ...]
    evidence: tuple[tuple[str, Any], ...] = ()
    key: str = ""
    related: tuple[tuple[str, int], ...] = ()  # (path, line) in other files
    records: tuple[int, ...] = ()  # 1-based record numbers matching ``lines``


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    rule_name: str
    severity: Severity
    message: str
    path: str
    lines: tuple[int, ...]
    evidence: tuple[tuple[str, Any], ...]
    remedy: str
    fingerprint: str
    related: tuple[tuple[str, int], ...] = ()
    lines_total: int = 0  # how many lines the hit named (``lines`` is no longer capped)
    records: tuple[int, ...] = ()  # 1-based record numbers matching ``lines`` (one-line files)
    record_fingerprints: tuple[str, ...] = ()  # one per line: rule + content key + record bytes

    @property
    def line(self) -> int:
        return self.lines[0] if self.lines else 0

    def sort_key(self) -> tuple[str, int, str]:
        return (self.path, self.line, self.rule_id)


@dataclass(frozen=True, slots=True)
class Measure:
    """One feature value with the lines that explain it (may be empty)."""

    value: float
    refs: tuple[tuple[str, int], ...] = ()  # (path, line) evidence, capped
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    rule_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class FileSummary:
    path: str
    format: str
    records: int
    unreadable: int


@dataclass(frozen=True, slots=True)
class Summary:
    """Dataset summary printed at the top of every report."""

    files: tuple[FileSummary, ...]
    records: int
    formats: tuple[tuple[str, int], ...]
    stats: tuple[tuple[str, float], ...]  # e.g. prompt_chars_mean


@dataclass(frozen=True, slots=True)
class Prediction:
    """Seam for the predictor (issue 6)."""

    score: float
    low: float
    high: float
    model: str
    base_score: float | None = None
    in_distribution: bool = True
    verdict: str = ""  # "go" | "no-go" | "uncertain" ("" only for a hand-made Prediction)


# Smallest SHAP attribution a report or plot shows, per unit: 0.005 points
# (two decimals), 1e-5 nats (v2 NLL targets move by ~0.01-0.1 nats).
SHOWN_ATTRIBUTION = {"points": 0.005, "nats": 1e-5}


@dataclass(frozen=True, slots=True)
class Attribution:
    """How much one feature moved the prediction away from the expected
    value, in points; ``success_low``/``success_high``/``success_median``
    describe the feature among successful training runs (None when no run
    was successful)."""

    feature: str
    value: float
    points: float
    success_low: float | None
    success_high: float | None
    success_median: float | None = None


@dataclass(frozen=True, slots=True)
class FeatureRange:
    """A feature value beyond the predictor's training range [train_low, train_high]."""

    feature: str
    value: float
    train_low: float
    train_high: float


@dataclass(frozen=True, slots=True)
class GuardResult:
    """The distance guard on one dataset (predict/guard.py). ``ratio``:
    distance / reference; ``nearest_features``: (feature, weighted z
    difference) of the features that most separate the dataset from its
    nearest training run; ``size_beyond``: size features beyond training."""

    distance: float
    reference: float
    ratio: float
    nearest_features: tuple[tuple[str, float], ...]
    size_beyond: tuple[FeatureRange, ...]

    @property
    def far(self) -> bool:
        return self.ratio > 1.0

    def reason(self) -> str:
        feats = ", ".join(f"{n} ({d:+.1f} SD)" for n, d in self.nearest_features)
        return (f"far from the training runs: distance {self.ratio:.2f}x that of 95% of training runs "
                f"to their neighbours; most different: {feats}")


@dataclass(frozen=True, slots=True)
class HParam:
    """A hyperparameter feature the prediction used; ``source`` is "given"
    (command line) or "training median"."""

    feature: str
    value: float
    source: str


@dataclass(frozen=True, slots=True)
class ModelSkill:
    """The model card's grouped cross-validation (``cv`` in model.json):
    RMSE in points, skill = 1 - RMSE / RMSE of the training mean, go/no-go
    accuracy on clear runs. None where the card does not record a number."""

    protocol: str | None = None
    rmse: float | None = None
    rmse_se: float | None = None
    rmse_mean: float | None = None
    skill: float | None = None
    skill_se: float | None = None
    coverage: float | None = None
    half_width_points: float | None = None
    flagged: float | None = None
    gate_accuracy: float | None = None
    gate_decided: float | None = None
    nogo_recall: float | None = None
    clear_runs: float | None = None
    clear_nogo_runs: float | None = None
    threshold: float | None = None
    threshold_source: str | None = None
    noise_floor_points: float | None = None

    @classmethod
    def from_card(cls, cv: Mapping[str, Any]) -> ModelSkill:
        """From model.json's ``cv`` table (keys it does not know are left out)."""
        return cls(**{f.name: cv.get(f.name) for f in fields(cls)})

    @property
    def no_skill(self) -> bool:
        """True when the skill is not positive by more than its standard error."""
        return self.skill is None or not self.skill > (self.skill_se or 0.0)


@dataclass(frozen=True, slots=True)
class PredictionDetail:
    """What the predict stage found beyond the :class:`Prediction`: the
    expected score and SHAP attributions (model feature order), the
    threshold the verdict used and why, the distance guard, features beyond
    the training range, the hyperparameters used and the model's skill."""

    expected_score: float
    attributions: tuple[Attribution, ...]
    points_per_unit: float
    model_dir: str
    verdict_reason: str = ""
    min_score: float | None = None
    threshold: float | None = None
    threshold_source: str = ""
    guard: GuardResult | None = None
    out_of_range: tuple[FeatureRange, ...] = ()
    hparams: tuple[HParam, ...] = ()
    model_skill: ModelSkill | None = None
    unit: str = "points"  # report unit of attributions and skill: "points", or "nats" (v2 NLL targets)
    target: str = ""  # the model's target column (the shipped model's: performance)


@dataclass(frozen=True, slots=True)
class TargetPrediction:
    """One target of a multi-target bundle (y_indomain, y_general ...):
    its prediction and detail as for the gate target, its report unit
    ("nats" or "points": values shown are target units x
    ``detail.points_per_unit``) and whether the gate reads it."""

    target: str
    unit: str
    gate: bool
    prediction: Prediction
    detail: PredictionDetail


@dataclass(frozen=True, slots=True)
class DivergenceSkill:
    """The divergence classifier's grouped cross-validation (its card):
    Brier score against always predicting the training base rate, Brier
    skill 1 - Brier/Brier_base, ROC AUC (mean ± SE over repeats; None when a
    repeat's held-out runs hold one class only), runs and diverged runs."""

    protocol: str | None = None
    brier: float | None = None
    brier_se: float | None = None
    brier_base: float | None = None
    brier_skill: float | None = None
    brier_skill_se: float | None = None
    auc: float | None = None
    auc_se: float | None = None
    auc_pooled: float | None = None  # AUC of each repeat's pooled out-of-fold predictions, mean over repeats
    runs: int | None = None
    diverged_runs: int | None = None

    @classmethod
    def from_card(cls, cv: Mapping[str, Any]) -> DivergenceSkill:
        return cls(**{f.name: cv.get(f.name) for f in fields(cls)})

    @property
    def no_skill(self) -> bool:
        """True when the Brier skill is not positive by more than its standard error."""
        return self.brier_skill is None or not self.brier_skill > (self.brier_skill_se or 0.0)


@dataclass(frozen=True, slots=True)
class DivergencePrediction:
    """The predicted probability that the fine-tune diverges (NaN or
    exploding loss), from the bundle's y_diverged classifier, with the
    share of its training runs that diverged. ``guarded``: whether a
    distance guard checked this dataset against the classifier's training
    runs (the classifier has none yet, nor SHAP attributions); ``gate_far``:
    the gate target's guard finds the dataset far from its training runs,
    the same meta-dataset the classifier learned from."""

    probability: float
    model: str
    skill: DivergenceSkill | None = None
    base_rate: float | None = None
    guarded: bool = False
    gate_far: bool = False


Refs = tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class PredictOutcome:
    """Everything the predict stage found, for the rules and the report;
    ``refs`` maps a feature name to its evidence lines. ``prediction`` and
    ``detail`` are the gate target's; ``targets`` every target of a
    multi-target bundle (empty for a single-target one); ``divergence``
    the classifier's probability when the bundle holds one."""

    prediction: Prediction
    detail: PredictionDetail
    refs: Mapping[str, Refs] = field(default_factory=dict)
    targets: tuple[TargetPrediction, ...] = ()
    divergence: DivergencePrediction | None = None


@dataclass(frozen=True, slots=True)
class ProbeRun:
    """The probe's budget as run: steps actually run (the CPU default is
    smaller than the GPU's), device kind, model and hyperparameters (None:
    not in the probe's config). No wall time or cache hits: reports stay
    byte-identical across runs."""

    steps_run: int
    device: str
    model: str
    steps: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    lora_r: int | None = None
    lora_alpha: int | None = None
    max_len: int | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Report:
    tool_version: str
    summary: Summary
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...]
    features: tuple[tuple[str, Measure], ...] = ()
    prediction: Prediction | None = None
    config_path: str | None = None
    prediction_detail: PredictionDetail | None = None
    probe_run: ProbeRun | None = None
    targets: tuple[TargetPrediction, ...] = ()  # every target of a multi-target bundle
    divergence: DivergencePrediction | None = None
