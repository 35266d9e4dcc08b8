"""A Markdown summary of a meta-dataset: counts, the spread of the target
next to its seed noise floor, time per run, and a target-vs-feature table.

Noise floor: the pooled within-config standard deviation of a score over
configs run with two or more training seeds (same data, same
hyperparameters, different LoRA init and batch order):
``sqrt(sum_c sum_i (x_ci - mean_c)^2 / sum_c (n_c - 1))``. Spread: the
standard deviation across configs of their seed-mean score. A predictor
cannot be judged below the floor; a spread near the floor means the grid
did not move the target.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence

from tuneahead_lint.meta.export import (HP_COLS, ID_COLS, PER_BENCH, RECIPE_COLS, TIME_COLS, TRAIN_COLS,
                                        rows)
from tuneahead_lint.meta.store import Store

_POST_HOC = set(TRAIN_COLS) | {"records"}


def pooled_sd(groups: Sequence[Sequence[float]]) -> tuple[float, int]:
    """(pooled within-group SD, degrees of freedom) over groups of size >= 2."""
    ss = df = 0.0
    for g in groups:
        if len(g) >= 2:
            m = sum(g) / len(g)
            ss += sum((x - m) ** 2 for x in g)
            df += len(g) - 1
    return (math.sqrt(ss / df) if df else float("nan")), int(df)


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation (average ranks for ties); NaN if constant."""
    rx, ry = _ranks(x), _ranks(y)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))
    return num / den if den else float("nan")


def _ranks(v: Sequence[float]) -> list[float]:
    order = sorted(range(len(v)), key=lambda i: v[i])
    ranks = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def fmt_num(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"


def noise_and_spread(table: Sequence[dict], col: str) -> dict:
    """Noise floor and spread of column ``col`` (see the module doc)."""
    by_config: dict[str, list[float]] = defaultdict(list)
    for r in table:
        if r.get(col) is not None:
            by_config[r["config_id"]].append(r[col])
    floor, df = pooled_sd(list(by_config.values()))
    means = [statistics.fmean(v) for v in by_config.values()]
    values = [r[col] for r in table if r.get(col) is not None]
    return {
        "n_runs": len(values), "n_configs": len(means), "floor": floor, "floor_df": df,
        "spread": statistics.stdev(means) if len(means) > 1 else float("nan"),
        "min": min(values, default=float("nan")), "max": max(values, default=float("nan")),
        "mean": statistics.fmean(values) if values else float("nan"),
    }


def kind_of(col: str, feature_kinds: dict[str, str]) -> str:
    if col in RECIPE_COLS:
        return "recipe"
    if col in HP_COLS:
        return "hparam"
    if col in _POST_HOC:
        return "training (post-hoc)"
    return feature_kinds.get(col, "")


def feature_table(table: Sequence[dict], cols: Sequence[str], feature_kinds: dict[str, str],
                  target: str = "target") -> list[tuple[str, str, float, int, float, float]]:
    """(column, kind, Spearman rho with target, n, min, max) of every numeric
    non-constant column, sorted by |rho|, descending."""
    skip = set(ID_COLS) | set(TIME_COLS) | {"target", "performance", "performance_delta", "base_performance",
                                             "target_benchmarks", "sources", "outlier_source"}
    skip |= {c for c in cols if any(c.startswith(p + "_") for p in PER_BENCH)}
    out = []
    for c in cols:
        if c in skip:
            continue
        pairs = [(r[c], r[target]) for r in table
                 if isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool)
                 and r.get(target) is not None and math.isfinite(r[c])]
        if len(pairs) < 4:
            continue
        xs, ys = zip(*pairs)
        if max(xs) - min(xs) <= 1e-9 * max(1.0, abs(max(xs))):  # constant up to float noise
            continue
        rho = spearman(xs, ys)
        if math.isfinite(rho):
            out.append((c, kind_of(c, feature_kinds), rho, len(pairs), min(xs), max(xs)))
    out.sort(key=lambda t: -abs(t[2]))
    return out


