"""Record formats: detection, conversion to turns, and field problems."""

from __future__ import annotations

import json

import pytest

from tuneahead_lint.readers import FORMATS, majority_format, read
from tuneahead_lint.readers.formats import convert, detect, parse_transcript
from tuneahead_lint.types import Turn

from .conftest import checks


def turns(record: dict, fmt: str | None = None) -> list[tuple[str, str]]:
    return [(t.role, t.content) for t in convert(record, fmt).turns]


def problems(record: dict, fmt: str | None = None) -> list[tuple[str, str]]:
    return [(p.check, p.detail) for p in convert(record, fmt).problems]


@pytest.mark.parametrize("record, fmt", [
    ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
    ({"instruction": "i", "input": "", "response": "o"}, "alpaca"),
    ({"prompt": "p", "completion": "c"}, "prompt_completion"),
    ({"prompt": "p", "response": "r"}, "prompt_response"),
    ({"prompt": "p", "instruction": "i", "input": "", "target": "t", "response": "r"}, "prompt_response"),
    ({"messages": [{"role": "user", "content": "u"}]}, "messages"),
    ({"id": "x", "conversations": [{"from": "human", "value": "h"}]}, "sharegpt"),
    ({"question": "q", "answer": "a"}, "question_answer"),
    ({"chosen": "\n\nHuman: h\n\nAssistant: a", "rejected": "x"}, "chosen_rejected"),
    ({"id": "s", "instruction": "i", "instances": [{"input": "", "output": "o"}]}, "self_instruct"),
])
def test_detect(record, fmt):
    assert detect(record) == fmt and convert(record).format == fmt


def test_alpaca_joins_instruction_and_input_and_keeps_history_and_system():
    record = {"instruction": "Translate", "input": "bonjour", "output": "hello", "system": "Be brief.",
              "history": [["hi", "hello!"], ["how are you?", "fine"]]}
    assert turns(record) == [("system", "Be brief."), ("user", "hi"), ("assistant", "hello!"),
                             ("user", "how are you?"), ("assistant", "fine"),
                             ("user", "Translate\n\nbonjour"), ("assistant", "hello")]


def test_alpaca_null_optional_fields_are_absent():
    record = {"instruction": "i", "input": None, "output": "o", "history": None, "system": None}
    assert turns(record) == [("user", "i"), ("assistant", "o")] and problems(record) == []


def test_messages_content_parts_tool_calls_and_unknown_roles():
    record = {"messages": [
        {"role": "developer", "content": "rules"},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}},
                                     {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        {"role": "tool", "content": "42"},
        {"role": "assistant", "content": "done"}]}
    assert turns(record) == [("developer", "rules"), ("user", "a\nb"), ("assistant", ""),
                             ("tool", "42"), ("assistant", "done")]
    assert problems(record) == []


def test_sharegpt_roles():
    convs = [{"from": f, "value": f"v{i}"} for i, f in
             enumerate(["system", "human", "gpt", "user", "assistant", "bing", "chatgpt", "bard", "Human"])]
    roles = [role for role, _ in turns({"conversations": convs})]
    assert roles == ["system", "user", "assistant", "user", "assistant", "bing", "chatgpt", "bard", "Human"]


def test_sharegpt_role_content_items_and_top_level_system():
    record = {"system": "s", "conversations": [{"role": "user", "content": "u"},
                                               {"role": "assistant", "content": "a"}]}
    assert turns(record) == [("system", "s"), ("user", "u"), ("assistant", "a")]


def test_hh_rlhf_transcript():
    chosen = "\n\nHuman: hi\n\nthere\n\nAssistant: hello\n\nHuman: bye\n\nAssistant: ciao"
    assert turns({"chosen": chosen, "rejected": ""}) == [
        ("user", "hi\n\nthere"), ("assistant", "hello"), ("user", "bye"), ("assistant", "ciao")]
    assert parse_transcript("no markers") is None
    assert parse_transcript("intro\n\nHuman: q") == [Turn("system", "intro"), Turn("user", "q")]


def test_dpo_prompt_plus_chosen():
    assert turns({"prompt": "\n\nHuman: q\n\nAssistant:", "chosen": " a", "rejected": " b"}) == [
        ("user", "q"), ("assistant", "a")]
    assert turns({"prompt": "q", "chosen": "a", "rejected": "b"}) == [("user", "q"), ("assistant", "a")]


def test_chosen_without_transcript_markers():
    conv = convert({"chosen": "just text", "rejected": "x"})
    assert conv.turns == () and [p.check for p in conv.problems] == ["unknown_format"]


