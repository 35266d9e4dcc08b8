"""TA3xx probe rules on hand-built ProbeResults (no model needed)."""

from __future__ import annotations

import math

import pytest

import tuneahead_lint.checks.probe  # noqa: F401 - registers the probe checks
from tuneahead_lint.checks import CHECKS, CheckContext
from tuneahead_lint.config import Config
from tuneahead_lint.probe import ProbeResult
from tuneahead_lint.ruleset.evaluate import Context, evaluate
from tuneahead_lint.ruleset.registry import find_rule, load_rules
from tuneahead_lint.types import Example, Measure, Turn

PATH = "data.jsonl"
EXAMPLES = [Example(PATH, i + 1, i, "messages", (Turn("user", "q"), Turn("assistant", "a")))
            for i in range(12)]
SMOOTH = [2.0, 1.95, 1.9, 1.88, 1.85, 1.8, 1.78, 1.75, 1.7, 1.68]


def result(losses=SMOOTH, norms=None, values=()) -> ProbeResult:
    n = len(losses)
    norms = norms or [0.8] * n
    refs = tuple(((PATH, 2 * s + 1), (PATH, 2 * s + 2), ("other.jsonl", s + 1)) for s in range(n))
    return ProbeResult(values=tuple(values), losses=tuple(losses), grad_norms=tuple(norms),
                       steps_run=n, device="cpu", wall_s=1.0, step_refs=refs,
                       config=(("lr", 2e-4),))


def hits(check: str, probe, **options):
    rule = next(r for r in load_rules() if r.check == check)
    ctx = CheckContext(options={**rule.defaults(), **options}, probe=probe)
    return list(CHECKS[check](EXAMPLES, ctx))


@pytest.mark.parametrize("check", ["probe_loss_spike", "probe_exploding_gradients",
                                   "probe_vanishing_gradients", "probe_flat_loss",
                                   "probe_low_contrast_margin"])
def test_no_probe_no_hits_and_smooth_run_is_clean(check):
    assert hits(check, None) == []
    good = result(values=[("contrast_margin_swapped", Measure(1.2))])
    assert hits(check, good) == []


def test_loss_spike_points_at_the_batch_of_that_step():
    losses = list(SMOOTH)
    losses[6] = 5.5
    (hit,) = hits("probe_loss_spike", result(losses))
    ev = dict(hit.evidence)
    assert ev["step"] == 7 and ev["loss"] == 5.5 and ev["ratio"] >= 1.5
    assert hit.path == PATH and hit.lines == (13, 14) and hit.related == (("other.jsonl", 7),)
    assert hits("probe_loss_spike", result(losses), min_ratio=4.0) == []


def test_exploding_gradients_on_nan_and_on_outlier_norm():
    norms = [0.8] * 10
    norms[3] = math.nan
    (hit,) = hits("probe_exploding_gradients", result(norms=norms))
    assert dict(hit.evidence)["step"] == 4 and "non-finite" in dict(hit.evidence)["reason"]
    norms[3] = 12.0
    (hit,) = hits("probe_exploding_gradients", result(norms=norms))
    assert dict(hit.evidence)["grad_norm"] == 12.0 and hit.lines == (7, 8)
    assert hits("probe_exploding_gradients", result(norms=norms), max_ratio=20.0) == []


def test_vanishing_gradients():
    (hit,) = hits("probe_vanishing_gradients", result(norms=[1e-5] * 10))
    assert hit.path == PATH and hit.lines == (1,) and dict(hit.evidence)["median"] == 1e-5


def test_flat_loss_reports_the_fitted_drop():
    flat = [3.1, 3.0, 3.2, 3.1, 3.1, 3.0, 3.1, 3.2, 3.0, 3.1]
    (hit,) = hits("probe_flat_loss", result(flat))
    assert abs(dict(hit.evidence)["drop"]) < 0.02
    assert hits("probe_flat_loss", result(flat[:4])) == []  # too few steps to judge


def test_low_contrast_margin_lists_records_where_the_violation_won():
    m = Measure(0.02, ((PATH, 5), (PATH, 9), ("b.jsonl", 2)), "32 pairs")
    (hit,) = hits("probe_low_contrast_margin", result(values=[("contrast_margin_swapped", m)]))
    assert hit.lines == (5, 9) and hit.related == (("b.jsonl", 2),)
    assert hits("probe_low_contrast_margin", result(values=[("contrast_margin_swapped", m)]),
                kind="mean") == []


def test_probe_rules_are_skipped_with_a_reason_without_probe():
    rules = [r for r in load_rules() if r.id.startswith("TA3")]
    ctx = Context(EXAMPLES, frozenset({"records"}), {"probe": "skipped: needs --probe"})
    findings, skipped = evaluate(rules, Config(None, {}), ctx)
    assert findings == []
    assert {s.rule_id: s.reason for s in skipped} == {r.id: "skipped: needs --probe" for r in rules}


def test_rule_messages_render_with_the_evidence():
    from tuneahead_lint.ruleset.evaluate import to_finding

    losses = list(SMOOTH)
    losses[6] = 5.5
    (hit,) = hits("probe_loss_spike", result(losses))
    rule = find_rule("TA301")
    f = to_finding(rule, hit, rule.severity, max_lines=10)
    assert "<" not in f.message and "step 7" in f.message and "5.5" in f.message