def report(store: Store, plot: str | None = None, top: int = 12,
           target_benchmarks: Sequence[str] | None = None) -> str:
    """The Markdown summary (see the module doc); ``plot`` also saves a PNG."""
    cols, table = rows(store, *([target_benchmarks] if target_benchmarks else []))
    if not table:
        return "empty meta-dataset: no finished runs\n"
    kinds = {r["name"]: r["kind"] for r in store.query("SELECT DISTINCT name, kind FROM features")}
    failures = store.query("SELECT COUNT(DISTINCT run_id) AS n FROM failures "
                           "WHERE run_id NOT IN (SELECT run_id FROM runs)")[0]["n"]
    seeds_per_config: dict[str, set[int]] = defaultdict(set)
    for r in table:
        seeds_per_config[r["config_id"]].add(r["seed"])
    repeated = sum(1 for s in seeds_per_config.values() if len(s) > 1)
    lines = [
        "## Meta-dataset", "",
        f"- runs: **{len(table)}** ({failures} failed, not stored); configs (data x hyperparameters): "
        f"{len(seeds_per_config)}; variants (distinct data recipes): {len({r['recipe_id'] for r in table})}",
        f"- training seeds: {sorted({r['seed'] for r in table})}; configs run with >= 2 seeds: {repeated} "
        f"({sum(len(s) for s in seeds_per_config.values() if len(s) > 1)} runs)",
        f"- base model: {', '.join(sorted({r['base_model'] for r in table}))}; "
        f"target: `target` = mean over {table[0]['target_benchmarks'].replace('+', ', ')} of "
        "(score after fine-tuning - base score)", "",
        "### Target and per-benchmark scores: spread vs seed noise floor", "",
        "| column | base | mean | min | max | spread (SD across configs) | noise floor (pooled seed SD) | df |",
        "|---|---|---|---|---|---|---|---|",
    ]
    benches = sorted({c[len("score_"):] for c in cols if c.startswith("score_")})
    for col, base in [("target", None), ("performance", table[0]["base_performance"])] + [
            (f"score_{b}", table[0].get(f"base_{b}")) for b in benches]:
        s = noise_and_spread(table, col)
        lines.append(f"| {col} | {fmt_num(base)} | {fmt_num(s['mean'])} | {fmt_num(s['min'])} | {fmt_num(s['max'])} | "
                     f"{fmt_num(s['spread'])} | {fmt_num(s['floor'])} | {s['floor_df']} |")
    lines += ["", "### Time per run (seconds, median)", "",
              "| device | runs | build | train | eval | total | static features | probe |",
              "|---|---|---|---|---|---|---|---|"]
    by_dev: dict[str, list[dict]] = defaultdict(list)
    for r in table:
        by_dev[r["device"]].append(r)
    for dev, rs in sorted(by_dev.items()):
        med = {k: _median([r[k] for r in rs]) for k in ("build_s", "train_s", "eval_s", "total_s",
                                                        "static_s", "probe_s")}
        lines.append(f"| {dev} | {len(rs)} | " + " | ".join(fmt_num(med[k], 0) for k in
                                                             ("build_s", "train_s", "eval_s", "total_s",
                                                              "static_s", "probe_s")) + " |")
    ft = feature_table(table, cols, kinds)
    lines += ["", f"### Target vs features (Spearman rho over runs, top {top} by |rho|)", "",
              "| column | kind | rho | n | min | max |", "|---|---|---|---|---|---|"]
    for c, k, rho, n, lo, hi in ft[:top]:
        lines.append(f"| {c} | {k} | {rho:+.2f} | {n} | {lo:.4g} | {hi:.4g} |")
    if plot:
        pre = [t for t in ft if t[1] in ("static", "probe")][:3] or ft[:3]
        if pre:
            _plot(table, [t[0] for t in pre], plot)
            lines += ["", f"Plot of target vs {', '.join(t[0] for t in pre)}: {plot}"]
        else:
            lines += ["", "No plot: no column varies over 4 or more runs."]
    return "\n".join(lines) + "\n"


def _median(xs: Sequence[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _plot(table: Sequence[dict], features: Sequence[str], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, max(1, len(features)), figsize=(4.2 * max(1, len(features)), 3.6),
                             squeeze=False)
    sc = None
    for ax, f in zip(axes[0], features):
        pts = [(r[f], r["target"], r["learning_rate"]) for r in table
               if r.get(f) is not None and r.get("target") is not None]
        if pts:
            xs, ys, lr = zip(*pts)
            sc = ax.scatter(xs, ys, c=[math.log10(v) for v in lr], cmap="viridis", s=22)
            ax.set_xlabel(f)
            ax.set_ylabel("target (score change vs base)")
            ax.axhline(0, color="grey", lw=0.6)
    if sc is not None:
        fig.colorbar(sc, ax=axes[0].tolist(), label="log10 learning rate")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
