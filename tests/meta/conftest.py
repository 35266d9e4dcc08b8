"""Fixtures for the meta-dataset tests: credited data slices and a tiny
random Llama model (2 layers, width 32) with the project's shipped SmolLM2
tokenizer, so a whole build runs in seconds without downloading anything."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "meta"
INSTRUCT = FIXTURES / "instruct"
EVAL = FIXTURES / "eval"
TOKENIZER = Path(__file__).resolve().parents[2] / "models" / "smollm2-135m-instruct" / "tokenizer.json"
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> str:
    """A saved random LlamaForCausalLM + tokenizer, loadable by path."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    out = tmp_path_factory.mktemp("tiny-llama")
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_file=str(TOKENIZER), bos_token="<|im_start|>", eos_token="<|im_end|>",
        pad_token="<|endoftext|>")
    tok.chat_template = CHATML
    cfg = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True)
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(cfg).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return str(out)


@pytest.fixture()
def tiny_lm(tiny_model_dir):
    """(model, tokenizer) of the tiny model on CPU, one thread."""
    import torch

    from tuneahead_lint.basemodel import load_causal_lm

    torch.set_num_threads(1)
    return load_causal_lm(tiny_model_dir, "cpu")
