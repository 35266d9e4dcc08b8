"""Wire the stages in order; no logic of its own beyond choosing which
stages run and recording why a stage did not.

read -> check records -> features (optional) -> probe (optional)
-> predict (needs features) -> evaluate rules -> Report
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tuneahead_lint import __version__
from tuneahead_lint.config import Config
from tuneahead_lint.ruleset.evaluate import Context, evaluate, one_line_files
from tuneahead_lint.ruleset.registry import Rule, load_rules
from tuneahead_lint.types import Example, FileSummary, ProbeRun, Report, Summary


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


@dataclass(frozen=True)
class Stages:
    """Stand-ins for the model-backed stages, each called like the function
    it replaces (None: that function). Tests pass fakes or recorded results."""

    features: Callable[..., Any] | None = None  # as features.compute_features(examples, cfg)
    probe: Callable[..., Any] | None = None  # as probe.run_probe(examples, cfg)
    predict: Callable[..., Any] | None = None  # as predict.stage.predict_stage(values, *, model, ...)


def _pick(opt: Any, config: Config, key: str) -> Any:
    return config.get(key) if opt is None else opt


def read_all(paths: Sequence[str], fmt: str | None) -> tuple[list[Example], list[FileSummary]]:
    """Read every data file under ``paths``. Raises readers.InputError."""
    from tuneahead_lint.readers import discover, is_file_note, read

    examples: list[Example] = []
    files: list[FileSummary] = []
    for path in discover(paths):
        recs = list(read(path, fmt))
        formats = Counter(ex.format for ex in recs if ex.ok)
        major = formats.most_common(1)[0][0] if formats else "unknown"
        recs_only = [ex for ex in recs if not is_file_note(ex)]
        files.append(FileSummary(path, major, len(recs_only), sum(not ex.ok for ex in recs_only)))
        examples.extend(recs)
    return examples, files


def summarise(examples: Sequence[Example], files: Sequence[FileSummary]) -> Summary:
    ok = [ex for ex in examples if ex.ok]
    stats: list[tuple[str, float]] = []
    for part in ("prompt", "response"):
        lens = sorted(len(getattr(ex, part)) for ex in ok)
        if lens:
            stats += [(f"{part}_chars_mean", statistics.fmean(lens)),
                      (f"{part}_chars_p50", float(lens[len(lens) // 2])),
                      (f"{part}_chars_max", float(lens[-1]))]
    turns = sorted(len(ex.turns) for ex in ok)
    if turns:
        stats += [("turns_mean", statistics.fmean(turns)), ("turns_p50", float(turns[len(turns) // 2])),
                  ("turns_max", float(turns[-1]))]
    formats = Counter(ex.format for ex in ok)
    return Summary(tuple(files), sum(f.records for f in files), tuple(sorted(formats.items())), tuple(stats))


def _tokenizer(base_model: str | None, missing: dict[str, str]) -> Any:
    from tuneahead_lint.basemodel import BaseModelError, fast_tokenizer

    try:
        return fast_tokenizer(base_model)
    except BaseModelError as exc:
        missing["tokenizer"] = f"no tokenizer: {exc}"
        return None


def lint(paths: Sequence[str], config: Config, opts: LintOptions = LintOptions(),
         rules: Sequence[Rule] | None = None,
         on_stage: Callable[[str], None] | None = None, stages: Stages = Stages()) -> Report:
    """Run the whole pipeline over ``paths`` and return the report."""
    from tuneahead_lint.basemodel import offline_unless_hub

    rules = tuple(rules or load_rules())
    offline_unless_hub(_pick(opts.base_model, config, "base-model"), _pick(opts.embedder, config, "embedder"))
    stage = on_stage or (lambda name: None)
    stage("read")
    examples, files = read_all(paths, _pick(opts.input_format, config, "format"))
    base_model = _pick(opts.base_model, config, "base-model")
    available = {"records"}
    missing: dict[str, str] = {}
    stage("tokenizer")
    tokenizer = _tokenizer(base_model, missing)
    if tokenizer is not None:
        available.add("tokenizer")
    features = probe = None
    if _pick(opts.features, config, "features"):
        stage("features")
        features = _run_features(examples, config, _with_feature_thresholds(opts, config, rules),
                                 base_model, available, missing, stages.features)
    else:
        for need in ("embeddings", "base_model"):
            missing[need] = "dataset features are off (--fast, or features = false in the config)"
    if _pick(opts.probe, config, "probe"):
        stage("probe")
        probe = _run_probe(examples, config, _with_probe_defaults(opts), base_model, available, missing,
                           stages.probe)
    else:
        missing["probe"] = "needs --probe"
    values = tuple(getattr(features, "values", ()) or ()) + tuple(getattr(probe, "values", ()) or ())
    outcome = None
    if features is not None and not any(ex.ok for ex in examples):
        missing["predictor"] = "skipped: no valid records to predict from"
    elif features is not None:
        stage("predict")
        outcome = _run_predict(values, probe is not None, config, opts, base_model, available, missing,
                               stages.predict)
    missing.setdefault("predictor", "needs dataset features (off with --fast or features = false)")
    stage("rules")
    ctx = Context(examples, frozenset(available), missing, tokenizer, features, probe,
                  one_line_files(examples), prediction=outcome)
    findings, skipped = evaluate(rules, config, ctx)
    return Report(
        tool_version=__version__, summary=summarise(examples, files),
        findings=tuple(findings), skipped=tuple(skipped), features=values,
        prediction=outcome.prediction if outcome else None, config_path=config.path,
        prediction_detail=outcome.detail if outcome else None, probe_run=probe_run(probe),
    )


PROBE_SHOWN = ("steps", "lr", "batch_size", "lora_r", "lora_alpha", "max_len", "seed")


def probe_run(probe) -> ProbeRun | None:
    """The probe's budget as run, for the report (see :class:`ProbeRun`)."""
    if probe is None:
        return None
    conf = dict(probe.config)
    return ProbeRun(probe.steps_run, probe.device.split(":")[0], probe.model,
                    **{k: conf[k] for k in PROBE_SHOWN if k in conf})


