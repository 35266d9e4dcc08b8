"""Progress bars: shown with an ETA on a terminal, nothing at all otherwise;
third-party loaders kept quiet."""

from __future__ import annotations

import io
import os
import sys
import warnings

import pytest

from tuneahead_lint import progress


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_task(monkeypatch, stream, enabled: bool) -> str:
    monkeypatch.setattr(sys, "stderr", stream)
    with progress.enabled(enabled), progress.task("embedding", 10):
        for _ in range(10):
            progress.advance(1)
    return stream.getvalue()


def test_bar_with_eta_on_a_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    out = run_task(monkeypatch, FakeTerminal(), enabled=True)
    assert "embedding" in out and "ETA" in out and "10/10" in out


@pytest.mark.parametrize("stream, enabled", [(io.StringIO(), True), (FakeTerminal(), False)],
                         ids=["not-a-terminal", "disabled"])
def test_nothing_off_a_terminal_or_when_disabled(monkeypatch, stream, enabled):
    assert run_task(monkeypatch, stream, enabled) == ""


def test_advance_without_a_bar_is_a_no_op():
    progress.advance(5)


def test_cached_values_counts_only_the_misses(monkeypatch, tmp_path):
    import numpy as np

    from tuneahead_lint.cache import VectorCache, cached_values

    seen = []
    monkeypatch.setattr(progress, "task", lambda name, total: _Recorder(seen, name, total))
    cache = VectorCache(tmp_path, "ns")
    cached_values(["a", "b"], cache, lambda t: [np.zeros(2)] * len(t), label="embedding")
    cached_values(["a", "b", "c"], cache, lambda t: [np.zeros(2)] * len(t), label="embedding")
    cache.close()
    assert seen == [("embedding", 2), ("embedding", 1)]


class _Recorder:
    def __init__(self, seen, name, total):
        seen.append((name, total))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_quiet_third_party(monkeypatch):
    for key in progress.QUIET_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "0")  # the user's own setting wins
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        progress.quiet_third_party()
        warnings.warn_explicit("loud", FutureWarning, "x.py", 1, module="transformers.modeling_utils")
        warnings.warn_explicit("ours", UserWarning, "y.py", 1, module="tuneahead_lint.cli")
    assert [str(w.message) for w in caught] == ["ours"]
    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error" and os.environ["TQDM_DISABLE"] == "0"
