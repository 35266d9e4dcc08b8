"""Every instruction set reads without an exception.

Uses the shared data (``../shared/data/instruct``) when it exists, else the
credited slices in ``tests/fixtures/instruct`` (CI has no shared folder)."""

from __future__ import annotations

from collections import Counter

import pytest

from tuneahead_lint.readers import FORMATS, discover, is_file_note, read

from .conftest import FIXTURES, SHARED

ROOTS = [FIXTURES] + ([SHARED] if SHARED.is_dir() else [])
SETS = [(root, p.name) for root in ROOTS for p in sorted(root.iterdir()) if p.is_dir()]

# Records and majority format of each shared set (shared/data/MANIFEST.md).
SHARED_COUNTS = {
    "alpaca_5k_subset": (5000, "alpaca"),
    "code_alpaca_2k": (2017, "alpaca"),
    "dolly_hhrlhf_train_small": (1000, "prompt_response"),
    "gpteacher_roleplay": (1923, "alpaca"),
    "gpteacher_toolformer": (7673, "alpaca"),
    "gsm8k_train": (7473, "question_answer"),
    "hh_rlhf_harmless_base_test": (2312, "chosen_rejected"),
    "lima_llamafactory": (1029, "alpaca"),
    "medical_meadow_wikidoc_patient_info": (5942, "alpaca"),
    "oasst1_zh_sft_llamafactory": (689, "alpaca"),
    "self_instruct_seed_tasks": (175, "self_instruct"),
    "self_instruct_user_oriented_252": (252 + 8 * 252, "prompt_response"),
    "sharegpt_v3_unfiltered_first1500": (1500, "sharegpt"),
    "t0_train_templated_subset": (18932, "prompt_completion"),
}


def read_set(root, name: str) -> Counter:
    formats: Counter[str] = Counter()
    for path in discover([str(root / name)]):
        for example in (e for e in read(path) if not is_file_note(e)):
            assert example.line >= 1 and example.raw_hash
            assert example.ok or example.problems, example
            formats[example.format] += 1
    return formats


@pytest.mark.parametrize("root, name", SETS, ids=[f"{r.parent.parent.name}-{n}" for r, n in SETS])
def test_set_reads_without_exceptions(root, name):
    formats = read_set(root, name)
    assert sum(formats.values()) > 0 and "unknown" not in formats
    if root == SHARED and name in SHARED_COUNTS:
        records, fmt = SHARED_COUNTS[name]
        assert (sum(formats.values()), formats.most_common(1)[0][0]) == (records, fmt)


def test_fixtures_cover_every_format():
    seen = set()
    for name in sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()):
        for path in discover([str(FIXTURES / name)]):
            seen.update(e.format for e in read(path) if not is_file_note(e))
    assert seen == set(FORMATS)


def test_fixtures_stay_small():
    # the reader fixtures (instruct/); other stages keep their own slices
    size = sum(p.stat().st_size for p in FIXTURES.rglob("*") if p.is_file())
    assert size < 300_000