def _run_features(examples, config, opts, base_model, available, missing, compute=None):
    from tuneahead_lint.features import FeatureConfig, compute_features

    cfg = FeatureConfig(base_model=base_model, embedder=_pick(opts.embedder, config, "embedder"),
                        seed=int(_pick(opts.seed, config, "seed")), progress=opts.progress,
                        **{"embed_backend": config.get("embed-backend", "auto"),
                           "semantic_sample": int(config.get("semantic-sample", 0)), **opts.feature_params})
    result = (compute or compute_features)([ex for ex in examples if ex.ok], cfg)
    available.update({"embeddings", "base_model"})
    return result


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


def _run_probe(examples, config, opts, base_model, available, missing, run=None):
    from tuneahead_lint.probe import ProbeConfig, ProbeError, run_probe

    cfg = ProbeConfig(base_model=base_model, seed=int(_pick(opts.seed, config, "seed")),
                      progress=opts.progress, **opts.probe_params)
    try:
        result = (run or run_probe)([ex for ex in examples if ex.ok], cfg)
    except ProbeError as exc:  # e.g. no record has a response: probe rules are skipped
        missing["probe"] = f"probe failed: {exc}"
        return None
    available.add("probe")
    return result


def _with_probe_defaults(opts: LintOptions) -> LintOptions:
    """Probe with the predictor's recorded probe recipe (command-line values win)."""
    try:
        from tuneahead_lint.predict.stage import probe_defaults
    except ImportError:  # pragma: no cover - the ml extra is missing
        return opts
    return replace(opts, probe_params={**probe_defaults(opts.model), **opts.probe_params})


def _run_predict(values, probe_ran, config, opts, base_model, available, missing, predict=None):
    try:
        from tuneahead_lint.predict.stage import predict_stage
        from tuneahead_lint.predict.table import PredictError
    except ImportError as exc:  # pragma: no cover - the ml extra is missing
        missing["predictor"] = f"needs the ml extra (lightgbm, shap): {exc}"
        return None
    hparams = {k: v for k, v in opts.probe_params.items() if k in ("lr", "batch_size", "lora_r")}
    try:
        outcome = (predict or predict_stage)(values, model=opts.model, probe=probe_ran,
                                min_score=_pick(opts.min_score, config, "min-score"),
                                hparams=hparams, base_model=base_model)
    except (PredictError, ImportError) as exc:
        missing["predictor"] = str(exc)
        return None
    available.add("predictor")
    return outcome
