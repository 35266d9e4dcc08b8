"""Worst relative difference, per measurement, between the runs of
tests/meta/test_group.py trained one by one and as one group (tiny random
model, float32, CPU).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/issue17_group_diffs.py PATH/TO/TINY_MODEL

(a tiny model directory as tests/meta/conftest.py's ``tiny_model_dir`` writes it).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import tests.meta.test_group as T  # noqa: E402


def pairs(grouped, alone):
    """(name, grouped value, alone value) of everything the test compares."""
    for g, a in zip(grouped, alone):
        yield from ((k, g.row[k], a.row[k]) for k in T.ROW)
        yield "indomain_nll", dict(g.metrics)["indomain_nll"], dict(a.metrics)["indomain_nll"]
        for gs, as_ in zip(sorted(g.scores, key=str), sorted(a.scores, key=str)):
            yield "margin", gs.margin, as_.margin
        for (n, gv), (_, av) in zip(g.features[0][2], a.features[0][2]):
            yield "probe:" + n, gv, av


def main() -> None:
    specs, cfg = T.group_specs(sys.argv[1]), T.cfg("probe")
    alone, grouped = T.alone(specs, cfg), T.together(specs, cfg)
    worst: dict[str, float] = {}
    for name, x, y in pairs(grouped, alone):
        if x is not None and y is not None and not math.isnan(x):
            worst[name] = max(worst.get(name, 0.0), abs(x - y) / max(1.0, abs(y)))
    for name, v in sorted(worst.items(), key=lambda t: -t[1]):
        print(f"{v:.2e} {name}")


if __name__ == "__main__":
    main()
