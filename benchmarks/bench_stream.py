"""Peak memory and time of ``lint --fast`` on large inputs (issue 15).

Usage: python benchmarks/bench_stream.py LABEL SRC_DIR OUT_JSON FILE...

Runs ``python -m tuneahead_lint lint --fast --format json`` with
``PYTHONPATH=SRC_DIR`` (a checkout: this worktree, or ``git archive`` of the
commit to compare with) under ``/usr/bin/time -v`` for every FILE, one after
the other, and appends one row per file to OUT_JSON: label, file, MB, exit
code, peak RSS (MB, maximum resident set size of the process) and wall
seconds. The JSON report is kept next to OUT_JSON as
``LABEL.FILE.report.json`` (compare the reports of two labels with ``cmp``).
Build the inputs with ``benchmarks/make_stream_inputs.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path


def measure(src: str, path: str, report: Path) -> dict[str, object]:
    """One run of ``lint --fast`` over ``path`` with the code in ``src``."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "tuneahead_lint", "lint", "--fast",
           "--format", "json", "--fail-on", "never", "-o", str(report.resolve()), path]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=os.path.dirname(path))
    findings = len(json.loads(report.read_text())["findings"]) if report.exists() else None
    err = proc.stderr
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", err)
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return {"file": Path(path).name, "mb": round(os.path.getsize(path) / 1e6, 1), "rc": proc.returncode,
            "peak_rss_mb": round(rss_kb / 1024), "wall_s": round(seconds, 1), "findings": findings,
            "stderr_tail": err.split("\tCommand being timed")[0][-300:]}


def main(argv: list[str]) -> int:
    label, src, out, files = argv[0], argv[1], Path(argv[2]), argv[3:]
    rows = json.loads(out.read_text()) if out.exists() else []
    for path in files:
        report = out.parent / f"{label}.{Path(path).name}.report.json"
        row = {"label": label, **measure(src, os.path.abspath(path), report)}
        print(json.dumps(row), flush=True)
        rows.append(row)
        out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
