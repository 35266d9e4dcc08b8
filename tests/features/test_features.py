"""compute_features on real slices with planted duplicates and outliers.

The ``slow`` tests load all-MiniLM-L6-v2 (and one SmolLM2-135M); each embeds
a few hundred texts at most."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.features.conftest import GARBAGE, examples_of, planted_records, records
from tuneahead_lint.features import (
    FEATURE_NAMES,
    FEATURES,
    REQUIREMENTS,
    FeatureConfig,
    compute_features,
)

NO_PPL = frozenset({"base_model"})
OFF_DOMAIN = [
    {"instruction": "Write a Python function that reverses a string.", "input": "",
     "output": "def reverse(s):\n    return s[::-1]"},
    {"instruction": "请把这句话翻译成英文。", "input": "今天天气很好。", "output": "The weather is nice today."},
    *GARBAGE,
]


def test_registry_is_consistent() -> None:
    assert len(set(FEATURE_NAMES)) == len(FEATURES) == 22
    for spec in FEATURES:
        assert spec.requires and spec.requires <= REQUIREMENTS, spec.name
        assert spec.doc, spec.name


def test_unknown_skip_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown requirement"):
        compute_features([], FeatureConfig(skip=frozenset({"gpu"})))


def test_empty_input_gives_nan_without_models(tmp_path) -> None:
    result = compute_features([], FeatureConfig(cache_dir=str(tmp_path)))
    assert result.value("record_count") == 0
    assert all(math.isnan(m.value) for name, m in result.values if name != "record_count")
    assert result.clusters == () and result.outliers == ()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    recs, dups, garbage = planted_records()
    cfg = FeatureConfig(cache_dir=str(tmp_path_factory.mktemp("cache")), skip=NO_PPL)
    return compute_features(examples_of(recs), cfg), dups, cfg, recs


@pytest.mark.slow
def test_planted_near_duplicates_found_exactly(planted) -> None:
    result, dups, _, _ = planted
    found = {tuple(line for _, line in c.members) for c in result.clusters}
    assert found == {(a + 1, b + 1) for a, b in dups}
    for c in result.clusters:
        assert c.representative == c.members[0]
        assert 0.95 <= c.min_similarity <= c.max_similarity <= 1.0 + 1e-6
    assert result.value("near_dup_ratio") == pytest.approx(len(dups) / len(planted[3]))
    assert dict(result.stats)["search"]["method"] == "exact"


@pytest.mark.slow
def test_values_in_feature_order_and_skips_marked(planted) -> None:
    result, _, _, _ = planted
    assert tuple(name for name, _ in result.values) == FEATURE_NAMES
    ppl = dict(result.values)["reference_ppl_mean"]
    assert math.isnan(ppl.value) and "base_model skipped" in ppl.detail
    assert result.value("record_count") == 126


@pytest.mark.slow
def test_warm_cache_gives_identical_numbers(planted) -> None:
    result, _, cfg, recs = planted
    again = compute_features(examples_of(recs), cfg)
    assert dict(again.stats)["embedding"]["encoded"] == 0
    assert str(again.values) == str(result.values)  # str: NaN != NaN
    assert again.clusters == result.clusters and again.outliers == result.outliers
    uncached = compute_features(examples_of(recs), FeatureConfig(use_cache=False, skip=NO_PPL))
    assert str(uncached.values) == str(result.values)


@pytest.mark.slow
def test_planted_outliers_found_exactly(tmp_path) -> None:
    base = records("medical_meadow_40.jsonl")
    cfg = FeatureConfig(cache_dir=str(tmp_path), skip=NO_PPL)
    result = compute_features(examples_of(base + OFF_DOMAIN), cfg)
    robust = {o.ref[1] for o in result.outliers if o.robust_z > 3}
    assert robust == set(range(len(base) + 1, len(base) + len(OFF_DOMAIN) + 1))
    # The plain z-score is masked by the outliers themselves; the robust one is not.
    assert result.value("embedding_outlier_ratio") < result.value("embedding_outlier_ratio_robust")
    assert result.value("embedding_outlier_ratio_robust") == pytest.approx(len(OFF_DOMAIN) / 44)


@pytest.mark.slow
def test_descriptors_tell_datasets_apart(tmp_path) -> None:
    cfg = FeatureConfig(cache_dir=str(tmp_path), skip=frozenset({"base_model", "embeddings"}))
    med = compute_features(examples_of(records("medical_meadow_40.jsonl")), cfg)
    gsm = compute_features(examples_of(records("gsm8k_40.jsonl")), cfg)
    alp = compute_features(examples_of(records("alpaca_120.jsonl")), cfg)
    assert med.value("top_instruction_share") == 1.0
    assert alp.value("top_instruction_share") < 0.05
    assert gsm.value("digit_ratio") > 3 * alp.value("digit_ratio")
    assert gsm.value("special_char_ratio") > alp.value("special_char_ratio")
    assert gsm.value("response_tokens_mean") > alp.value("response_tokens_mean")


@pytest.mark.slow
def test_perplexity_sample_is_seeded_and_cached(tmp_path) -> None:
    exs = examples_of(records("alpaca_120.jsonl"))
    cfg = FeatureConfig(cache_dir=str(tmp_path), ppl_sample=4, ppl_max_tokens=32,
                        skip=frozenset({"embeddings"}))
    first = compute_features(exs, cfg)
    second = compute_features(exs, cfg)
    assert dict(first.samples)["reference_ppl"] == 4
    assert dict(second.stats)["perplexity"]["scored"] == 0
    assert first.value("reference_ppl_mean") == second.value("reference_ppl_mean")
    assert 1.0 < first.value("reference_ppl_mean") < 1000.0
    other_seed = compute_features(exs, FeatureConfig(cache_dir=str(tmp_path), ppl_sample=4,
                                                     ppl_max_tokens=32, seed=1,
                                                     skip=frozenset({"embeddings"})))
    assert dict(other_seed.values)["reference_ppl_mean"].refs != dict(first.values)["reference_ppl_mean"].refs


@pytest.mark.slow
def test_perplexity_thread_gives_the_numbers_of_the_main_thread(tmp_path) -> None:
    """The background thread (beside the embedding) scores what the main thread scores, torch on one
    thread there and the main thread's torch threads untouched; bf16 and fp32 are cached apart."""
    import torch

    from tuneahead_lint.features.corpus import Corpus

    exs = examples_of(records("alpaca_120.jsonl"))
    cfg = FeatureConfig(use_cache=False, ppl_sample=6, ppl_max_tokens=24)
    threads = torch.get_num_threads()
    background = Corpus(exs, cfg)
    background.start_perplexity()
    assert np.array_equal(background.perplexity, Corpus(exs, cfg).perplexity)
    assert torch.get_num_threads() == threads
    fp32 = Corpus(exs, FeatureConfig(use_cache=False, ppl_sample=6, ppl_max_tokens=24, ppl_dtype="float32"))
    assert fp32.perplexity.shape == (6,)
    assert background.stats["perplexity"]["dtype"] in ("bfloat16", "float32")
    assert fp32.stats["perplexity"]["dtype"] == "float32"
    assert np.allclose(fp32.perplexity, background.perplexity, rtol=0.06)  # bf16: per record within a few %


def test_perplexity_thread_raises_in_the_caller(tmp_path) -> None:
    from tuneahead_lint.errors import BaseModelError
    from tuneahead_lint.features.corpus import Corpus

    corpus = Corpus(examples_of(records("alpaca_120.jsonl")[:5]),
                    FeatureConfig(use_cache=False, base_model=str(tmp_path / "no-such-model")))
    corpus.start_perplexity()
    with pytest.raises(BaseModelError):
        corpus.perplexity


def test_scoring_dtype_is_bf16_only_on_a_native_bf16_cpu(monkeypatch) -> None:
    from tuneahead_lint import basemodel

    monkeypatch.setattr(basemodel, "cpu_has_bf16", lambda: True)
    assert basemodel.scoring_dtype("cpu") == "bfloat16"
    assert basemodel.scoring_dtype("cuda") == "float32"
    monkeypatch.setattr(basemodel, "cpu_has_bf16", lambda: False)
    assert basemodel.scoring_dtype("cpu") == "float32"
