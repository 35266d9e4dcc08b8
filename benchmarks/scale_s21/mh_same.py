"""datasketch MinHashLSH pairs (the old minhash_pairs) == the new numpy bands, on real sets."""
import sys, time, numpy as np
from datasketch import MinHash, MinHashLSH
from tuneahead_lint.features.embed.cascade import minhash_pairs, shingles
from tuneahead_lint.readers import RecordSource, discover
def old(prompts, responses, threshold=0.5, num_perm=64, seed=1):
    hashes = MinHash.bulk((shingles(p, r) for p, r in zip(prompts, responses)), num_perm=num_perm, seed=seed)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    with lsh.insertion_session() as session:
        for k, m in enumerate(hashes):
            session.insert(k, m, check_duplication=False)
    arr = np.array(sorted((k, j) for k, m in enumerate(hashes) for j in lsh.query(m) if j > k), np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]
for path in sys.argv[1:]:
    ex = sorted((e for e in RecordSource(discover([path])) if e.ok), key=lambda e: (e.path, e.line, e.index))
    p, r = [e.prompt for e in ex], [e.response for e in ex]
    t = time.process_time(); a = old(p, r); t1 = time.process_time(); b = minhash_pairs(p, r); t2 = time.process_time()
    print(path.split("/")[-1], len(p), "pairs", len(a[0]), "same", np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]),
          "old cpu", round(t1 - t, 1), "new cpu", round(t2 - t1, 1), flush=True)
