"""Shared probe fixtures: the 40-record Alpaca slice (credits in
tests/fixtures/probe/README.md), a tiny probe config, one tiny probe run per
session, and a private result cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuneahead_lint.readers import read

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "probe" / "alpaca_40.jsonl"


@pytest.fixture(scope="session")
def examples():
    return list(read(str(FIXTURE)))


@pytest.fixture(scope="session")
def tokenizer():
    from tuneahead_lint.basemodel import load_tokenizer

    return load_tokenizer(None)


@pytest.fixture(scope="session")
def tiny_cfg():
    """3 steps of batch 2 at 48 tokens; a handful of contrast and general items."""
    from tuneahead_lint.probe import ProbeConfig

    return ProbeConfig(steps=3, batch_size=2, max_len=48, contrast_pairs=4, forgetting_items=4,
                       flatness_items=2, device="cpu", progress=False, use_cache=False)


@pytest.fixture(scope="session")
def probe_cache_dir(tmp_path_factory):
    """Probe results go to a private directory (the model cache stays shared)."""
    import tuneahead_lint.probe.cache as cache

    root = tmp_path_factory.mktemp("probe-cache")
    mp = pytest.MonkeyPatch()
    mp.setattr(cache, "cache_root", lambda: root)
    yield root
    mp.undo()


@pytest.fixture(scope="session")
def tiny_runs(examples, tiny_cfg, probe_cache_dir):
    """(uncached run, cached-config first run, cache hit): two computations."""
    import dataclasses

    from tuneahead_lint.probe import run_probe

    a = run_probe(examples, tiny_cfg)
    cached_cfg = dataclasses.replace(tiny_cfg, use_cache=True)
    b = run_probe(examples, cached_cfg)
    c = run_probe(examples, cached_cfg)
    return a, b, c
