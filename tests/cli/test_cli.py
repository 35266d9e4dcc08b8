"""End-to-end CLI behaviour: exit codes, one-line errors, no traceback,
inputs never modified. Record checks only (--fast) to stay quick."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tuneahead_lint.cli import main

FIX = Path(__file__).resolve().parent.parent / "fixtures"
GOOD = '{"instruction": "Arrange the following musical notes", "input": "G, B, E", "output": "E, G, B"}\n'
EMPTY = '{"instruction": "Summarise the text", "input": "The quick brown fox.", "output": " "}\n'


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_clean_file_exits_0(tmp_path, capsys):
    f = tmp_path / "good.jsonl"
    f.write_text(GOOD)
    code, out, _ = run(capsys, "--fast", str(f))
    assert code == 0
    assert "1" in out  # the summary counts the record


def test_error_finding_exits_1_and_names_line(tmp_path, capsys):
    f = tmp_path / "bad.jsonl"
    f.write_text(GOOD + EMPTY)
    code, out, _ = run(capsys, "--fast", str(f))
    assert code == 1
    assert "TA101" in out and "empty-response" in out


def test_fail_on_threshold(tmp_path, capsys):
    f = tmp_path / "leak.jsonl"
    f.write_text('{"prompt": "Classify: great movie!", "completion": "positive<|endoftext|>"}\n')
    assert run(capsys, "--fast", str(f))[0] == 0  # warning < error
    assert run(capsys, "--fast", "--fail-on", "warning", str(f))[0] == 1
    assert run(capsys, "--fast", "--fail-on", "never", str(f))[0] == 0


@pytest.mark.parametrize("args", [
    ["--fast", "does-not-exist.jsonl"],
    ["--fast", "--format", "xml", "x.jsonl"],
    ["--fast", "--lr", "-1", "x.jsonl"],
    ["--fast", "--max-len", "4", "x.jsonl"],
    ["--fast", "--lora-alpha", "0", "x.jsonl"],
    ["rules", "TA999"],
])
def test_usage_and_missing_input_exit_2_with_one_line(tmp_path, capsys, args):
    code, out, err = run(capsys, *args)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tuneahead-lint: error:"), err


def test_directory_without_data_files(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = run(capsys, "--fast", str(tmp_path))
    assert code == 2 and str(tmp_path) in err and len(err.strip().splitlines()) == 1


def test_bad_config_exit_2_names_file_and_key(tmp_path, capsys):
    (tmp_path / ".tuneahead.toml").write_text("[rules.TA104]\nmax_prompt_tokens = 0\n")
    f = tmp_path / "good.jsonl"
    f.write_text(GOOD)
    code, _, err = run(capsys, "--fast", str(f))
    assert code == 2
    assert ".tuneahead.toml: rules.TA104.max_prompt_tokens" in err


@pytest.mark.parametrize(("name", "payload", "rule"), [
    ("binary.jsonl", b"\x00\x01\x02PK\x03\x04" * 100, "TA003"),
    ("trunc.json", b'[{"prompt": "a", "completion": "b"}, {"prompt": "c", "compl', "TA001"),
    ("nan.jsonl", b'{"prompt": "a", "completion": "b", "x": NaN}\n', "TA001"),
])
def test_bad_files_are_findings_not_crashes(tmp_path, capsys, name, payload, rule):
    f = tmp_path / name
    f.write_bytes(payload)
    before = (f.read_bytes(), os.stat(f).st_mtime_ns)
    code, out, _ = run(capsys, "--fast", "--format", "json", str(f))
    assert code == 1
    report = json.loads(out)
    assert rule in {x["rule_id"] for x in report["findings"]}
    assert (f.read_bytes(), os.stat(f).st_mtime_ns) == before


def test_mixed_formats_in_one_file(tmp_path, capsys):
    f = tmp_path / "mixed.jsonl"
    f.write_text(GOOD + '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
                 '{"prompt": "2+2=", "completion": "4"}\n')
    code, out, _ = run(capsys, "--fast", "--format", "json", str(f))
    assert code == 0
    formats = json.loads(out)["summary"]["formats"]
    assert len(formats) == 3


def test_huge_single_line(tmp_path, capsys):
    f = tmp_path / "huge.jsonl"
    big = "word " * (10 * 1024 * 1024)  # 50 MB response
    f.write_text(json.dumps({"prompt": "Repeat", "completion": big}) + "\n" + GOOD)
    code, out, _ = run(capsys, "--fast", "--format", "json", str(f))
    report = json.loads(out)
    assert report["summary"]["records"] == 2
    assert any(x["rule_id"] == "TA104" and x["line"] == 1 for x in report["findings"])


def test_output_file_written_atomically(tmp_path, capsys):
    f = tmp_path / "good.jsonl"
    f.write_text(GOOD + EMPTY)
    out_file = tmp_path / "report.sarif"
    code, out, _ = run(capsys, "--fast", "--format", "sarif", "-o", str(out_file), str(f))
    assert code == 1 and out == ""
    assert json.loads(out_file.read_text())["version"] == "2.1.0"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rules_command(capsys):
    code, out, _ = run(capsys, "rules")
    assert code == 0 and "TA101" in out and "empty-response" in out
    code, out, _ = run(capsys, "rules", "empty-response")
    assert code == 0
    for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix"):
        assert heading in out


def test_json_and_sarif_are_byte_deterministic(tmp_path, capsys):
    f = tmp_path / "d.jsonl"
    f.write_text(GOOD + EMPTY + GOOD)
    for fmt in ("json", "sarif"):
        first = run(capsys, "--fast", "--format", fmt, str(f))[1]
        second = run(capsys, "--fast", "--format", fmt, str(f))[1]
        assert first == second and first


def test_probe_options_reach_the_probe(monkeypatch, capsys):
    """Every probe hyperparameter on the command line reaches the probe stage."""
    from tuneahead_lint import pipeline

    seen = {}

    def fake_probe(examples, config, opts, base_model, *_):
        seen.update(opts.probe_params)
        return pipeline.Provided(missing=(("probe", "skipped in this test"),))

    monkeypatch.setattr(pipeline, "_run_probe", fake_probe)
    code, _, _ = run(capsys, "--fast", "--probe", "--probe-steps", "3", "--lr", "0.001", "--batch-size", "2",
                     "--lora-r", "8", "--lora-alpha", "16", "--max-len", "64",
                     str(FIX / "sample" / "alpaca_sample.jsonl"))
    assert code == 0
    assert {k: seen[k] for k in ("steps", "lr", "batch_size", "lora_r", "lora_alpha", "max_len")} == {
        "steps": 3, "lr": 0.001, "batch_size": 2, "lora_r": 8, "lora_alpha": 16, "max_len": 64}
