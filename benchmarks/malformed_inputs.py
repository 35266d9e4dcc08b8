"""Malformed inputs: build each case in a temporary folder, run the CLI as a
subprocess, and record the exit code and the one-line message.

    PYTHONPATH=. python benchmarks/malformed_inputs.py            # writes benchmarks/results/malformed_table.md
    PYTHONPATH=. python benchmarks/malformed_inputs.py -k fifo    # only cases whose name contains 'fifo'

Every case must end in exit 0, 1 or 2 with no traceback, leave its inputs
unchanged (unless it is a ``fix --in-place`` case) and print the ``expect``
text somewhere in its output. ``tests/cli/test_malformed.py`` runs the same
cases. Permission cases drop CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH when run as
root, so file modes apply.
"""

from __future__ import annotations

import argparse
import ctypes
import gzip
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD = {"instruction": "Name a primary colour", "input": "", "output": "Red"}
GOOD2 = {"instruction": "Add 2 and 3", "input": "", "output": "5"}
LINE = json.dumps(GOOD) + "\n" + json.dumps(GOOD2) + "\n"
Builder = Callable[[Path], list[str]]


@dataclass
class Case:
    """One malformed input: ``build(folder)`` writes it and returns the CLI arguments."""

    name: str
    build: Builder
    code: int
    expect: str  # must appear in stdout + stderr
    check: Callable[[Path, str, str], str | None] | None = None  # extra check: None or what failed
    unprivileged: bool = False  # run without CAP_DAC_* (file modes apply to root too)
    mutates: bool = False  # the command may rewrite its input (fix --in-place)
    timeout: float = 120
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    case: Case
    code: int | None
    message: str
    seconds: float
    problems: list[str]


# ----------------------------------------------------------------- builders

def write(folder: Path, name: str | bytes, data: bytes | str) -> str:
    path = os.path.join(os.fsencode(folder), os.fsencode(name))
    Path(os.fsdecode(path)).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return os.fsdecode(os.path.relpath(path, os.fsencode(folder)))


def lint(name: str | bytes, data: bytes | str, *args: str) -> Builder:
    """``--fast -f json`` (unless ``args`` names a format) over one file."""
    def build(folder: Path) -> list[str]:
        rel = write(folder, name, data)
        fmt = [] if any(a in ("-f", "--format") for a in args) else ["-f", "json"]
        return ["--fast", *fmt, *args, rel]
    return build


def in_folder(make: Callable[[Path], None], *args: str) -> Builder:
    """A folder ``d`` holding a good file plus whatever ``make`` adds."""
    def build(folder: Path) -> list[str]:
        write(folder, "d/good.jsonl", LINE)
        make(folder / "d")
        return ["--fast", "-f", "json", *args, "d"]
    return build


def raw(make: Callable[[Path], list[str]]) -> Builder:
    return make


