"""CPU seconds the record rules cost on one set, in-process (issue 16, speed).

    PYTHONPATH=$PWD python benchmarks/bench_record_rules.py /work/shared/data/instruct/alpaca_5k_subset

Reads the records once, warms the one-time loads (benchmark index, word
lists), then streams them through every record rule and through every record
rule but the issue-16 content rules (TA107-TA119), with the text caches
cleared before each, and prints both and the difference (``time.process_time``).
``--per-rule`` also times each streamed rule alone (first call, loads included).
"""

from __future__ import annotations

import argparse
import time

from tuneahead_lint.checks import STREAMS, CheckContext, consistency, textutil
from tuneahead_lint.checks.catalog import load_all
from tuneahead_lint.readers import RecordSource, discover
from tuneahead_lint.ruleset.evaluate import stream_records
from tuneahead_lint.ruleset.registry import load_rules

NEW = frozenset(f"TA1{n:02d}" for n in range(7, 20))
KEEP_CACHED = ("dictionary", "wordfreq_languages")  # one-time loads, not per-text work


def _clear_text_caches() -> None:
    for module in (textutil, consistency):
        for value in vars(module).values():
            if hasattr(value, "cache_clear") and getattr(value, "__name__", "") not in KEEP_CACHED:
                value.cache_clear()


def cpu_seconds(examples: list, ids: frozenset[str]) -> float:
    checks = {r.id: STREAMS[r.check](CheckContext(options=r.option_values()))
              for r in load_rules() if r.check in STREAMS and r.id in ids}
    _clear_text_caches()
    start = time.process_time()
    stream_records(examples, checks)
    return time.process_time() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path")
    ap.add_argument("--per-rule", action="store_true")
    args = ap.parse_args()
    load_all()
    examples = list(RecordSource(discover([args.path]), None))
    every = frozenset(r.id for r in load_rules() if r.check in STREAMS)
    if args.per_rule:
        for rule_id in sorted(every):
            print(f"{rule_id} {cpu_seconds(examples, frozenset({rule_id})):.3f}")
    cpu_seconds(examples, every)  # warm the one-time loads
    old, full = cpu_seconds(examples, every - NEW), cpu_seconds(examples, every)
    print(f"other record rules {old:.3f} s; all record rules {full:.3f} s; TA107-TA119 add {full - old:.3f} s")


if __name__ == "__main__":
    main()
