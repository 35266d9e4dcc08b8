"""Scores for TA207 (issue 16, mismatched pairs) compared on the planted sets:
planted mismatched pairs found at a fixed number of clean records flagged.

    PYTHONPATH=$PWD python benchmarks/bench_mismatch_scores.py   # sets A and B

Every score is "higher = less related to its own partner", over all records of
the set (the plants' true prompts are not in the file):

* ``own z``: minus the robust z of the record's prompt/response cosine;
* ``rank``: of the file's other prompts, the share closer to the response than
  its own prompt, and of the other responses, the share closer to the prompt
  than its own response; the smaller of the two (retrieval rank);
* ``gap``: the local fit gap of TA207 (:func:`~.index.local_fit_gaps`, k one per
  120 records), on MiniLM, on the static model2vec vectors, and on TF-IDF
  (word unigrams, sublinear tf, fitted on the file's prompts and responses;
  needs scikit-learn, not a dependency of the package).

Reads the MiniLM and static vectors through the feature cache (a lint of the
sets fills it). Prints one markdown table per set.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tuneahead_lint.features.config import FeatureConfig  # noqa: E402
from tuneahead_lint.features.corpus import Corpus  # noqa: E402
from tuneahead_lint.features.embed.cascade import robust_z  # noqa: E402
from tuneahead_lint.features.embed.index import local_fit_gaps  # noqa: E402
from tuneahead_lint.readers import read  # noqa: E402

SETS = {"A": ROOT / "tests" / "fixtures" / "planted16", "B": ROOT / "benchmarks" / "planted" / "planted16b"}
CLEAN_FLAGGED = (3, 6, 12)  # 0.5%, 1%, 2% of the 600 clean records


def classes(folder: Path, refs: list[tuple[str, int]]) -> np.ndarray:
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    by_line = {row["line"]: row["class"] for row in truth["lines"]}
    return np.array([by_line[line] for _, line in refs])


def rank_share(p: np.ndarray, r: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """min(share of other prompts closer to the response, share of other responses closer to the prompt)."""
    own = np.einsum("ij,ij->i", p, r)
    other = keys[:, None] != keys[None, :]
    sims = r @ p.T
    by_response = ((sims > own[:, None]) & other).sum(1) / other.sum(1)
    by_prompt = ((sims.T > own[:, None]) & other).sum(1) / other.sum(1)
    return np.minimum(by_response, by_prompt)


def tfidf(prompts: list[str], responses: list[str]) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", sublinear_tf=True).fit(prompts + responses)
    return vec.transform(prompts).toarray(), vec.transform(responses).toarray()


def scores(corpus: Corpus) -> dict[str, np.ndarray]:
    texts = {t: i for i, t in enumerate(dict.fromkeys(corpus.prompts))}
    keys = np.array([texts[t] for t in corpus.prompts], np.int64)
    k = max(3, round(len(corpus) / 120))
    mini, static = corpus.vectors, corpus.static_vectors
    tp, tr = tfidf(corpus.prompts, corpus.responses)
    gap = lambda p, r: local_fit_gaps(p, r, keys, p, r, keys, k)  # noqa: E731
    own = np.einsum("ij,ij->i", mini.prompt, mini.response).astype(np.float64)
    return {"own z (MiniLM)": -robust_z(own), "rank (MiniLM)": rank_share(mini.prompt, mini.response, keys),
            "gap (MiniLM)": gap(mini.prompt, mini.response), "gap (static)": gap(static.prompt, static.response),
            "gap (TF-IDF)": gap(tp, tr), "rank (TF-IDF)": rank_share(tp, tr, keys)}


def found_at(score: np.ndarray, cls: np.ndarray, flagged: int) -> tuple[int, float]:
    """Plants scoring above the clean record ranked ``flagged`` + 1 (and that score)."""
    clean = np.sort(np.nan_to_num(score[cls == "clean"], nan=-np.inf))[::-1]
    limit = clean[flagged]
    return int((np.nan_to_num(score[cls == "mismatched_pair"], nan=-np.inf) > limit).sum()), float(limit)


def main() -> int:
    for label, folder in SETS.items():
        corpus = Corpus(list(read(str(folder / "planted.jsonl"))), FeatureConfig(skip=frozenset({"base_model"})))
        cls = classes(folder, corpus.refs)
        print(f"### Set {label} ({len(corpus)} records, {int((cls == 'mismatched_pair').sum())} mismatched pairs, "
              f"{int((cls == 'clean').sum())} clean)\n")
        print("| score | " + " | ".join(f"found at {n} clean flagged (limit)" for n in CLEAN_FLAGGED) + " |")
        print("|---|" + "---|" * len(CLEAN_FLAGGED))
        for name, score in scores(corpus).items():
            cells = [f"{f}/20 ({lim:.3f})" for f, lim in (found_at(score, cls, n) for n in CLEAN_FLAGGED)]
            print(f"| {name} | " + " | ".join(cells) + " |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
