"""The lint pipeline passes the TA201/TA202 thresholds (rule YAML defaults,
then config overrides) into the feature run (FeatureConfig.dup_threshold,
outlier_sigma), so clusters and outliers are cut where the rules report."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.features.conftest import planted_records
from tuneahead_lint import features as features_mod
from tuneahead_lint.config import load_config
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.pipeline import LintOptions, feature_thresholds, lint
from tuneahead_lint.ruleset.registry import load_rules

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "fixtures" / "features" / "alpaca_120.jsonl"


def _config(tmp_path, text: str):
    path = tmp_path / ".tuneahead.toml"
    path.write_text(text)
    return load_config(path, load_rules())


def test_rule_defaults_match_feature_defaults() -> None:
    from tuneahead_lint.config import Config

    got = feature_thresholds(Config(), load_rules())
    assert got == {"dup_threshold": FeatureConfig().dup_threshold,
                   "outlier_sigma": FeatureConfig().outlier_sigma,
                   "outlier_k": FeatureConfig().outlier_k,
                   "mismatch_z": FeatureConfig().mismatch_z,
                   "pmi_candidates": FeatureConfig().pmi_candidates,
                   "end_candidates": FeatureConfig().end_candidates,
                   "mismatch_min_gap": FeatureConfig().mismatch_min_gap}


def test_config_overrides_reach_feature_config(tmp_path, monkeypatch) -> None:
    seen: list[FeatureConfig] = []
    real = features_mod.compute_features

    def spy(examples, cfg):
        seen.append(cfg)
        return real(examples, FeatureConfig(cache_dir=str(tmp_path / "c"), skip=frozenset(
            {"embeddings", "base_model"}), dup_threshold=cfg.dup_threshold, outlier_sigma=cfg.outlier_sigma))

    monkeypatch.setattr(features_mod, "compute_features", spy)
    config = _config(tmp_path, "[rules.TA201]\nmin_similarity = 0.9\n[rules.TA202]\nz = 2.5\n")
    report = lint([str(DATA)], config, LintOptions(probe=False))
    assert [(c.dup_threshold, c.outlier_sigma) for c in seen] == [(0.9, 2.5)]
    assert report.summary.records == 120


def test_explicit_feature_params_win(tmp_path, monkeypatch) -> None:
    seen: list[FeatureConfig] = []
    monkeypatch.setattr(features_mod, "compute_features",
                        lambda ex, cfg: (seen.append(cfg), None)[1])
    config = _config(tmp_path, "[rules.TA201]\nmin_similarity = 0.9\n")
    lint([str(DATA)], config, LintOptions(probe=False, feature_params={"dup_threshold": 0.97}))
    assert seen and seen[0].dup_threshold == 0.97 and seen[0].outlier_sigma == 3.0


@pytest.mark.slow
def test_stricter_threshold_cuts_clusters_end_to_end(tmp_path) -> None:
    """Real embeddings of alpaca_120 plus planted rewordings (cosine 0.987 to
    0.993 to their originals): TA201 at 0.99 in the config cuts the feature
    run's clusters at 0.99, so one rewording drops out of both the TA201
    findings and the near_dup_ratio feature."""
    import json

    recs, dups, _ = planted_records()
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs))
    opts = LintOptions(probe=False, feature_params={"skip": frozenset({"base_model"}),
                                                    "cache_dir": str(tmp_path / "cache")})
    default = lint([str(data)], _config(tmp_path, ""), opts)
    strict = lint([str(data)], _config(tmp_path, "[rules.TA201]\nmin_similarity = 0.99\n"), opts)

    def clusters(report):
        return [dict(f.evidence) for f in report.findings if f.rule_id == "TA201"]

    def ratio(report):
        return dict(report.features)["near_dup_ratio"].value

    # one planted copy is byte-identical (TA106's), the three rewordings are TA201's
    assert len(clusters(default)) == len(dups) - 1
    assert len(clusters(strict)) == len(dups) - 2
    assert all(ev["threshold"] == 0.99 and ev["min_similarity"] >= 0.99 for ev in clusters(strict))
    assert ratio(default) == pytest.approx(len(dups) / len(recs))
    assert ratio(strict) == pytest.approx((len(dups) - 1) / len(recs))


def test_embed_backend_from_config(tmp_path, monkeypatch) -> None:
    seen: list[FeatureConfig] = []
    monkeypatch.setattr(features_mod, "compute_features", lambda ex, cfg: (seen.append(cfg), None)[1])
    config = _config(tmp_path, 'embed-backend = "onnx"\nsemantic-sample = 0\n')
    lint([str(DATA)], config, LintOptions(probe=False))  # the stub returns no features
    assert seen[0].embed_backend == "onnx" and seen[0].semantic_sample == 0
    from tuneahead_lint.config import ConfigError

    with pytest.raises(ConfigError, match="embed-backend"):
        _config(tmp_path, 'embed-backend = "fp16"\n')
