"""Static candidate pairs (cosine >= 0.83, as the cascade) on prefixes of a file: how the pair count grows."""
import sys, time, json, resource
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.features.embed.index import similar_pairs
from tuneahead_lint.readers import RecordSource, discover
import itertools
path = sys.argv[1]
for n in map(int, sys.argv[2:]):
    c = Corpus(itertools.islice((e for e in RecordSource(discover([path])) if e.ok), n), FeatureConfig(use_cache=False))
    x = c.static_vectors.record
    t = time.process_time(); p = similar_pairs(x, 0.83)
    print(json.dumps({"records": n, "static_pairs": len(p.i), "method": p.method, "search_cpu_s": round(time.process_time() - t, 1),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}), flush=True)
