"""The probe on another architecture: a tiny random GPT-2 saved to a local
directory, with no chat template (plain prompt/response formatting) and no
q/k/v/o projections (peft's default target modules for GPT-2)."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory, tokenizer):
    import copy

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-gpt2")
    cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=128, n_embd=32, n_layer=2, n_head=2,
                     bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    GPT2LMHeadModel(cfg).save_pretrained(path)
    plain = copy.deepcopy(tokenizer)
    plain.chat_template = None
    plain.save_pretrained(path)
    (path / "chat_template.jinja").unlink(missing_ok=True)
    return str(path)


def test_probe_runs_on_a_local_gpt2_without_chat_template(tiny_gpt2, examples, probe_cache_dir):
    from tuneahead_lint.basemodel import load_tokenizer
    from tuneahead_lint.probe import ProbeConfig, run_probe
    from tuneahead_lint.probe.lora import resolve_targets

    assert not getattr(load_tokenizer(tiny_gpt2), "chat_template", None)
    cfg = ProbeConfig(base_model=tiny_gpt2, steps=2, batch_size=2, max_len=48, contrast_pairs=3,
                      forgetting_items=3, flatness_items=2, device="cpu", progress=False,
                      use_cache=False)
    r = run_probe(examples, cfg)
    assert r.steps_run == 2 and r.model == tiny_gpt2
    assert all(math.isfinite(m.value) for _, m in r.values)
    from transformers import AutoModelForCausalLM

    assert resolve_targets(AutoModelForCausalLM.from_pretrained(tiny_gpt2), cfg.target_modules) is None
