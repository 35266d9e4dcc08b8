"""Per-text helpers behind the lexical and global features."""

from __future__ import annotations

import pytest

from tuneahead_lint.features.corpus import instruction_key
from tuneahead_lint.features.static.lengths import looks_like_code
from tuneahead_lint.features.static.lexical import (
    clause_depth,
    grounded_share,
    ngram_repetition,
    verbatim_loop,
)


def test_ngram_repetition() -> None:
    assert ngram_repetition("a b c d e".split()) == 0.0
    assert ngram_repetition("a b c a b c a b c".split()) == pytest.approx(1 - 3 / 7)
    assert ngram_repetition(["a", "b"]) is None


def test_verbatim_loop_finds_the_passage_repeated_most_often() -> None:
    opening = "the story starts here and then goes on for a while".split()
    loop = "looks like you will be here late tonight".split()
    assert verbatim_loop(opening + loop + "he said".split() + loop * 6) == (8, 6.0)
    assert verbatim_loop(opening + loop * 2 + opening) == (8, 2.0)
    assert verbatim_loop(opening) == (0, 0.0)


def test_verbatim_loop_ignores_passages_of_few_distinct_words() -> None:
    row = "tr td td td td td td td td tr".split()  # an HTML table row, 2 distinct words
    assert verbatim_loop(["table", *row * 3, "table"]) == (0, 0.0)


def test_clause_depth_counts_markers_and_brackets() -> None:
    assert clause_depth("Name a colour.") == 1
    assert clause_depth("Explain why the sky is blue when the sun sets.") == 3
    assert clause_depth("Compute f(g(x)) for x = 2.") == 3
    assert clause_depth("") == 0


def test_instruction_key_is_first_line_normalised() -> None:
    assert instruction_key("\n  Answer this   question truthfully\n\nWhat is gout?") == \
        "answer this question truthfully"


def test_grounded_share() -> None:
    prompt = "what is the capital of france".split()
    assert grounded_share(prompt, "the capital of france is paris".split()) == pytest.approx(3 / 5)
    assert grounded_share(prompt, ["paris"]) is None


@pytest.mark.parametrize(("text", "code"), [
    ("```python\nprint(1)\n```", True),
    ("def add(a, b):\n    return a + b", True),
    ("SELECT name FROM users WHERE id = 1", True),
    ("int x = 1;\nx++;", True),
    ("The function of the heart is to pump blood; it never rests.", False),
    ("Natalia sold 48/2 = <<48/2=24>>24 clips in May.", False),
])
def test_looks_like_code(text: str, code: bool) -> None:
    assert looks_like_code(text) is code
