"""The meta-dataset card (``meta card``): per target, its spread next to the
seed noise floor; per corruption, the dose-response of each target (table
and PNG); time per phase and runs per minute.

Targets: ``y_indomain``, ``y_general``, ``y_general_acc`` (see SCHEMA.md).
Runs labelled ``y_diverged`` are counted, and left out of the continuous
targets' statistics (their value is not a score). Noise floor and spread are
``report.noise_and_spread``: pooled within-config SD over seed repeats, and
the SD across configs of their seed means.

Dose-response of corruption ``c``: the runs whose recipe corrupts nothing
but ``c`` (clean runs are dose 0), grouped by dose; ``rho`` is the Spearman
correlation of dose and target over those runs (``y_indomain`` should fall
with the dose: the run fits clean held-out responses worse).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from tuneahead_lint.meta.export import RECIPE_COLS, extra_recipe_cols, rows
from tuneahead_lint.meta.report import fmt_num, noise_and_spread, spearman
from tuneahead_lint.meta.store import Store

TARGETS = ("y_indomain", "y_general", "y_general_acc")
_NOT_DOSES = {"heldout", "size", "n_sources", "outlier_source", "sources"}
PHASES = ("build_s", "load_s", "train_s", "eval_s", "indomain_s", "probe_s", "static_s", "total_s")


def corruption_cols(table: Sequence[dict], cols: Sequence[str]) -> list[str]:
    """Recipe columns that are rates in [0, 1] and vary over the table."""
    out = []
    for c in cols:
        if c in _NOT_DOSES:
            continue
        vals = [r.get(c) for r in table]
        if all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in vals) and len(set(vals)) > 1:
            out.append(c)
    return out


def converged(table: Sequence[dict]) -> list[dict]:
    return [r for r in table if not r.get("y_diverged")]


def target_lines(table: Sequence[dict]) -> list[str]:
    ok = converged(table)
    lines = ["| target | runs | configs | mean | min | max | spread (SD across configs) | "
             "noise floor (pooled seed SD) | df | spread / floor |", "|---|---|---|---|---|---|---|---|---|---|"]
    for t in TARGETS:
        s = noise_and_spread(ok, t)
        ratio = s["spread"] / s["floor"] if s["floor"] and math.isfinite(s["floor"]) else math.nan
        lines.append(f"| {t} | {s['n_runs']} | {s['n_configs']} | {fmt_num(s['mean'])} | {fmt_num(s['min'])} | "
                     f"{fmt_num(s['max'])} | {fmt_num(s['spread'])} | {fmt_num(s['floor'])} | {s['floor_df']} | "
                     f"{fmt_num(ratio, 1)} |")
    return lines


def dose_table(table: Sequence[dict], corruptions: Sequence[str], target: str) -> dict[str, dict]:
    """{corruption: {"doses": {dose: [values]}, "rho": float}} over single-corruption and clean runs."""
    out = {}
    for c in corruptions:
        others = [o for o in corruptions if o != c]
        doses: dict[float, list[float]] = defaultdict(list)
        for r in converged(table):
            if r.get(target) is not None and all(not r.get(o) for o in others):
                doses[float(r[c])].append(r[target])
        pts = [(d, v) for d, vs in doses.items() for v in vs]
        rho = spearman(*zip(*pts)) if len(doses) > 1 else math.nan
        out[c] = {"doses": dict(sorted(doses.items())), "rho": rho}
    return out


def dose_lines(dose: dict[str, dict], target: str) -> list[str]:
    lines = [f"| corruption | {target} by dose: mean (runs) | Spearman rho (dose, {target}) |", "|---|---|---|"]
    for c, d in dose.items():
        cells = ", ".join(f"{k:g}: {statistics.fmean(v):+.3f} ({len(v)})" for k, v in d["doses"].items())
        lines.append(f"| {c} | {cells or '-'} | {fmt_num(d['rho'], 2)} |")
    return lines


def phase_lines(table: Sequence[dict], wall_s: float | None) -> list[str]:
    med = {p: _median([r.get(p) for r in table]) for p in PHASES}
    lines = ["| phase | " + " | ".join(PHASES) + " |", "|---|" + "---|" * len(PHASES),
             "| median s per run | " + " | ".join(fmt_num(med[p], 2) for p in PHASES) + " |"]
    if wall_s:
        lines += ["", f"{len(table)} runs in {wall_s:.0f} s of build wall time: "
                      f"**{60 * len(table) / wall_s:.2f} runs/min**"]
    return lines


def card(store: Store, out_dir: str | Path, title: str = "Meta-dataset card",
         wall_s: float | None = None) -> str:
    """Write ``CARD.md`` and ``dose_<target>.png`` into ``out_dir``; return the Markdown."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols, table = rows(store)
    if not table:
        text = f"# {title}\n\nempty meta-dataset: no finished runs\n"
        (out / "CARD.md").write_text(text, encoding="utf-8")
        return text
    runs = store.query("SELECT spec_json FROM runs")
    corr = corruption_cols(table, [*RECIPE_COLS, *extra_recipe_cols(runs)])
    lines = [f"# {title}", "",
             f"- runs: **{len(table)}**, diverged (`y_diverged`): {sum(1 for r in table if r['y_diverged'])}; "
             f"configs: {len({r['config_id'] for r in table})}; presets: "
             f"{', '.join(sorted({r['preset'] for r in table}))}; base model: "
             f"{', '.join(sorted({r['base_model'] for r in table}))}",
             f"- learning rates: {', '.join(f'{v:g}' for v in sorted({r['learning_rate'] for r in table}))}; "
             f"devices: {', '.join(sorted({r['device'] for r in table}))}", "",
             "## Targets: spread vs seed noise floor (converged runs)", "", *target_lines(table), ""]
    for t in TARGETS:
        dose = dose_table(table, corr, t)
        lines += [f"## Dose-response: {t}", "", *dose_lines(dose, t), ""]
        if corr and _plot_doses(dose, t, out / f"dose_{t}.png"):
            lines += [f"![dose-response {t}](dose_{t}.png)", ""]
    lines += ["## Time per phase", "", *phase_lines(table, wall_s), ""]
    text = "\n".join(lines)
    (out / "CARD.md").write_text(text, encoding="utf-8")
    return text


def _median(xs) -> float | None:
    xs = [x for x in xs if isinstance(x, (int, float))]
    return statistics.median(xs) if xs else None


def _plot_doses(dose: dict[str, dict], target: str, path: Path) -> bool:
    """One panel per corruption: every run's value at its dose, the mean line."""
    panels = [(c, d) for c, d in dose.items() if d["doses"]]
    if not panels:
        return False
    try:
        import matplotlib
    except ImportError:  # a GPU image without it: the tables stand, plot later with `meta card`
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.0), squeeze=False, sharey=True)
    for ax, (c, d) in zip(axes[0], panels):
        xs = sorted(d["doses"])
        for x in xs:
            ax.scatter([x] * len(d["doses"][x]), d["doses"][x], s=12, color="tab:blue", alpha=0.6)
        ax.plot(xs, [statistics.fmean(d["doses"][x]) for x in xs], color="tab:red", lw=1.2)
        ax.set_title(f"{c} (rho {fmt_num(d['rho'], 2)})", fontsize=9)
        ax.set_xlabel("dose")
        ax.axhline(0, color="grey", lw=0.5)
    axes[0][0].set_ylabel(target)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return True