def parquet(rows: list[dict] | None, name: str = "data.parquet", corrupt: str = "") -> Callable[[Path], str]:
    def make(folder: Path) -> str:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = folder / name
        table = pa.Table.from_pylist(rows) if rows else pa.table({"instruction": pa.array([], pa.string()),
                                                                  "output": pa.array([], pa.string())})
        pq.write_table(table, path)
        blob = path.read_bytes()
        if corrupt == "truncate":
            path.write_bytes(blob[: len(blob) // 2])
        elif corrupt == "garbage":
            path.write_bytes(os.urandom(300) + b"PAR1")
        return name
    return make


def lint_parquet(rows, corrupt: str = "") -> Builder:
    return lambda folder: ["--fast", "-f", "json", parquet(rows, corrupt=corrupt)(folder)]


def config_case(toml: str, data: str = LINE, *args: str) -> Builder:
    def build(folder: Path) -> list[str]:
        write(folder, ".tuneahead.toml", toml)
        (folder / ".git").mkdir()
        return ["--fast", *args, write(folder, "data.jsonl", data)]
    return build


def surrogate(role: str = "us\\ud800er") -> str:
    return ('{"messages":[{"role":"%s","content":"hi"},{"role":"assistant","content":"yo"}]}\n' % role)


def gz(data: bytes, cut: int | None = None) -> bytes:
    blob = gzip.compress(data, mtime=0)
    return blob[:cut] if cut else blob


def deep(n: int) -> str:
    return '{"instruction": "x", "output": "y", "extra": ' + "[" * n + "]" * n + "}\n"


# ------------------------------------------------------------------ checks

def valid_json(folder: Path, out: str, err: str) -> str | None:
    try:
        json.loads(out)
    except ValueError as exc:
        return f"stdout is not valid JSON: {exc}"
    return None


def valid_sarif(folder: Path, out: str, err: str) -> str | None:
    problem = valid_json(folder, out, err)
    if problem:
        return problem
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for r in json.loads(out)["runs"][0]["results"]
            for loc in r["locations"]]
    return None if all(u.isascii() and " " not in u for u in uris) else f"bad URIs {uris}"


def null_device(folder: Path) -> str:
    """A private copy of /dev/null (same device numbers) in ``folder``; the
    real /dev/null where device nodes cannot be made. Private, so that the
    check does not depend on what other processes do to /dev/null."""
    try:
        os.mknod(folder / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        return "/dev/null"
    return "null"


def is_char_device(path: str) -> Callable[[Path, str, str], str | None]:
    def check(folder: Path, out: str, err: str) -> str | None:
        return None if stat.S_ISCHR(os.stat(folder / path).st_mode) else f"{path} is no longer a device"
    return check


def file_is(rel: str, pattern: str) -> Callable[[Path, str, str], str | None]:
    """``rel`` matches ``pattern`` (waiting up to 5 s: a FIFO reader thread may still be writing it)."""
    def check(folder: Path, out: str, err: str) -> str | None:
        for _ in range(50):
            text = (folder / rel).read_text("utf-8") if (folder / rel).exists() else "<missing>"
            if re.search(pattern, text):
                return None
            time.sleep(0.1)
        return f"{rel} holds {text[:80]!r}"
    return check


def link_kept(rel: str, target: str, pattern: str) -> Callable[[Path, str, str], str | None]:
    def check(folder: Path, out: str, err: str) -> str | None:
        if not (folder / rel).is_symlink():
            return f"{rel} is no longer a symlink"
        return file_is(target, pattern)(folder, out, err)
    return check


def no_temp_files(folder: Path, out: str, err: str) -> str | None:
    left = [p.name for p in folder.rglob(".*tmp*")]
    return f"temporary files left: {left}" if left else None


def all_of(*checks) -> Callable[[Path, str, str], str | None]:
    def check(folder: Path, out: str, err: str) -> str | None:
        return next((p for c in checks if (p := c(folder, out, err))), None)
    return check


# ------------------------------------------------------------ special files

def fifo(rel: str) -> Callable[[Path], None]:
    return lambda d: os.mkfifo(d / rel)


def symlink(rel: str, target: str) -> Callable[[Path], None]:
    return lambda d: (d / rel).symlink_to(target)


def locked_file(rel: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        write(d, rel, LINE)
        os.chmod(d / rel, 0)
    return make


def locked_dir(rel: str) -> Callable[[Path], None]:
    def make(d: Path) -> None:
        write(d, f"{rel}/inner.jsonl", LINE)
        os.chmod(d / rel, 0)
    return make


def fifo_reader(rel: str) -> Builder:
    """``-o FIFO`` with a reader draining it into FIFO.out."""
    def build(folder: Path) -> list[str]:
        os.mkfifo(folder / rel)

        def drain() -> None:
            with open(folder / rel, "rb") as src, open(folder / f"{rel}.out", "wb") as dst:
                dst.write(src.read())
        threading.Thread(target=drain, daemon=True).start()
        return ["--fast", "-f", "json", "-o", rel, write(folder, "data.jsonl", LINE)]
    return build


def cache_attack(folder: Path) -> list[str]:
    """A corrupt features.sqlite and a planted wordfreq pickle that would run code."""
    cache = folder / "cache"
    cache.mkdir()
    (cache / "features.sqlite").write_bytes(b"SQLite format 3\0" + os.urandom(3000))
    payload = (b"cos\nsystem\n(S'touch " + str(folder / "PWNED").encode() + b"'\ntR.")
    for name in ("wordfreq-3.1.1-en.pickle", "wordfreq-3.1.1-en.json"):
        (cache / name).write_bytes(payload)
    return ["-f", "json", "--select", "TA2", write(folder, "data.jsonl", LINE * 3)]


def not_pwned(folder: Path, out: str, err: str) -> str | None:
    return "planted pickle ran" if (folder / "PWNED").exists() else None


def in_place(data: str, setup: Callable[[Path], None] | None = None, name: str = "data.jsonl") -> Builder:
    def build(folder: Path) -> list[str]:
        write(folder, name, data)
        if setup:
            setup(folder)
        return ["fix", "--fast", "--in-place", name]
    return build


def fix_case(make: Callable[[Path], str], *args: str) -> Builder:
    return lambda folder: ["fix", "--fast", *args, make(folder)]


def text_file(name: str, data: str) -> Callable[[Path], str]:
    return lambda folder: write(folder, name, data)


DUP = LINE + json.dumps(GOOD) + "\n"
LEAK = json.dumps({"prompt": "Classify: great movie!", "completion": "positive<|endoftext|>"}) + "\n"


# -------------------------------------------------------------------- cases

CASES: list[Case] = [
    # lone surrogates and odd encodings
    Case("surrogate in role, text report", lint("s.jsonl", surrogate(), "-f", "text"), 1, "TA003"),
    Case("surrogate in role, JSON report", lint("s.jsonl", surrogate()), 1, "lone surrogate", valid_json),
    Case("surrogate in role, SARIF report", lint("s.jsonl", surrogate(), "-f", "sarif"), 1, "TA003", valid_sarif),
    Case("surrogate file inside a folder (rest still linted)",
         in_folder(lambda d: write(d, "s.jsonl", surrogate())), 1, "good.jsonl"),
    Case("surrogate inside a text over the token budget",
         lint("s.jsonl", '{"prompt": "' + "word " * 5000 + '\\ud800", "completion": "ok"}\n'), 1, "TA104"),
    Case("lone low surrogate in the response", lint("s.jsonl", '{"prompt": "a", "completion": "x\\udc00"}\n'),
         1, "TA003"),
    Case("surrogate inside a key", lint("s.jsonl", '{"instr\\ud800": "a", "instruction": "b", "output": "c"}\n'),
         1, "TA003"),
    Case("valid surrogate pair (emoji escape)", lint("s.jsonl", '{"prompt": "smile", "completion": "\\ud83d\\ude00"}\n'),
         0, '"records": 1'),
    Case("non-UTF-8 file name, text report", lint(b"bad\xff.jsonl", LINE, "-f", "text"), 0, "bad\\udcff.jsonl"),
    Case("non-UTF-8 file name, JSON report", lint(b"bad\xff.jsonl", LINE), 0, '"records": 2', valid_json),
    Case("non-UTF-8 file name, SARIF report", lint(b"bad\xff.jsonl", '{"prompt": "a", "completion": ""}\n',
                                                  "-f", "sarif"), 1, "bad%FF.jsonl", valid_sarif),
    Case("non-UTF-8 file name with a finding, JSON", lint(b"x\xfe.jsonl", '{"prompt": "a", "completion": ""}\n'),
         1, "TA101", valid_json),
    Case("non-UTF-8 folder name", lambda f: ["--fast", "-f", "json",
                                             os.path.dirname(write(f, b"d\xff/a.jsonl", LINE))], 0, '"records": 2'),
    Case("Latin-1 bytes", lint("l.jsonl", '{"prompt": "caf\xe9", "completion": "ok"}\n'.encode("latin-1")),
         1, "not valid UTF-8"),
    Case("UTF-16 LE with BOM", lint("u.jsonl", LINE.encode("utf-16")), 1, "TA003"),
    Case("UTF-16 BE without BOM", lint("u.jsonl", LINE.encode("utf-16-be")), 1, "TA003"),
    Case("UTF-32", lint("u.jsonl", LINE.encode("utf-32")), 1, "TA003"),
    Case("UTF-8 BOM", lint("b.jsonl", b"\xef\xbb\xbf" + LINE.encode()), 0, "TA004"),
    Case("BOM at the start of line 2", lint("b.jsonl", (LINE.splitlines()[0] + "\n\ufeff" + LINE.splitlines()[1]).encode()),
         1, "TA001"),
    Case("CRLF line endings", lint("c.jsonl", LINE.replace("\n", "\r\n")), 0, '"records": 2'),
    Case("CR-only line endings", lint("c.jsonl", LINE.replace("\n", "\r")), 1, "TA001"),
    Case("mixed LF and CRLF", lint("c.jsonl", LINE.replace("\n", "\r\n", 1)), 0, '"records": 2'),
    Case("NUL bytes (binary file)", lint("n.jsonl", b"\x00\x01\x02" * 100), 1, "binary file"),
    Case("invalid continuation byte", lint("i.jsonl", b'{"prompt": "a\xc3(", "completion": "b"}\n'), 1, "TA003"),
    Case("overlong UTF-8 encoding", lint("o.jsonl", b'{"prompt": "\xc0\xaf", "completion": "b"}\n'), 1, "TA003"),
    Case("truncated multi-byte character at EOF", lint("t.jsonl", LINE.encode() + b'{"prompt": "\xe2\x82'), 1, "TA003"),
    Case("zero-width and right-to-left characters", lint("z.jsonl", json.dumps(
        {"prompt": "a\u200b\u202eb", "completion": "c\u2066d"}) + "\n"), 0, '"records": 1'),
    Case("escaped control characters", lint("e.jsonl", '{"prompt": "a\\u0000b\\u001f", "completion": "c"}\n'),
         0, '"records": 1'),
    Case("astral characters and combining marks", lint("a.jsonl", json.dumps(
        {"prompt": "\U0001f600 e\u0301", "completion": "\U00010348"}, ensure_ascii=False) + "\n"), 0, '"records": 1'),
    # JSON syntax
    Case("NaN literal", lint("n.jsonl", '{"prompt": "a", "completion": "b", "x": NaN}\n'), 1, "NaN"),
    Case("Infinity literal", lint("n.jsonl", '{"prompt": "a", "completion": "b", "x": Infinity}\n'), 1, "TA001"),
    Case("-Infinity literal", lint("n.jsonl", '{"prompt": "a", "completion": "b", "x": -Infinity}\n'), 1, "TA001"),
    Case("trailing comma", lint("t.jsonl", '{"prompt": "a", "completion": "b",}\n'), 1, "TA001"),
    Case("single quotes", lint("q.jsonl", "{'prompt': 'a', 'completion': 'b'}\n"), 1, "TA001"),
    Case("// comment line", lint("c.jsonl", "// exported 2024\n" + LINE), 1, "TA001"),
    Case("truncated JSON line", lint("t.jsonl", LINE + '{"prompt": "a", "compl'), 1, "TA001"),
    Case("truncated JSON array", lint("t.json", '[{"prompt": "a", "completion": "b"}, {"prompt": "c", "compl'),
         1, "truncated"),
    Case("unterminated string at EOF", lint("u.jsonl", '{"prompt": "a'), 1, "TA001"),
    Case("trailing data after the object", lint("g.jsonl", '{"prompt": "a", "completion": "b"} xyz\n'), 1, "TA001"),
    Case("two objects on one line", lint("two.jsonl", '{"prompt": "a", "completion": "b"}{"prompt": "c", "completion": "d"}\n'),
         1, "TA001"),
    Case("integer with 5000 digits", lint("i.jsonl", '{"prompt": "a", "completion": "b", "n": ' + "9" * 5000 + "}\n"),
         1, "TA001"),
    Case("nesting 100000 deep", lint("d.jsonl", deep(100_000)), 1, "TA001"),
    Case("nesting 500 deep inside a good record", lint("d.jsonl", deep(500)), 0, '"records": 1'),
    Case("10 MB single line", lint("h.jsonl", json.dumps({"prompt": "Repeat", "completion": "word " * 2_000_000}) + "\n"),
         0, "TA104"),
    Case("20000 short records", lint("m.jsonl", LINE * 10_000), 0, "TA106"),
    Case("duplicate key (TA008)", lint("k.jsonl", '{"instruction": "Add 2 and 2", "output": "4", "output": "5"}\n'),
         0, "TA008"),
    Case("duplicate key inside a message", lint("k.jsonl", '{"messages": [{"role": "user", "content": "Hi", '
                                                '"content": "Hello"}, {"role": "assistant", "content": "Yo"}]}\n'), 0, "TA008"),
    Case("numbers instead of objects", lint("n.jsonl", "1\n2\n"), 1, "TA002"),
    Case("array of arrays", lint("a.json", "[[1, 2], [3]]"), 1, "TA002"),
    Case("null record", lint("n.jsonl", "null\n"), 1, "TA002"),
    Case("empty object", lint("e.jsonl", "{}\n"), 1, "TA005"),
    Case("number as the output", lint("n.jsonl", '{"instruction": "How many legs?", "output": 8}\n'), 1, "TA006"),
    Case("null as the output", lint("n.jsonl", '{"instruction": "How many legs?", "output": null}\n'), 1, "TA006"),
    Case("empty messages list", lint("m.jsonl", '{"messages": []}\n'), 1, "TA007"),
    Case("empty response", lint("r.jsonl", '{"instruction": "Say hi", "output": ""}\n'), 1, "TA101"),
    Case("whitespace-only prompt", lint("p.jsonl", '{"prompt": "  ", "completion": "b"}\n'), 1, "TA102"),
    Case("unknown role", lint("r.jsonl", '{"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", '
                                         '"content": "Beep"}, {"role": "assistant", "content": "Yo"}]}\n'), 0, "TA103"),
    Case("template leak", lint("l.jsonl", LEAK), 0, "TA105"),
    Case("exact duplicate", lint("d.jsonl", DUP), 0, "TA106"),
    Case("empty file (0 bytes)", lint("e.jsonl", b""), 0, "TA010"),
    Case("whitespace-only file", lint("w.jsonl", " \n\t\n\n"), 0, "TA010"),
    Case("empty JSON array", lint("e.json", "[]"), 0, "TA010"),
    Case("blank CRLF lines only", lint("b.jsonl", "\r\n\r\n"), 0, "TA010"),
    Case("BOM only", lint("b.jsonl", b"\xef\xbb\xbf"), 0, "TA010"),
    # containers
    Case("gzip", lint("g.jsonl.gz", gz(LINE.encode())), 0, '"records": 2'),
    Case("truncated gzip", lint("g.jsonl.gz", gz((LINE * 200).encode(), 60)), 1, "corrupt or truncated"),
    Case("gzip magic, garbage body", lint("g.jsonl.gz", b"\x1f\x8b" + b"garbage" * 20), 1, "TA001"),
    Case("gzip holding a binary file", lint("g.jsonl.gz", gz(b"\x00\x01" * 100)), 1, "TA003"),
    Case("zip archive named .jsonl", lint("z.jsonl", b"PK\x03\x04" + b"\x00" * 200), 1, "binary file"),
    Case("zip archive in a folder (not a data suffix)", in_folder(lambda d: write(d, "a.zip", b"PK\x03\x04")),
         0, '"records": 2'),
    Case("Parquet", lint_parquet([GOOD, GOOD2]), 0, '"records": 2'),
    Case("corrupt Parquet", lint_parquet([GOOD], "garbage"), 1, "not a readable Parquet file"),
    Case("truncated Parquet", lint_parquet([GOOD] * 50, "truncate"), 1, "TA001"),
    Case("Parquet without rows", lint_parquet(None), 0, "TA010"),
    Case("Parquet with a number as the output", lint_parquet([{"instruction": "legs?", "output": 8}]), 1, "TA006"),
    Case("pretty-printed single object (.json)", lint("p.json", json.dumps(GOOD, indent=2)), 0, '"records": 1'),
    Case("concatenated pretty objects (.json)", lint("p.json", json.dumps(GOOD, indent=2) + "\n"
                                                     + json.dumps(GOOD2, indent=2)), 0, '"records": 2'),
    Case("JSON Lines inside a .json file", lint("l.json", LINE), 0, '"records": 2'),
    Case("JSON array on one line of a .jsonl", lint("a.jsonl", json.dumps([GOOD, GOOD2]) + "\n"), 1, "TA002"),
    Case("mixed formats in one file", lint("m.jsonl", LINE + json.dumps({"prompt": "2+2=", "completion": "4"}) + "\n"
                                           + json.dumps({"messages": [{"role": "user", "content": "Hi"},
                                                                      {"role": "assistant", "content": "Yo"}]}) + "\n"),
         0, '"prompt_completion"'),
    # paths
    Case("missing file", raw(lambda f: ["--fast", "missing.jsonl"]), 2, "no such file"),
    Case("folder without data files", raw(lambda f: ["--fast", os.path.dirname(write(f, "d/notes.txt", "x"))]),
         2, "no data files"),
    Case("self-loop symlink named directly", raw(lambda f: (symlink("loop.jsonl", "loop.jsonl")(f), ["--fast", "loop.jsonl"])[1]),
         2, "symlink loop"),
    Case("symlink loop inside a folder", in_folder(symlink("loop.jsonl", "loop.jsonl")), 1, "TA009"),
    Case("two-link loop inside a folder", in_folder(lambda d: (symlink("a.jsonl", "b.jsonl")(d),
                                                             symlink("b.jsonl", "a.jsonl")(d))), 1, "symlink loop"),
    Case("broken symlink inside a folder", in_folder(symlink("gone.jsonl", "nowhere.jsonl")), 1, "broken symlink"),
    Case("broken symlink named directly", raw(lambda f: (symlink("gone.jsonl", "nowhere.jsonl")(f), ["--fast", "gone.jsonl"])[1]),
         2, "broken symlink"),
    Case("symlink to a good file", raw(lambda f: (write(f, "real.jsonl", LINE), symlink("link.jsonl", "real.jsonl")(f),
                                                  ["--fast", "-f", "json", "link.jsonl"])[2]), 0, '"records": 2'),
    Case("FIFO named directly", raw(lambda f: (fifo("p.jsonl")(f), ["--fast", "p.jsonl"])[1]), 2, "FIFO"),
    Case("FIFO inside a folder", in_folder(fifo("p.jsonl")), 1, "FIFO"),
    Case("character device (/dev/null) as input", raw(lambda f: ["--fast", null_device(f)]), 2, "device"),
    Case("unreadable file named directly", raw(lambda f: (locked_file("x.jsonl")(f), ["--fast", "x.jsonl"])[1]),
         2, "permission denied", unprivileged=True),
    Case("unreadable file inside a folder", in_folder(locked_file("x.jsonl")), 1, "permission denied", unprivileged=True),
    Case("unreadable sub-folder", in_folder(locked_dir("sub")), 1, "folder not readable", unprivileged=True),
    Case("unreadable folder named directly", raw(lambda f: (locked_dir("sub")(f), ["--fast", "sub"])[1]),
         2, "folder not readable", unprivileged=True),
    Case("hidden files only", raw(lambda f: ["--fast", os.path.dirname(write(f, "d/.x.jsonl", LINE))]), 2, "no data files"),
    # command line and config
    Case("--input-format bogus", raw(lambda f: ["--fast", "--input-format", "bogus", write(f, "a.jsonl", LINE)]),
         2, "expected one of alpaca"),
    Case("--input-format messages on alpaca data", lint("a.jsonl", LINE, "--input-format", "messages"), 1, "TA005"),
    Case("--select TA999", raw(lambda f: ["--fast", "--select", "TA999", write(f, "a.jsonl", LINE)]), 2, "unknown rule"),
    Case("--ignore with an unknown name", raw(lambda f: ["--fast", "--ignore", "no-such-rule", write(f, "a.jsonl", LINE)]),
         2, "unknown rule"),
    Case("ReDoS pattern (a+)+$ in the config", config_case('[rules.TA105]\npatterns = ["(a+)+$"]\n',
                                                           json.dumps({"prompt": "a" * 40 + "!", "completion": "b"}) + "\n"),
         0, "config:", timeout=30),
    Case("unbalanced pattern ( in the config", config_case('[rules.TA105]\npatterns = ["ok", "("]\n'),
         2, "rules.TA105.patterns[1]"),
    Case("lookahead pattern (not RE2) in the config", config_case('[rules.TA105]\npatterns = ["a(?=b)"]\n'),
         2, "RE2"),
    Case("config above the repository root is not used", raw(lambda f: (
        write(f, ".tuneahead.toml", 'ignore = ["TA0", "TA1"]\n'), (f / "repo" / ".git").mkdir(parents=True),
        ["--fast", write(f, "repo/data.jsonl", '{"prompt": "a", "compl\n')])[2]), 1, "config: none"),
    Case("config in the repository is named in the header", config_case('fail-on = "warning"\n', LEAK), 1,
         ".tuneahead.toml"),
    Case("config is not TOML", config_case("fail-on = \n"), 2, "invalid TOML"),
    Case("config has an unknown key", config_case('colour = "red"\n'), 2, "Additional properties"),
    Case("config names an unknown format", config_case('format = "csv"\n'), 2, "format"),
    Case("--config names a folder", raw(lambda f: ["--fast", "--config", ".", write(f, "a.jsonl", LINE)]),
         2, "is a directory"),
    Case("corrupt feature cache and a planted pickle", cache_attack, 0, "moved to", not_pwned, timeout=600),
    # output files
    Case("-o /dev/null stays a device", lambda f: ["--fast", "-o", null_device(f), write(f, "a.jsonl", LINE)], 0, "",
         is_char_device("null")),
    Case("-o into a missing folder", lambda f: ["--fast", "-o", "no/such/dir/r.json", write(f, "a.jsonl", LINE)],
         2, "cannot write"),
    Case("-o names a folder", lambda f: ["--fast", "-o", ".", write(f, "a.jsonl", LINE)], 2, "is a directory"),
    Case("-o through a symlink keeps the link", lambda f: (write(f, "real.txt", "old"), symlink("r.txt", "real.txt")(f),
                                                           ["--fast", "-o", "r.txt", write(f, "a.jsonl", LINE)])[2],
         0, "", link_kept("r.txt", "real.txt", "records in 1 file"), mutates=True),
    Case("-o into a FIFO", fifo_reader("pipe"), 0, "", file_is("pipe.out", '"records": 2')),
    Case("-o in a read-only folder", lambda f: (os.makedirs(f / "ro"), os.chmod(f / "ro", 0o555),
                                                ["--fast", "-o", "ro/r.txt", write(f, "a.jsonl", LINE)])[2],
         2, "Permission denied", no_temp_files, unprivileged=True),
    # fix
    Case("fix on a corrupt Parquet", fix_case(parquet([GOOD], corrupt="garbage"), "-o", "out.parquet"),
         2, "not rewritten by fix"),
    Case("fix on a truncated JSON array", fix_case(text_file("t.json", '[{"instruction": "a", "output": "b"'), "-o", "o.json"),
         0, "1 dropped", file_is("o.json", r"^\[\]\n$")),
    Case("fix --in-place through a symlink", lambda f: (write(f, "real.jsonl", DUP), symlink("link.jsonl", "real.jsonl")(f),
                                                        ["fix", "--fast", "--in-place", "link.jsonl"])[2],
         0, "1 dropped", all_of(link_kept("link.jsonl", "real.jsonl", r"^[^\n]+\n[^\n]+\n$"), no_temp_files),
         mutates=True),
    Case("fix --in-place after an interrupted run left its .bak", in_place(DUP, lambda f: write(f, "data.jsonl.bak", DUP)),
         0, "1 dropped", no_temp_files, mutates=True),
    Case("fix --in-place with a different .bak present", in_place(DUP, lambda f: write(f, "data.jsonl.bak", "old")),
         2, "backup already exists"),
    Case("fix --in-place with a stale temp file of a dead process",
         in_place(DUP, lambda f: write(f, ".data.jsonl.tmp999999", "partial")), 0, "1 dropped", no_temp_files,
         mutates=True),
    Case("fix -o /dev/null", lambda f: ["fix", "--fast", "-o", null_device(f), write(f, "a.jsonl", DUP)], 0,
         "1 dropped", is_char_device("null")),
    Case("fix --log /dev/null", lambda f: ["fix", "--fast", "--dry-run", "--log", null_device(f), write(f, "a.jsonl", DUP)],
         0, "removal log: null", is_char_device("null")),
    Case("fix on a folder holding a FIFO", lambda f: (write(f, "d/a.jsonl", DUP), fifo("d/p.jsonl")(f),
                                                      ["fix", "--fast", "-o", "out/", "d"])[2], 2, "FIFO"),
    Case("fix --input-format bogus", fix_case(text_file("a.jsonl", DUP), "--input-format", "bogus", "-o", "o.jsonl"),
         2, "unknown format"),
]


# ------------------------------------------------------------------ running

def _drop_dac() -> None:
    """In the child: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (root then obeys file modes)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def file_modes_apply() -> bool:
    """True when a child process obeys file modes (not root, or root able to drop CAP_DAC_*)."""
    if os.geteuid() != 0:
        return True
    try:
        return subprocess.run(["true"], preexec_fn=_drop_dac).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def snapshot(folder: Path) -> dict[str, str]:
    out = {}
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "cache"]  # the feature cache may change; inputs may not
        for name in names:
            path = os.path.join(root, name)
            if os.path.isfile(path) and os.access(path, os.R_OK):
                out[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return out


def message(code: int | None, out: str, err: str) -> str:
    """The one line a user reads: the error, else the first finding, else the summary."""
    errors = [ln for ln in err.splitlines() if ln.startswith("tuneahead-lint:")]
    if errors:
        return " | ".join(errors)
    try:
        report = json.loads(out)
    except ValueError:
        report = None
    if isinstance(report, dict) and "findings" in report:
        if report["findings"]:
            f = report["findings"][0]
            more = len(report["findings"]) - 1
            return f"{f['rule_id']} {f['path']}:{f['line']}: {f['message']}" + (f" (+{more} more)" if more else "")
        return f"no findings ({report['summary']['records']} records)"
    if isinstance(report, dict) and "runs" in report:
        results = report["runs"][0]["results"]
        return (f"{results[0]['ruleId']}: {results[0]['message']['text']}" if results else "no results")
    lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
    for pattern in (r"TA\d{3}", r"^records:", r"config: "):
        picked = [ln for ln in lines if re.search(pattern, ln)]
        if picked:
            return picked[0] if pattern != r"TA\d{3}" else " ".join(lines[lines.index(picked[0]):][:2])
    return (lines or ["(nothing on stdout or stderr)"])[0]


def run_case(case: Case, folder: Path) -> Result:
    folder.mkdir(parents=True, exist_ok=True)
    argv = case.build(folder)
    before = snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TUNEAHEAD_CACHE": str(folder / "cache"),
           "NO_COLOR": "1", "COLUMNS": "100", **case.env}
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "tuneahead_lint", *argv], cwd=folder, env=env,
                              capture_output=True, timeout=case.timeout, stdin=subprocess.DEVNULL,
                              preexec_fn=_drop_dac if case.unprivileged else None)
        code, out, err = proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        code, out, err = None, "", f"timed out after {case.timeout:.0f} s"
    seconds = time.perf_counter() - start
    time.sleep(0.05)  # let a FIFO reader thread finish
    text = message(code, out, err).encode("utf-8", "backslashreplace").decode("utf-8")
    return Result(case, code, text, seconds, problems_of(case, folder, before, code, out, err))


def problems_of(case: Case, folder: Path, before: dict[str, str], code, out: str, err: str) -> list[str]:
    found = []
    if code != case.code:
        found.append(f"exit {code}, expected {case.code}")
    if "Traceback" in out + err:
        found.append("traceback")
    if case.expect and case.expect not in out + err:
        found.append(f"{case.expect!r} not in the output")
    errors = [ln for ln in err.splitlines() if "error" in ln]
    if code == 2 and len(errors) != 1:
        found.append(f"{len(errors)} error lines on stderr")
    if not case.mutates:
        after = snapshot(folder)
        changed = [p for p, h in before.items() if after.get(p) != h]
        if changed:
            found.append(f"inputs changed: {changed}")
    if case.check is not None and (extra := case.check(folder, out, err)):
        found.append(extra)
    return found


def unlock(folder: Path) -> None:
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o700)


def run_all(cases: list[Case], base: Path) -> list[Result]:
    results = []
    for i, case in enumerate(cases, 1):
        folder = base / f"case{i:03d}"
        try:
            results.append(run_case(case, folder))
        finally:
            unlock(folder)
    return results


def table(results: list[Result]) -> str:
    ok = sum(not r.problems for r in results)
    lines = ["# Malformed inputs: exit code and message", "",
             f"`PYTHONPATH=. python benchmarks/malformed_inputs.py` ({len(results)} cases, {ok} as expected; "
             "each case built in a temporary folder and run as `python -m tuneahead_lint` in a subprocess; "
             "times on a shared 2-core machine).", "",
             "| # | case | exit | expected | s | message |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(results, 1):
        msg = r.message.replace("|", "\\|").replace(str(ROOT), ".")
        msg = re.sub(r"/tmp/[^ ]*?/case\d+/", "", msg)
        flag = "" if not r.problems else " **" + "; ".join(r.problems).replace("|", "\\|") + "**"
        lines.append(f"| {i} | {r.case.name} | {r.code} | {r.case.code} | {r.seconds:.1f} | {msg[:220]}{flag} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=str(ROOT / "benchmarks" / "results" / "malformed_table.md"))
    parser.add_argument("-k", "--keyword", help="only cases whose name contains this")
    args = parser.parse_args()
    cases = [c for c in CASES if not args.keyword or args.keyword.lower() in c.name.lower()]
    with tempfile.TemporaryDirectory(prefix="tuneahead-malformed-") as tmp:
        results = run_all(cases, Path(tmp))
    text = table(results)
    if not args.keyword:
        Path(args.output).write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(not r.problems for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
