"""Time, CPU seconds and peak memory of one lint run (issue 15 scale table).

Usage: python benchmarks/bench_scale.py LABEL OUT_JSON [ENV=VALUE ...] -- LINT_ARGS...

Runs ``python -m tuneahead_lint LINT_ARGS`` with this checkout on
``PYTHONPATH`` under ``/usr/bin/time -v`` and appends one row to OUT_JSON:
label, arguments, exit code, wall seconds, user and system CPU seconds (the
machine is shared: CPU seconds compare better than wall time), peak RSS
(maximum resident set size of the process and its waited-for children, MB)
and the load average before and after. ``ENV=VALUE`` pairs before ``--``
are set for the run (e.g. ``TUNEAHEAD_CACHE=/tmp/empty-cache`` for a cold run).
Build the inputs with ``benchmarks/make_scale_inputs.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _seconds(err: str, label: str) -> float:
    return float(re.search(rf"{label}: ([\d.]+)", err).group(1))


def _wall(err: str) -> float:
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", err)
    return int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))


def measure(args: list[str], env: dict[str, str]) -> dict[str, object]:
    """One run of the linter with ``args``."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    load = os.getloadavg()[0]
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "tuneahead_lint", *args]
    proc = subprocess.run(cmd, env=full_env, capture_output=True, text=True, cwd=ROOT)
    err = proc.stderr
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    return {"args": args, "env": env, "rc": proc.returncode, "wall_s": round(_wall(err), 1),
            "user_s": _seconds(err, "User time \\(seconds\\)"), "sys_s": _seconds(err, "System time \\(seconds\\)"),
            "peak_rss_mb": round(rss_kb / 1024), "load_before": round(load, 1),
            "load_after": round(os.getloadavg()[0], 1), "stderr_tail": err.split("\tCommand being timed")[0][-600:]}


def main(argv: list[str]) -> int:
    label, out = argv[0], Path(argv[1])
    cut = argv.index("--")
    env = dict(kv.split("=", 1) for kv in argv[2:cut])
    row = {"label": label, **measure(argv[cut + 1:], env)}
    print(json.dumps(row), flush=True)
    rows = json.loads(out.read_text()) if out.exists() else []
    out.write_text(json.dumps([*rows, row], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
