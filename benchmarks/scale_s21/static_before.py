"""read + corpus + static vectors only, with stage RSS (run with PYTHONPATH of the code to measure)."""
import json, os, resource, sys, time
from pathlib import Path
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.readers import RecordSource, discover
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"): return int(line.split()[1]) // 1024
def run(name, fn):
    w, c = time.perf_counter(), time.process_time(); out = fn()
    print(json.dumps({"stage": name, "wall_s": round(time.perf_counter() - w, 1), "cpu_s": round(time.process_time() - c, 1),
                      "rss_mb": rss(), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                      "load": round(os.getloadavg()[0], 1)}), flush=True)
    return out
valid = run("read", lambda: [e for e in RecordSource(discover([sys.argv[1]])) if e.ok])
corpus = run("corpus", lambda: Corpus(valid, FeatureConfig(semantic_sample=1000, use_cache=False)))
del valid
run("static-embed", lambda: corpus.static_vectors)
