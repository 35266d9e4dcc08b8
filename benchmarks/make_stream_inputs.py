"""Build the large JSONL inputs of the issue-15 streaming benchmark (not committed: regenerate).

Usage: python benchmarks/make_stream_inputs.py OUT_DIR [DATA_DIR]

Writes ``mix_55mb.jsonl`` and ``mix_200mb.jsonl``: records drawn with
replacement (seed 15) from every set under DATA_DIR (default
../shared/data/instruct), written as ``{"messages": [...]}``. The first draw of
a record is written as it is; a later draw gets `` (variant N)`` appended to
its first user turn, so the mix keeps the sets' own duplicates but is not
mostly exact copies of itself (a real SFT mix is not). ``one_line_100mb.jsonl``
is one record whose response is 100 MB of real responses joined by blank lines.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from tuneahead_lint.readers import discover, read

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "instruct"
MB = 1_000_000


def pool(root: Path) -> list[list[dict[str, str]]]:
    """Every valid record of every set, as a messages list."""
    out = []
    for path in discover([str(root)]):
        out += [[{"role": t.role, "content": t.content} for t in ex.turns] for ex in read(path) if ex.ok]
    return out


def variant(turns: list[dict[str, str]], n: int) -> list[dict[str, str]]:
    """The ``n``-th redraw of a record: `` (variant n)`` after its first user turn."""
    if n == 0:
        return turns
    turns = [dict(t) for t in turns]
    first = next((t for t in turns if t["role"] == "user"), turns[0])
    first["content"] += f" (variant {n})"
    return turns


def write_mix(records: list[list[dict[str, str]]], path: Path, size: int, seed: int = 15) -> int:
    """Draw records until ``size`` bytes are written; returns the record count."""
    rng, drawn, written, count = random.Random(seed), [0] * len(records), 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            i = rng.randrange(len(records))
            line = json.dumps({"messages": variant(records[i], drawn[i])}, ensure_ascii=False) + "\n"
            drawn[i] += 1
            written += len(line.encode("utf-8"))
            count += 1
            out.write(line)
    return count


def write_one_line(records: list[list[dict[str, str]]], path: Path, size: int = 100 * MB) -> None:
    """One record: a short prompt and a ``size``-byte response of real text."""
    parts, total = [], 0
    for turns in records:
        text = turns[-1]["content"]
        parts.append(text)
        total += len(text.encode("utf-8")) + 2
        if total >= size:
            break
    while total < size:  # the pool is smaller than size: repeat it
        parts += parts[: max(1, len(parts) // 2)]
        total *= 1.5
    body = "\n\n".join(parts).encode("utf-8")[:size].decode("utf-8", "ignore")
    rec = {"messages": [{"role": "user", "content": "Summarise these answers."},
                        {"role": "assistant", "content": body}]}
    path.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    records = pool(Path(argv[1]) if len(argv) > 1 else DEFAULT)
    for name, size in (("mix_55mb.jsonl", 55 * MB), ("mix_200mb.jsonl", 200 * MB)):
        print(name, write_mix(records, out / name, size), "records")
    write_one_line(records, out / "one_line_100mb.jsonl")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
