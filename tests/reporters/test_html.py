"""HTML report: one offline page, every datum escaped, and it renders in a
real headless Chromium (Debian's package) with no console message."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from reporters.sample import ALPACA, RULES, finding, report
from tuneahead_lint.reporters import Format, render
from tuneahead_lint.types import Attribution, FeatureRange, PredictionDetail

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--enable-logging=stderr", "--v=0")
ATTRIBUTIONS = (
    Attribution("near_dup_rate", 0.074, -2.4, 0.0, 0.03, 0.01),
    Attribution("n_records", 100.0, -1.1, 500.0, 5000.0, 2000.0),
    Attribution("type_token_ratio", 0.42, 0.6, 0.3, 0.6, 0.45),
)
DETAIL = PredictionDetail(0.6, ATTRIBUTIONS, 100.0, "m", min_score=0.5,
                          out_of_range=(FeatureRange("n_records", 100.0, 500.0, 5000.0),))
SNIPPETS = (((ALPACA, 3), ("Give three tips for staying healthy.", "Eat well.")),
            ((ALPACA, 40), ("Give three tips for staying healthy!", "Eat well!")))


def page(**kw) -> str:
    rep = dataclasses.replace(report(**kw), prediction_detail=DETAIL)
    return render(rep, Format.HTML, RULES, snippets=SNIPPETS)


def test_every_datum_is_escaped():
    evil = finding("TA101", "<img src=x onerror=alert(1)>.jsonl", (5,), "<script>alert('x')</script>", "k",
                   (("token", "</table><b>"),))
    html = page(findings=(evil,))
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;/table&gt;&lt;b&gt;" in html


def test_self_contained_and_offline():
    html = page()
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert html.count("<script>") == 1  # the one inline filter script


def test_sections_present():
    html = page()
    assert 'id="verdict">go<' in html and "0.5712–0.6549" in html and "0.5841 (+2.82 points)" in html
    assert "no grouped-CV skill recorded" in html and 'id="skill-warning"' in html  # DETAIL has no model card
    assert 'id="waterfall"' in html and "near_dup_rate" in html and "outside training range" in html
    assert html.count('<section class="rule"') == len({f.rule_id for f in report().findings})
    assert "Near-duplicate clusters" in html and "Give three tips for staying healthy!" in html
    assert "Flagged records" in html


def chromium(tmp_path: Path, html_file: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile{len(list(tmp_path.iterdir()))}"
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, html_file.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)


def console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                    "(Debian: apt-get install -y chromium); .ci/run installs it")


@needs_chromium
def test_console_errors_are_seen(tmp_path):
    """Control: the check below would catch a broken page."""
    bad = tmp_path / "bad.html"
    bad.write_text(page().replace("var q=document.getElementById('q');", "var q=undefinedThing;"))
    assert any("undefinedThing" in m for m in console_messages(chromium(tmp_path, bad, "--dump-dom").stderr))


@needs_chromium
def test_renders_in_headless_chromium_without_console_messages(tmp_path):
    html_file = tmp_path / "report.html"
    html_file.write_text(page(), encoding="utf-8")
    run = chromium(tmp_path, html_file, "--dump-dom")
    assert run.returncode == 0, run.stderr[-2000:]
    assert console_messages(run.stderr) == []
    assert re.search(r'<span id="shown" class="dim">\d+ shown</span>', run.stdout)  # the script ran
    shot = tmp_path / "report.png"
    run = chromium(tmp_path, html_file, f"--screenshot={shot}", "--window-size=1200,1600",
                   "--hide-scrollbars")
    assert shot.stat().st_size > 10_000 and console_messages(run.stderr) == []


def test_cli_writes_one_page_with_the_flagged_records_text(tmp_path, monkeypatch, capsys):
    from tuneahead_lint.cli import main

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    out = tmp_path / "report.html"
    code = main(["--fast", "--format", "html", "-o", str(out), "tests/fixtures/golden/planted.jsonl"])
    assert code == 1 and capsys.readouterr().out == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Flagged records" in html
    assert "tests/fixtures/golden/planted.jsonl:8 · TA105 template-leak" in html
    assert "&lt;|endoftext|&gt;" in html and "<|endoftext|>" not in html  # the record's own text, escaped
