"""Issue 17 on CPU: everything after the ground-truth v2 GPU build.

Builds a tiny v2 store (a random 2-layer Llama with the shipped SmolLM2
tokenizer, the ``tiny-all`` preset, plus six of its recipes at learning rate
5 for 4 steps, where the tiny model diverges), runs ``benchmarks/refit_v2.sh``
into OUT/refit, and lints a real slice with the resulting multi-target
bundle (text, JSON, SARIF), default gate and ``--gate-target y_indomain``.
The numbers are those of a 17-run toy store: they show the plumbing, not
the predictor's quality (that needs the GPU build).

    PYTHONPATH=. python benchmarks/issue17_bundle_demo.py OUT
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from meta.conftest import CHATML, EVAL, INSTRUCT, TOKENIZER  # noqa: E402

DATA = INSTRUCT / "alpaca_5k_subset" / "alpaca_5000.json"


def tiny_model(out: Path) -> str:
    """The tests' tiny random Llama (tests/meta/conftest.py), saved to ``out``."""
    import torch
    import transformers

    tok = transformers.PreTrainedTokenizerFast(tokenizer_file=str(TOKENIZER), bos_token="<|im_start|>",
                                               eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = CHATML
    cfg = transformers.LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                   bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                   pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(cfg).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return str(out)


def build_store(store: Path, model: str) -> None:
    from tuneahead_lint.cli import main
    from tuneahead_lint.meta.build import build
    from tuneahead_lint.meta.presets import PRESETS
    from tuneahead_lint.meta.runner import WorkerConfig
    from tuneahead_lint.meta.store import Store

    main(["meta", "build", "--preset", "tiny-all", "--store", str(store), "--base-model", model, "--data-dir",
          str(INSTRUCT), "--eval-dir", str(EVAL), "--features", "static", "--workers", "0"])
    specs = [replace(s, hp=replace(s.hp, lr=5.0, max_steps=4)) for s in PRESETS["tiny-all"].specs(model)[:6]]
    cfg = WorkerConfig(data_dir=str(INSTRUCT), eval_dir=str(EVAL), device="cpu", threads=1, features=("static",),
                       probe_steps=2, probe_extra=())
    with Store(str(store)) as db:
        build(specs, db, cfg, "tiny-all", workers=0, log=print)


def lint(out: Path, model: str, name: str, *args: str) -> None:
    cmd = [sys.executable, "-m", "tuneahead_lint", "--no-color", "--select", "TA4", "--model", str(out / "models"),
           "--base-model", model, *args, str(DATA.relative_to(ROOT))]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    (out / name).write_text(res.stdout, encoding="utf-8")
    print(f"{' '.join(cmd[3:])}: exit {res.returncode} -> {out / name}")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    model = tiny_model(out / "tiny-llama")
    t0 = time.monotonic()
    build_store(out / "m.sqlite", model)
    print(f"store built in {time.monotonic() - t0:.0f} s")
    t0 = time.monotonic()
    env = dict(os.environ, PY=sys.executable, DATA_DIR=str(INSTRUCT), PYTHONPATH=str(ROOT),
               EVAL_OPTS="--split random --repeats 2", FIT_OPTS="--cv-repeats 2")
    subprocess.run(["bash", str(ROOT / "benchmarks" / "refit_v2.sh"), str(out / "m.sqlite"), str(out / "refit")],
                   env=env, check=True)
    print(f"refit_v2.sh in {time.monotonic() - t0:.0f} s")
    refit = out / "refit"
    lint(refit, model, "lint.txt")
    lint(refit, model, "lint.json", "--format", "json")
    lint(refit, model, "lint.sarif", "--format", "sarif")
    lint(refit, model, "lint_gate_indomain.txt", "--gate-target", "y_indomain", "--min-score", "0.01")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
