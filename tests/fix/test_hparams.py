"""The hyperparameter remedy: a suggested learning rate and betas, scored
by the predictor when there is one."""

from __future__ import annotations

from tuneahead_lint.fix.hparams import BASE_BETAS, SUGGESTED_BETAS, predictor_query, suggest
from tuneahead_lint.types import Measure, Prediction


def _pred(score: float) -> Prediction:
    return Prediction(score, score - 5, score + 5, "fake")


def test_without_predictor_the_case_study_direction_unscored():
    s = suggest(None, base_lr=3e-4)
    assert (s.lr, s.betas, s.base_betas) == (1.5e-4, SUGGESTED_BETAS, BASE_BETAS)
    assert s.predicted is None and "no predictor" in s.note


def test_best_scored_learning_rate_is_suggested():
    calls = []

    def query(lr):
        calls.append(lr)
        return _pred({2e-4: 20.2, 1e-4: 48.7, 5e-5: 40.0}[lr])
    s = suggest(query, base_lr=2e-4)
    assert calls == [2e-4, 1e-4, 5e-5]
    assert s.lr == 1e-4 and s.predicted.score == 48.7 and s.baseline.score == 20.2
    assert "betas are not a predictor feature" in s.note


def test_ties_keep_the_smaller_change():
    assert suggest(lambda lr: _pred(30.0), base_lr=2e-4).lr == 2e-4


def test_no_query_without_features_or_model():
    assert predictor_query(()) is None
    # a feature vector the shipped models cannot score (or no model at all)
    assert predictor_query((("record_count", Measure(10.0)),), model="no-such-model") is None
