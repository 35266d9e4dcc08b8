import sys, time, resource, json
from pathlib import Path
from tuneahead_lint.readers import RecordSource, discover
from tuneahead_lint.features.embed.cascade import minhash_pairs
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"): return int(line.split()[1]) // 1024
ex = [e for e in RecordSource(discover([sys.argv[1]])) if e.ok][: int(sys.argv[2])]
p, r = [e.prompt for e in ex], [e.response for e in ex]
del ex
r0 = rss(); c = time.process_time()
i, j = minhash_pairs(p, r, 0.5)
print(json.dumps({"records": len(p), "pairs": len(i), "cpu_s": round(time.process_time() - c, 1), "rss_before": r0,
                  "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
