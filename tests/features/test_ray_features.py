"""``ray_address``: the embedding and the candidate search run as Ray tasks
on a local cluster (1 and 2 workers) and give the same features as in-process."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.features.conftest import examples_of, planted_records
from tuneahead_lint.features import FeatureConfig, compute_features
from tuneahead_lint.features.embed.blocks import RayMap, local_map
from tuneahead_lint.features.embed.index import similar_pairs
from tuneahead_lint.features.embed.neighbours import nearest_other

ray = pytest.importorskip("ray", reason="pip install 'tuneahead-lint[ray]'")

NO_PPL = frozenset({"base_model"})


def _comparable(result) -> str:
    """The feature result without its wall-clock timings."""
    out = result.to_dict()
    del out["timings"]
    return json.dumps(out, sort_keys=True, default=str)


def _on_cluster(cpus: int, monkeypatch, fn, also=None):
    """``fn()`` (then ``also()``) with a fresh local Ray cluster of ``cpus``
    workers; returns its value and the names of the functions run as Ray tasks."""
    shipped: list[str] = []
    real = ray.remote

    def spy(*args, **kwargs):
        wrap = real(*args, **kwargs)
        return lambda f: shipped.append(f"{f.__module__}.{f.__name__}") or wrap(f)

    monkeypatch.setattr(ray, "remote", spy)
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    try:
        out = fn()
        if also:
            also()
        return out, shipped
    finally:
        ray.shutdown()
        monkeypatch.setattr(ray, "remote", real)


def _exact_search_on_workers() -> None:
    """Blocks leave this process; the exact search and the IVF join match."""
    assert os.getpid() not in RayMap("auto")(lambda block: os.getpid(), range(4))  # a lambda travels by value
    x = np.random.default_rng(0).normal(size=(9000, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert np.array_equal(nearest_other(x, mapper=RayMap("auto")), nearest_other(x, mapper=local_map))
    ray_pairs = similar_pairs(x, 0.45, exact_max=1000, mapper=RayMap("auto"))  # the IVF join's lists on workers
    local_pairs = similar_pairs(x, 0.45, exact_max=1000)
    assert ray_pairs.method.startswith("ivf-join") and len(local_pairs.i) > 0
    assert all(np.array_equal(a, b) for a, b in zip((ray_pairs.i, ray_pairs.j, ray_pairs.sim),
                                                    (local_pairs.i, local_pairs.j, local_pairs.sim)))


@pytest.mark.slow
def test_ray_workers_give_the_in_process_features(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    monkeypatch.setenv("RAY_worker_niceness", "0")  # as --ray-address local does
    recs, dups, _ = planted_records()
    examples = examples_of(recs)
    cfg = FeatureConfig(skip=NO_PPL, semantic_sample=40, seed=3, use_cache=False)  # cascade on (40-record sample)
    local = compute_features(examples, cfg)
    assert {tuple(line for _, line in c.members) for c in local.clusters} == {(a + 1, b + 1) for a, b in dups}
    for cpus in (1, 2):
        run = replace(cfg, ray_address="auto")
        result, shipped = _on_cluster(cpus, monkeypatch, lambda: compute_features(examples, run),
                                      _exact_search_on_workers if cpus == 2 else None)
        assert _comparable(result) == _comparable(local), f"{cpus} worker(s)"
        assert {"tuneahead_lint.features.embed.static.encode_block",
                "tuneahead_lint.features.embed.embedder.encode_block"} <= set(shipped)


def test_ray_address_from_config_and_command_line(tmp_path, monkeypatch, capsys) -> None:
    from tuneahead_lint import features as features_mod
    from tuneahead_lint.cli import main

    data = Path(__file__).resolve().parents[1] / "fixtures" / "features" / "alpaca_120.jsonl"
    (tmp_path / ".tuneahead.toml").write_text('ray-address = "ray://head:10001"\n')
    seen: list[FeatureConfig] = []
    monkeypatch.setattr(features_mod, "compute_features", lambda ex, cfg: (seen.append(cfg), None)[1])
    monkeypatch.setitem(sys.modules, "ray", None)  # Ray not installed: a one-line usage error
    args = ["lint", "--config", str(tmp_path / ".tuneahead.toml"), "--format", "json", str(data)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == "tuneahead-lint: error: --ray-address needs Ray: pip install 'tuneahead-lint[ray]'"
    monkeypatch.setattr("tuneahead_lint.features.embed.blocks.connect", lambda address: None)
    main(args)
    main([*args[:1], "--ray-address", "auto", *args[1:]])
    assert [c.ray_address for c in seen] == ["ray://head:10001", "auto"]
