"""Formatting and labels: chat template, response-only loss, seeded sampling."""

from __future__ import annotations

import copy

from tuneahead_lint.probe.data import (IGNORE, batch_plan, collate, encode, messages,
                                       sample_order, split_text, usable)
from tuneahead_lint.types import Example, Turn


def _ex(*turns: tuple[str, str]) -> Example:
    return Example("d.jsonl", 1, 0, "messages", tuple(Turn(r, c) for r, c in turns))


def test_labels_mask_the_prompt_and_keep_the_response(tokenizer):
    ex = _ex(("user", "Name a colour."), ("assistant", "Red, like a ripe tomato."))
    enc = encode(tokenizer, ex, max_len=256)
    n_ctx = sum(1 for x in enc.labels if x == IGNORE)
    context = tokenizer.decode(enc.input_ids[:n_ctx])
    target = tokenizer.decode([x for x in enc.labels if x != IGNORE])
    assert context.endswith("<|im_start|>assistant\n")
    assert "Name a colour." in context and "Red" not in context
    assert target == "Red, like a ripe tomato.<|im_end|>\n"
    assert list(enc.labels[n_ctx:]) == list(enc.input_ids[n_ctx:])
    assert all(x == IGNORE for x in enc.labels[:n_ctx])


def test_multi_turn_trains_on_the_last_assistant_turn_only(tokenizer):
    ex = _ex(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello."),
             ("user", "Colour?"), ("assistant", "Blue."))
    enc = encode(tokenizer, ex, max_len=256)
    assert tokenizer.decode([x for x in enc.labels if x != IGNORE]) == "Blue.<|im_end|>\n"
    assert "Hello." in tokenizer.decode(enc.input_ids)


def test_unknown_roles_become_user_and_trailing_turns_are_dropped():
    ex = _ex(("bing", "q"), ("assistant", "a"), ("user", "dangling"))
    assert messages(ex) == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert messages(ex, response="b")[-1] == {"role": "assistant", "content": "b"}


def test_long_records_keep_the_assistant_header_and_some_response(tokenizer):
    ex = _ex(("user", "word " * 400), ("assistant", "answer " * 400))
    enc = encode(tokenizer, ex, max_len=64)
    assert len(enc.input_ids) == 64
    assert enc.n_target == 32
    assert tokenizer.decode(enc.input_ids[:32]).endswith("<|im_start|>assistant\n")


def test_model_without_chat_template_gets_plain_format(tokenizer):
    plain = copy.copy(tokenizer)
    plain.chat_template = None
    ctx, target = split_text(plain, [{"role": "user", "content": "Q"},
                                     {"role": "assistant", "content": "A"}])
    assert ctx == "Q\n\n" and target == "A" + plain.eos_token


def test_sampling_is_seeded_and_covers_records():
    assert sample_order(10, 3) == sample_order(10, 3) != sample_order(10, 4)
    plan = batch_plan(5, steps=4, batch_size=3, seed=0)
    assert [len(b) for b in plan] == [3, 3, 3, 3]
    assert set(sum(plan, [])) == set(range(5))
    assert plan == batch_plan(5, steps=4, batch_size=3, seed=0)


def test_usable_drops_blank_responses():
    good, blank = _ex(("user", "q"), ("assistant", "a")), _ex(("user", "q"), ("assistant", "  "))
    assert usable([good, blank, _ex()]) == [good]


def test_collate_pads_right_and_ignores_padding(tokenizer, examples):
    items = [encode(tokenizer, ex, 48) for ex in examples[:3]]
    batch = collate(items, pad_id=tokenizer.pad_token_id)
    width = max(len(e.input_ids) for e in items)
    assert batch["input_ids"].shape == (3, width)
    for row, e in enumerate(items):
        n = len(e.input_ids)
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (width - n)
        assert batch["labels"][row, n:].eq(IGNORE).all()
