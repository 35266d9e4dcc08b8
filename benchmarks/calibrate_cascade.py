"""Issue 15: the numbers behind the cascade's candidate thresholds.

For every set of ``../shared/data/instruct`` this saves, per record, what
the exact MiniLM computation decides and what the cheap stages see, so the
candidate thresholds of :mod:`tuneahead_lint.features.embed.cascade` can be
chosen to keep recall on all 14 sets:

* MiniLM (every record, from the feature cache): cosine to the nearest
  other record, near-duplicate pairs (>= 0.95), TA202 robust z (k = 10),
  TA207 records (rule defaults);
* static (model2vec): cosine to the nearest other record, TA202 robust z
  and z on static vectors, the static prompt/response cosine and its best
  other prompt;
* MinHash (datasketch): records sharing an LSH bucket with another.

``TUNEAHEAD_CACHE=/tmp/predict-cache python benchmarks/calibrate_cascade.py OUTDIR [--only NAME ...]``
writes ``OUTDIR/NAME.npz``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cascade import set_paths, ta202, ta207  # noqa: E402
from features_table import SETS, load_examples  # noqa: E402


def rows_of(corpus, refs) -> np.ndarray:
    at = {r: k for k, r in enumerate(corpus.refs)}
    return np.array(sorted(at[r] for r in refs), np.int64)


def dump(name: str, out: Path) -> None:
    from tuneahead_lint.features import FeatureConfig, _evidence, _mismatches
    from tuneahead_lint.features.corpus import Corpus
    from tuneahead_lint.features.embed import cascade
    from tuneahead_lint.features.embed.index import best_other_prompt, local_outlier_scores

    examples = [e for e in load_examples(set_paths(name)) if e.ok]
    cfg = replace(FeatureConfig(), semantic_sample=0)
    c = Corpus(examples, cfg)
    v = c.vectors
    _, outliers = _evidence(c, cfg)
    st = c.static_vectors
    keys = {p: i for i, p in enumerate(dict.fromkeys(c.prompts))}
    same = np.array([keys[p] for p in c.prompts], np.int64)
    s_best, s_row = best_other_prompt(st.prompt, st.response, same)
    _, s_z, s_robust = local_outlier_scores(st.record, cfg.outlier_k)
    _, m_z, m_robust = c.local_outlier_scores
    np.savez_compressed(
        out / f"{name}.npz", n=len(c),
        nn_full=cascade.nearest_other(v.record), pair_i=c.pairs.i, pair_j=c.pairs.j,
        robust_full=m_robust, z_full=m_z, ta202=rows_of(c, ta202(outliers)),
        ta207=rows_of(c, ta207(_mismatches(c, cfg))),
        own_full=np.einsum("ij,ij->i", v.prompt, v.response),
        nn_static=cascade.nearest_other(st.record), robust_static=s_robust, z_static=s_z,
        own_static=np.einsum("ij,ij->i", st.prompt, st.response), best_static=s_best, row_static=s_row,
        minhash=cascade.minhash_candidates(c.prompts, c.responses))
    print(name, len(c), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--only", nargs="*", default=None)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or list(SETS):
        dump(name, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
