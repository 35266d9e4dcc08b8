"""Wire the stages in order; no logic of its own beyond choosing which
stages run and recording why a stage did not.

read -> check records -> features (optional) -> probe (optional)
-> predict (needs features) -> evaluate rules -> Report

Each ``_run_*`` stage helper returns a :class:`Provided`: its result, the
inputs it makes available to the rules and why the others are missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tuneahead_lint import __version__
from tuneahead_lint.config import Config
from tuneahead_lint.ruleset.evaluate import Context, run_rules
from tuneahead_lint.ruleset.registry import Rule, load_rules
from tuneahead_lint.types import Example, ProbeRun, Report


@dataclass(frozen=True)
class LintOptions:
    """What the command line adds to the config (None = take the config's)."""

    input_format: str | None = None
    features: bool | None = None
    probe: bool | None = None
    base_model: str | None = None
    embedder: str | None = None
    seed: int | None = None
    probe_params: dict[str, Any] = field(default_factory=dict)
    feature_params: dict[str, Any] = field(default_factory=dict)  # FeatureConfig fields (win over rules)
    progress: bool = False
    model: str | None = None  # predictor folder or name under models/ (None: shipped default)
    min_score: float | None = None
    gate_target: str | None = None  # target of a multi-target bundle the gate reads (None: config, default)
    ray_address: str | None = None  # embedding and candidate search on a Ray cluster


@dataclass(frozen=True)
class Stages:
    """Stand-ins for the model-backed stages, each called like the function
    it replaces (None: that function). Tests pass fakes or recorded results."""

    features: Callable[..., Any] | None = None  # as features.compute_features(examples, cfg)
    probe: Callable[..., Any] | None = None  # as probe.run_probe(examples, cfg)
    predict: Callable[..., Any] | None = None  # as predict.stage.predict_stage(values, *, model, ...)


def _pick(opt: Any, config: Config, key: str) -> Any:
    return config.get(key) if opt is None else opt


@dataclass(frozen=True)
class Provided:
    """What a stage provides: its result, the inputs it makes available to
    the rules and why the inputs it was meant to provide are missing."""

    result: Any = None
    available: frozenset[str] = frozenset()
    missing: tuple[tuple[str, str], ...] = ()


def _merge(parts: Sequence[Provided]) -> tuple[frozenset[str], dict[str, str]]:
    """The inputs available after ``parts`` and why the others are missing."""
    available = frozenset({"records"}).union(*(p.available for p in parts))
    missing: dict[str, str] = {}
    for p in parts:
        missing.update(p.missing)
    return available, missing


def _tokenizer(base_model: str | None) -> Provided:
    from tuneahead_lint.basemodel import BaseModelError, fast_tokenizer

    try:
        return Provided(fast_tokenizer(base_model), frozenset({"tokenizer"}))
    except BaseModelError as exc:
        return Provided(missing=(("tokenizer", f"no tokenizer: {exc}"),))


_FEATURES_OFF = "dataset features are off (--fast, or features = false in the config)"


def lint(paths: Sequence[str], config: Config, opts: LintOptions = LintOptions(),
         rules: Sequence[Rule] | None = None,
         on_stage: Callable[[str], None] | None = None, stages: Stages = Stages()) -> Report:
    """Run the whole pipeline over ``paths`` and return the report.

    The record checks stream over the files (:class:`RecordSource`); the
    valid records are read into memory once, only when the features or the
    probe run, and let go before the rules stage."""
    from tuneahead_lint.basemodel import offline_unless_hub
    from tuneahead_lint.readers import RecordSource, discover

    rules = tuple(rules or load_rules())
    base_model = _pick(opts.base_model, config, "base-model")
    offline_unless_hub(base_model, _pick(opts.embedder, config, "embedder"))
    stage = on_stage or (lambda name: None)
    stage("read")
    records: Sequence[Example] = RecordSource(discover(paths), _pick(opts.input_format, config, "format"))
    stage("tokenizer")
    tokenizer = _tokenizer(base_model)
    with_features, with_probe = _pick(opts.features, config, "features"), _pick(opts.probe, config, "probe")
    valid = [ex for ex in records if ex.ok] if with_probe else []
    streamed = ValidRecords(records)  # without the probe the features read the records as a stream
    if with_features:
        stage("features")
        features = _run_features(valid if with_probe else streamed, config,
                                 _with_feature_thresholds(opts, config, rules), base_model, stages.features)
    else:
        features = Provided(missing=(("embeddings", _FEATURES_OFF), ("base_model", _FEATURES_OFF)))
    if with_probe:
        stage("probe")
        probe = _run_probe(valid, config, _with_probe_defaults(opts, config), base_model, stages.probe)
    else:
        probe = Provided(missing=(("probe", "needs --probe"),))
    values = tuple(getattr(features.result, "values", ()) or ()) + tuple(getattr(probe.result, "values", ()) or ())
    any_valid = bool(valid) or streamed.seen > 0 or any(ex.ok for ex in records)  # stream unread: stops at the first
    predicted = _predict_if_possible(any_valid, features, probe, values, config, opts,
                                     base_model, stage, stages.predict)
    del valid  # the rules stage streams the records again
    stage("rules")
    available, missing = _merge((tokenizer, features, probe, predicted))
    ctx = Context(records, available, missing, tokenizer.result, features.result, probe.result,
                  prediction=predicted.result)
    result = run_rules(rules, config, ctx)
    outcome = predicted.result
    return Report(
        tool_version=__version__, summary=result.scan.summary(),
        findings=tuple(result.findings), skipped=tuple(result.skipped), features=values,
        prediction=outcome.prediction if outcome else None, config_path=config.path,
        prediction_detail=outcome.detail if outcome else None, probe_run=probe_run(probe.result),
        targets=outcome.targets if outcome else (), divergence=outcome.divergence if outcome else None,
    )


class ValidRecords:
    """The valid records of ``records`` as a stream; ``seen`` counts those read."""

    def __init__(self, records: Iterable[Example]) -> None:
        self.records = records
        self.seen = 0

    def __iter__(self) -> Iterator[Example]:
        for ex in self.records:
            if ex.ok:
                self.seen += 1
                yield ex


def _predict_if_possible(any_valid: bool, features: Provided, probe: Provided, values, config, opts, base_model,
                         stage: Callable[[str], None], predict=None) -> Provided:
    """The predictor stage when the features ran and some record is valid."""
    if features.result is None:
        return Provided(missing=(("predictor", "needs dataset features (off with --fast or features = false)"),))
    if not any_valid:
        return Provided(missing=(("predictor", "skipped: no valid records to predict from"),))
    stage("predict")
    return _run_predict(values, probe.result is not None, config, opts, base_model, predict)


PROBE_SHOWN = ("steps", "lr", "batch_size", "lora_r", "lora_alpha", "max_len", "seed")


def probe_run(probe) -> ProbeRun | None:
    """The probe's budget as run, for the report (see :class:`ProbeRun`)."""
    if probe is None:
        return None
    conf = dict(probe.config)
    return ProbeRun(probe.steps_run, probe.device.split(":")[0], probe.model,
                    **{k: conf[k] for k in PROBE_SHOWN if k in conf})


def _run_features(valid: Iterable[Example], config: Config, opts: LintOptions, base_model: str | None,
                  compute=None) -> Provided:
    """Dataset features of the ``valid`` records (embeddings, base model)."""
    from tuneahead_lint.features import FeatureConfig, compute_features

    cfg = FeatureConfig(base_model=base_model, embedder=_pick(opts.embedder, config, "embedder"),
                        seed=int(_pick(opts.seed, config, "seed")), progress=opts.progress,
                        **{"embed_backend": config.get("embed-backend", "auto"),
                           "semantic_sample": int(config.get("semantic-sample", 0)),
                           "ray_address": _pick(opts.ray_address, config, "ray-address"), **opts.feature_params})
    if cfg.ray_address:
        from tuneahead_lint.features.embed.blocks import connect

        connect(cfg.ray_address)  # a missing Ray or an unreachable cluster fails before any model loads
    result = compute_features(valid, cfg) if compute is None else compute(list(valid), cfg)  # hooks get a list
    return Provided(result, frozenset({"embeddings", "base_model"}))


def feature_thresholds(config: Config, rules: Sequence[Rule]) -> dict[str, float | int]:
    """FeatureConfig thresholds taken from the effective rule options (rule
    YAML defaults, then config overrides) of the options whose YAML names a
    ``feature_param``: TA201 ``min_similarity`` cuts the near-duplicate
    clusters (``dup_threshold``), TA202 ``z`` and ``k`` the outlier list
    (``outlier_sigma``, ``outlier_k``). Rules that are absent leave the
    FeatureConfig default."""
    out: dict[str, float | int] = {}
    for rule in rules:
        options, specs = config.rule(rule).options, dict(rule.options)
        for option, param in rule.feature_params:
            value = options[option]
            out[param] = int(value) if specs[option].get("type") == "integer" else float(value)
    return out


def _with_feature_thresholds(opts: LintOptions, config: Config, rules: Sequence[Rule]) -> LintOptions:
    return replace(opts, feature_params={**feature_thresholds(config, rules), **opts.feature_params})


def _run_probe(valid: Sequence[Example], config: Config, opts: LintOptions, base_model: str | None,
               run=None) -> Provided:
    """The LoRA probe over the ``valid`` records (its failure skips the probe rules)."""
    from tuneahead_lint.probe import ProbeConfig, ProbeError, run_probe

    cfg = ProbeConfig(base_model=base_model, seed=int(_pick(opts.seed, config, "seed")),
                      progress=opts.progress, **opts.probe_params)
    try:
        return Provided((run or run_probe)(valid, cfg), frozenset({"probe"}))
    except ProbeError as exc:  # e.g. no record has a response: probe rules are skipped
        return Provided(missing=(("probe", f"probe failed: {exc}"),))


def _with_probe_defaults(opts: LintOptions, config: Config) -> LintOptions:
    """Probe with the gate model's recorded probe recipe (command-line values win)."""
    try:
        from tuneahead_lint.predict.stage import probe_defaults
    except ImportError:  # pragma: no cover - the ml extra is missing
        return opts
    recipe = probe_defaults(opts.model, _pick(opts.gate_target, config, "gate-target"))
    return replace(opts, probe_params={**recipe, **opts.probe_params})


def _run_predict(values, probe_ran: bool, config: Config, opts: LintOptions, base_model: str | None,
                 predict=None) -> Provided:
    """The predictor's outcome (or why there is none)."""
    try:
        from tuneahead_lint.predict.stage import predict_stage
        from tuneahead_lint.predict.table import PredictError
    except ImportError as exc:  # pragma: no cover - the ml extra is missing
        return Provided(missing=(("predictor", f"needs the ml extra (lightgbm, shap): {exc}"),))
    hparams = {k: v for k, v in opts.probe_params.items() if k in ("lr", "batch_size", "lora_r")}
    try:
        outcome = (predict or predict_stage)(values, model=opts.model, probe=probe_ran,
                                min_score=_pick(opts.min_score, config, "min-score"),
                                hparams=hparams, base_model=base_model,
                                gate_target=_pick(opts.gate_target, config, "gate-target"))
    except (PredictError, ImportError) as exc:
        return Provided(missing=(("predictor", str(exc)),))
    return Provided(outcome, frozenset({"predictor"}))