def test_empty_final_assistant_turn_in_transcript():
    assert problems({"chosen": "\n\nHuman: q\n\nAssistant:"}) == [
        ("empty_field", "field 'chosen' turn 2 (assistant) is empty")]


def test_self_instruct_uses_the_first_instance():
    record = {"instruction": "Add", "instances": [{"input": "1+1", "output": "2"},
                                                  {"input": "2+2", "output": "4"}]}
    assert turns(record) == [("user", "Add\n\n1+1"), ("assistant", "2")]


def test_missing_field_names_keys_found_and_expected():
    conv = convert({"instruction": "i", "input": "x"})
    assert conv.format == "alpaca" and conv.turns == ()
    (check, detail), = problems({"instruction": "i", "input": "x"})
    assert check == "missing_field"
    assert "'output'" in detail and "'input', 'instruction'" in detail and "expects" in detail


def test_unknown_record_is_missing_field():
    conv = convert({"text": "### Human: hi ### Assistant: yo"})
    assert conv.format == "unknown" and conv.turns == ()
    (check, detail), = problems({"text": "x"})
    assert check == "missing_field" and "'text'" in detail and "prompt, completion" in detail


@pytest.mark.parametrize("record, field", [
    ({"instruction": " ", "output": "o"}, "instruction"),
    ({"prompt": "p", "completion": "\n\t"}, "completion"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user", "content": ""}]}, "messages[0].content"),
    ({"conversations": [{"from": "human", "value": "h"}, {"from": "gpt", "value": ""}]},
     "conversations[1].value"),
    ({"instruction": "i", "instances": [{"input": "", "output": ""}]}, "instances[0].output"),
])
def test_empty_field_names_the_field_and_keeps_turns(record, field):
    conv = convert(record)
    assert [(p.check, p.detail) for p in conv.problems] == [("empty_field", f"field '{field}' is empty")]


@pytest.mark.parametrize("record, field, kind", [
    ({"instruction": "i", "output": 5}, "output", "number"),
    ({"instruction": ["i"], "output": "o"}, "instruction", "array"),
    ({"question": "q", "answer": None}, "answer", "null"),
    ({"prompt": {"a": 1}, "completion": "c"}, "prompt", "object"),
    ({"instruction": "i", "input": True, "output": "o"}, "input", "boolean"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content", "number"),
    ({"messages": ["hi"]}, "messages[0]", "string"),
    ({"conversations": "hi"}, "conversations", "string"),
    ({"instruction": "i", "output": "o", "history": [["a"]]}, "history[0]", "array of 1"),
])
def test_non_string_names_field_and_type(record, field, kind):
    conv = convert(record)
    assert conv.turns == ()
    assert [p.check for p in conv.problems] == ["non_string"]
    assert conv.problems[0].detail.startswith(f"field '{field}' is {kind}")


def test_forced_format():
    record = {"prompt": "p", "completion": "c"}
    assert problems(record, "alpaca")[0][0] == "missing_field"
    assert turns({"prompt": "p", "response": "r", "completion": "c"}, "prompt_response") == [
        ("user", "p"), ("assistant", "r")]


def test_read_with_forced_and_bad_format(lint_file):
    examples = lint_file("x.jsonl", json.dumps({"question": "q", "answer": "a"}), fmt="alpaca")
    assert checks(examples[0]) == ["missing_field"] and examples[0].format == "alpaca"
    with pytest.raises(ValueError, match="unknown format"):
        read("whatever.jsonl", "csv")


def test_mixed_formats_in_one_file(tmp_path):
    rows = [{"instruction": "i", "output": "o"}, {"prompt": "p", "completion": "c"},
            {"messages": [{"role": "user", "content": "u"}]}, {"instruction": "j", "output": "p"},
            {"nothing": 1}, "not an object"]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    records = read(str(path))
    formats = [e.format for e in records]
    assert formats == ["alpaca", "prompt_completion", "messages", "alpaca", "unknown", "unknown"]
    assert records.format == "alpaca"
    summary = records.summary()
    assert (summary.format, summary.records, summary.unreadable) == ("alpaca", 6, 2)


def test_majority_format_ties_follow_formats_order():
    assert majority_format(["messages", "alpaca", "unknown", "unknown"]) == "alpaca"
    assert majority_format(["unknown"]) == "unknown" and majority_format([]) == "unknown"
    assert FORMATS.index("alpaca") == 0


def test_null_valued_keys_do_not_drive_detection():
    assert detect({"prompt": "p", "completion": None, "response": "r"}) == "prompt_response"
    assert turns({"instruction": "i", "output": None, "response": "r"}) == [("user", "i"), ("assistant", "r")]
