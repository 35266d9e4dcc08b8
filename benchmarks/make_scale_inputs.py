"""Build the 50k- and 1M-record inputs of the issue-15 scale benchmark (not committed: regenerate).

Usage: python benchmarks/make_scale_inputs.py OUT_DIR [RECORDS ...] [--data DATA_DIR] [--seed N]

For each RECORDS (default 50000 1000000) writes ``scale_RECORDS.jsonl`` and
``scale_RECORDS.planted.json``. Records are drawn with replacement (seeded)
from every valid record of every set under DATA_DIR (default
../shared/data/instruct, 57,922 records), as ``{"messages": [...]}``. As in
``make_stream_inputs.py``, a later draw of the same record gets
`` (variant N)`` appended to its first user turn (a real mix is not mostly
exact copies of itself; the variants are near-duplicates of each other).
``PLANTED`` of the records are planted near-duplicates instead: a copy of an
earlier record of the file with two adjacent words of its response swapped
and one word of its prompt upper-cased; the sidecar lists them as
``[source line, planted line]`` (1-based) for recall measurements.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_stream_inputs import DEFAULT, pool, variant  # noqa: E402

PLANTED = 0.01


def _swap_words(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    if len(words) < 3:
        return text + " ."
    k = rng.randrange(len(words) - 1)
    words[k], words[k + 1] = words[k + 1], words[k]
    return " ".join(words)


def _upper_word(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    k = rng.randrange(len(words))
    words[k] = words[k].upper() if words[k].upper() != words[k] else words[k].lower()
    return " ".join(words)


def plant(turns: list[dict[str, str]], rng: random.Random) -> list[dict[str, str]]:
    """A near-duplicate: one prompt word's case flipped, two response words swapped."""
    turns = [dict(t) for t in turns]
    first = next((t for t in turns if t["role"] == "user"), turns[0])
    first["content"] = _upper_word(first["content"], rng)
    turns[-1]["content"] = _swap_words(turns[-1]["content"], rng)
    return turns


def _keep_source(sources: list, item: tuple, rng: random.Random, size: int = 20_000) -> None:
    """A bounded, seeded pool of records that later plants copy (5% of draws)."""
    if rng.random() >= 0.05:
        return
    if len(sources) < size:
        sources.append(item)
    else:
        sources[rng.randrange(size)] = item


def write_scale(records: list[list[dict[str, str]]], path: Path, count: int, seed: int) -> list[list[int]]:
    """Write ``count`` records; returns the planted [source line, line] pairs."""
    rng, drawn, written, planted = random.Random(seed), [0] * len(records), [], []
    with path.open("w", encoding="utf-8") as out:
        for line in range(1, count + 1):
            if written and rng.random() < PLANTED:
                src_line, turns = written[rng.randrange(len(written))]
                turns, src = plant(turns, rng), src_line
                planted.append([src, line])
            else:
                i = rng.randrange(len(records))
                turns = variant(records[i], drawn[i])
                drawn[i] += 1
                _keep_source(written, (line, turns), rng)
            out.write(json.dumps({"messages": turns}, ensure_ascii=False) + "\n")
    return planted


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("records", nargs="*", type=int, default=[50_000, 1_000_000])
    ap.add_argument("--data", default=str(DEFAULT))
    ap.add_argument("--seed", type=int, default=15)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    records = pool(Path(args.data))
    for count in args.records:
        path = out / f"scale_{count}.jsonl"
        planted = write_scale(records, path, count, args.seed)
        (out / f"scale_{count}.planted.json").write_text(json.dumps(planted))
        print(path, count, "records", len(planted), "planted", path.stat().st_size // 1_000_000, "MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
