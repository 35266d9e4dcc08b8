"""Format dispatch, byte-determinism and the golden reports."""

from __future__ import annotations

import random

import pytest

from reporters.golden import assert_golden
from reporters.sample import FINDINGS, RULES, report
from tuneahead_lint.reporters import RENDERERS, Format, render


def test_every_format_has_a_renderer():
    assert set(RENDERERS) == set(Format)
    for cls in RENDERERS.values():
        assert callable(getattr(cls, "render"))


def test_format_accepts_its_string_value():
    assert render(report(), "json", RULES) == render(report(), Format.JSON, RULES)


def test_unknown_format_is_a_value_error():
    with pytest.raises(ValueError):
        render(report(), "xml", RULES)


@pytest.mark.parametrize("fmt", list(Format))
def test_same_input_same_bytes(fmt):
    assert render(report(), fmt, RULES, root=".") == render(report(), fmt, RULES, root=".")


@pytest.mark.parametrize("fmt", list(Format))
def test_finding_order_does_not_matter(fmt):
    shuffled = list(FINDINGS)
    random.Random(7).shuffle(shuffled)
    rules = list(RULES)
    random.Random(7).shuffle(rules)
    expected = render(report(), fmt, RULES, root=".")
    got = render(report(findings=tuple(shuffled), skipped=report().skipped[::-1]), fmt,
                 tuple(rules), root=".")
    assert got == expected


@pytest.mark.parametrize("fmt, name", [(Format.TEXT, "report.txt"), (Format.JSON, "report.json"),
                                       (Format.SARIF, "report.sarif")])
def test_golden(fmt, name, request):
    assert_golden(name, render(report(), fmt, RULES, root="."), request)


def test_golden_mismatch_fails_with_a_diff(request):
    from reporters.golden import golden_path
    if request.config.getoption("--update-golden"):
        pytest.skip("would overwrite report.txt")
    good = golden_path("report.txt", request).read_text(encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="differs"):
        assert_golden("report.txt", good.replace("3 errors", "4 errors"), request)
    with pytest.raises(pytest.fail.Exception, match="missing"):
        assert_golden("no-such-file.txt", "", request)
