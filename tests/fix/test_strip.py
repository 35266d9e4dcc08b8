"""Template stripping touches only the fields that feed the turns, keeps the
turn structure, and gives up (record unchanged, a note) when it cannot."""

from __future__ import annotations

import pytest

from tuneahead_lint.fix.strip import markup, strip_record, strip_text

M = markup()


@pytest.mark.parametrize("text, want", [
    ("positive<|endoftext|>", "positive"),
    ("### Response:\nThe answer is 4.", "The answer is 4."),
    ("Sure! </s>", "Sure!"),
    ("[INST] Tell me a joke [/INST]", "Tell me a joke"),
    ("Human: hi", "hi"),
    ("  kept  ", "  kept  "),
    ("a <s> b", "a  b"),
])
def test_strip_text(text, want):
    assert strip_text(text, M.rx) == want


def test_alpaca_fields():
    rec = {"instruction": "### Instruction:\nName a colour", "input": "", "output": "Red</s>"}
    new, turns = strip_record(rec, "alpaca", M)
    assert new == {"instruction": "Name a colour", "input": "", "output": "Red"}
    assert [t.content for t in turns] == ["Name a colour", "Red"]


def test_metadata_field_is_left_alone():
    """A pre-rendered ``text`` column is not part of the turns: not touched."""
    rec = {"instruction": "Name a colour", "output": "Red<|endoftext|>",
           "text": "### Instruction:\nName a colour\n\n### Response:\nRed<|endoftext|>"}
    new, _ = strip_record(rec, "alpaca", M)
    assert new == dict(rec, output="Red")
    assert list(new) == list(rec)  # key order


def test_sharegpt_turn_in_a_list():
    rec = {"id": "x", "conversations": [{"from": "human", "value": "hi<|im_end|>"},
                                        {"from": "gpt", "value": "hello"}]}
    new, _ = strip_record(rec, "sharegpt", M)
    assert new["conversations"][0] == {"from": "human", "value": "hi"}
    assert new["id"] == "x"


def test_transcript_speaker_markers_survive():
    """HH-RLHF: 'Human:'/'Assistant:' separate the turns; a special token
    inside a turn is removed, the separators are not."""
    rec = {"chosen": "\n\nHuman: What is 2+2?\n\nAssistant: 4</s>", "rejected": "\n\nHuman: x\n\nAssistant: y"}
    new, turns = strip_record(rec, "chosen_rejected", M)
    assert new["chosen"] == "\n\nHuman: What is 2+2?\n\nAssistant: 4"
    assert [t.role for t in turns] == ["user", "assistant"]


def test_gives_up_when_the_turns_would_change_shape():
    """A line-initial 'Assistant: ' inside a transcript turn cannot be removed
    without re-splitting the transcript: the record is left as it was."""
    rec = {"chosen": "\n\nHuman: Quote it\n\nAssistant: He said:\nAssistant: hello"}
    assert strip_record(rec, "chosen_rejected", M) is None


def test_custom_patterns():
    new, _ = strip_record({"prompt": "p", "completion": "c<END>"}, "prompt_completion", markup([r"<END>"]))
    assert new["completion"] == "c"
