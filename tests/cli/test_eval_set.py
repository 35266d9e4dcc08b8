"""--eval-set (lint and fix) and rules.TA119.eval_sets in the config."""

from __future__ import annotations

import json

from tuneahead_lint.cli import main

QUESTION = "How many moons does the planet Zorblax have according to the ancient star charts?"


def _data(tmp_path):
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"question": QUESTION, "choices": ["3", "7"], "answer": "7"}) + "\n")
    train = tmp_path / "train.jsonl"
    train.write_text(json.dumps({"instruction": QUESTION, "input": "", "output": "7"}) + "\n"
                     + json.dumps({"instruction": "Name a colour", "input": "", "output": "Red"}) + "\n")
    return bench, train


def _findings(capsys, *argv):
    code = main(["--fast", "--format", "json", "--select", "TA119", *argv])
    out, err = capsys.readouterr()
    return code, [f for f in json.loads(out)["findings"]] if out else [], err


def test_eval_set_on_the_command_line(tmp_path, capsys):
    bench, train = _data(tmp_path)
    code, found, _ = _findings(capsys, "--eval-set", str(bench), str(train))
    assert code == 1
    assert [(f["line"], f["evidence"]["benchmark"], f["evidence"]["item"]) for f in found] == [
        (1, "bench.jsonl", 1)]
    code, found, _ = _findings(capsys, str(train))
    assert (code, found) == (0, [])


def test_eval_set_in_the_config_is_relative_to_it(tmp_path, capsys):
    _, train = _data(tmp_path)
    (tmp_path / ".tuneahead.toml").write_text('[rules.TA119]\neval_sets = ["bench.jsonl"]\n')
    code, found, _ = _findings(capsys, str(train))
    assert code == 1 and [f["line"] for f in found] == [1]


def test_missing_or_broken_eval_set_is_a_usage_error(tmp_path, capsys):
    _, train = _data(tmp_path)
    code, _, err = _findings(capsys, "--eval-set", str(tmp_path / "nope.jsonl"), str(train))
    assert code == 2 and err.strip().endswith("eval set not found (rules.TA119.eval_sets / --eval-set)")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\n{broken\n')
    code, _, err = _findings(capsys, "--eval-set", str(bad), str(train))
    assert code == 2 and f"{bad}:2: eval set:" in err and "Traceback" not in err
