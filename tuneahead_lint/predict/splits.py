"""Seeded row splits of a meta-dataset: random (the paper's) or by group
(every run of a source dataset on the same side: harder, more honest)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from tuneahead_lint.predict.table import PredictError


def random_split(n: int, fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Row indices for each of ``fractions`` (of ``n``), then the rest.

    Each part with a nonzero fraction gets at least one row; the rest (the
    training part) at least one too. Indices are sorted within a part."""
    order = np.random.default_rng(seed).permutation(n)
    sizes = [max(1, round(f * n)) if f > 0 else 0 for f in fractions]
    if sum(sizes) >= n:
        raise PredictError(f"{n} rows are too few for a split into {len(fractions) + 1} parts")
    parts, start = [], 0
    for size in sizes:
        parts.append(np.sort(order[start:start + size]))
        start += size
    return parts + [np.sort(order[start:])]


def group_split(groups: Sequence[str], fractions: Sequence[float], seed: int) -> list[np.ndarray]:
    """Like :func:`random_split` but whole groups go to one part: groups in
    a seeded order fill each part until it holds about its share of rows,
    leaving at least one group for every later part."""
    names = sorted(set(groups))
    counts = Counter(groups)
    wanted = [p for p, f in enumerate(fractions) if f > 0]
    if len(names) < len(wanted) + 1:
        raise PredictError(f"{len(names)} group(s) are too few for a grouped split into "
                           f"{len(wanted) + 1} parts")
    queue = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    part_of: dict[str, int] = {}
    for k, part in enumerate(wanted):
        keep = len(wanted) - k  # groups still owed to later parts and training
        rows = 0
        while len(queue) > keep and (rows == 0 or rows + counts[queue[0]] / 2 <= fractions[part] * len(groups)):
            part_of[queue[0]] = part
            rows += counts[queue.pop(0)]
    part_of.update({g: len(fractions) for g in queue})
    labels = np.array([part_of[g] for g in groups])
    return [np.flatnonzero(labels == p) for p in range(len(fractions) + 1)]


def sizes(parts: Sequence[np.ndarray]) -> str:
    """``"46/14/12/28"``: row counts of each part, for logs and cards."""
    return "/".join(str(len(p)) for p in parts)


def group_kfold(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold number (0..k-1) of each row; whole groups stay in one fold.

    Groups in a seeded random order go each to the fold holding the fewest
    rows so far (lowest fold number on ties), so folds are about equal in
    rows. ``k`` larger than the number of groups is cut to it."""
    names = sorted(set(groups))
    k = max(1, min(k, len(names)))
    counts = Counter(groups)
    load = [0] * k
    fold_of: dict[str, int] = {}
    for i in np.random.default_rng(seed).permutation(len(names)):
        f = int(np.argmin(load))
        fold_of[names[i]] = f
        load[f] += counts[names[i]]
    return np.array([fold_of[g] for g in groups], dtype=np.int64)
