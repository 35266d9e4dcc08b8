"""Content-addressed cache: round trip, namespaces, disabled mode."""

from __future__ import annotations

import numpy as np

from tuneahead_lint.cache import VectorCache, namespace, text_key


def test_round_trip_and_namespace(tmp_path) -> None:
    ns = namespace("embedding", {"model": "m", "max_tokens": 128})
    cache = VectorCache(tmp_path, ns)
    vec = np.linspace(-1, 1, 8, dtype=np.float32)
    cache.put_many([(text_key("hello"), vec)])
    got = cache.get_many([text_key("hello"), text_key("other")])
    assert list(got) == [text_key("hello")]
    assert np.array_equal(got[text_key("hello")], vec.astype(np.float16))
    cache.close()
    other = VectorCache(tmp_path, namespace("embedding", {"model": "m", "max_tokens": 64}))
    assert other.get_many([text_key("hello")]) == {}
    other.close()


def test_namespace_is_order_independent() -> None:
    assert namespace("k", {"a": 1, "b": 2}) == namespace("k", {"b": 2, "a": 1})
    assert namespace("k", {"a": 1}) != namespace("j", {"a": 1})


def test_disabled_cache_misses() -> None:
    cache = VectorCache(None, "ns")
    cache.put_many([(text_key("x"), np.zeros(2))])
    assert cache.get_many([text_key("x")]) == {}


def test_many_keys(tmp_path) -> None:
    cache = VectorCache(tmp_path, "ns", dtype="float64")
    items = [(text_key(str(i)), np.array([i, 1.0])) for i in range(2500)]
    cache.put_many(items)
    got = cache.get_many([k for k, _ in items])
    assert len(got) == 2500 and got[text_key("1234")][0] == 1234.0


def _filled(tmp_path, n: int = 3000) -> bytes:
    rng = np.random.default_rng(0)
    cache = VectorCache(tmp_path, "ns", dtype="float64")
    cache.put_many([(rng.bytes(32), rng.random(64)) for _ in range(n)])
    cache.close()
    import sqlite3

    db = sqlite3.connect(tmp_path / "features.sqlite")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return (tmp_path / "features.sqlite").read_bytes()


def test_garbage_cache_file_is_moved_aside_and_rebuilt(tmp_path, capsys) -> None:
    (tmp_path / "features.sqlite").write_bytes(b"SQLite format 3\0" + bytes(range(256)) * 8)
    cache = VectorCache(tmp_path, "ns")
    cache.put_many([(text_key("a"), np.ones(4))])
    assert list(cache.get_many([text_key("a")])) == [text_key("a")]
    cache.close()
    aside = [p.name for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert f"moved to {tmp_path / aside[0]}, rebuilding" in capsys.readouterr().err


def test_truncated_cache_file_is_moved_aside_and_rebuilt(tmp_path, capsys) -> None:
    blob = _filled(tmp_path)
    (tmp_path / "features.sqlite").write_bytes(blob[: len(blob) // 3])
    cache = VectorCache(tmp_path, "ns", dtype="float64")
    assert cache.get_many([text_key("a")]) == {}
    cache.put_many([(text_key("a"), np.ones(4))])
    assert list(cache.get_many([text_key("a")])) == [text_key("a")]
    cache.close()
    assert "unreadable feature cache" in capsys.readouterr().err


def _fixture_texts() -> list[str]:
    from tests.features.conftest import records

    recs = records("gsm8k_40.jsonl")
    texts = [r["instruction"] for r in recs] + [r["output"] for r in recs]
    return texts + texts[:25]  # repeated texts, as a large input repeats its responses


def test_cached_rows_equal_cached_values_and_compute_each_text_once(tmp_path) -> None:
    from tuneahead_lint.cache import cached_rows, cached_values

    texts = _fixture_texts()
    calls: list[int] = []

    def encode(todo: list[str]) -> np.ndarray:
        calls.append(len(todo))
        return np.array([[len(t), t.count(" "), hash(t) % 7] for t in todo], np.float32) / 3

    cache = VectorCache(tmp_path, "rows", dtype="float32")
    table, rows = cached_rows(texts, cache, encode, 3, chunk=16)
    assert sum(calls) == len(set(texts)) == len(table) and max(calls) <= 16
    values, _ = cached_values(texts, VectorCache(None, "x", dtype="float32"), encode)
    assert np.array_equal(table[rows], np.array(values))
    calls.clear()
    warm, warm_rows = cached_rows(texts, cache, encode, 3, dtype=np.float16)
    assert calls == [] and warm.dtype == np.float16
    assert np.array_equal(warm[warm_rows], table[rows].astype(np.float16))
    cache.close()
