"""Recorded values in the rule cases still match what the real stage gives.

TA206's cases record reference perplexities instead of loading the base model
in every run; this test scores the same records with SmolLM2-135M-Instruct
once and compares (worst-first order and values)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tuneahead_lint.features import FeatureConfig, compute_features
from tuneahead_lint.readers import read

CASES = Path(__file__).parent / "cases"


def _ppl_cases() -> list[dict]:
    """One case per distinct data block with recorded perplexities."""
    spec = yaml.safe_load((CASES / "TA206.yaml").read_text())
    return list({c["data"]: c for c in spec["cases"] if c["features"].get("recorded")}.values())


@pytest.mark.slow
@pytest.mark.parametrize("case", _ppl_cases(), ids=lambda c: c["name"][:40])
def test_recorded_perplexity_matches_the_base_model(case, tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(case["data"], encoding="utf-8")
    examples = [ex for ex in read(str(path), None) if ex.ok]
    result = compute_features(examples, FeatureConfig(use_cache=False, skip=frozenset({"embeddings"})))
    real = dict(result.values)["reference_ppl_mean"]
    recorded = case["features"]["recorded"]["reference_ppl_mean"]
    assert real.value == pytest.approx(recorded["value"], rel=0.02)
    assert [line for _, line in real.refs] == recorded["lines"]
