"""Near-duplicate pairs (cos >= 0.95, exact) with fp32 MiniLM (warm cache) vs a quantised model."""
import sys, json, time
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1])); sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from dataclasses import replace
from bench_cascade import set_paths
from features_table import load_examples
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.features.embed.index import similar_pairs
import q_exp
sess = q_exp.session(sys.argv[1])
for name in sys.argv[2:]:
    ex = [e for e in load_examples(set_paths(name)) if e.ok]
    c = Corpus(ex, FeatureConfig(semantic_sample=0))
    v = c.vectors
    p = similar_pairs(v.record, 0.95)
    truth = set(zip(p.i.tolist(), p.j.tolist()))
    t0 = time.process_time()
    a, _ = q_exp.encode(sess, c.prompts); b, _ = q_exp.encode(sess, c.responses)
    cpu = time.process_time() - t0
    r = a + b; r /= np.linalg.norm(r, axis=1, keepdims=True)
    q = similar_pairs(r, 0.95)
    found = set(zip(q.i.tolist(), q.j.tolist()))
    cos = np.einsum("ij,ij->i", v.record, r)
    print(json.dumps({"set": name, "n": len(ex), "fp32_pairs": len(truth), "q_pairs": len(found), "both": len(truth & found),
                      "recall": round(len(truth & found) / max(len(truth), 1), 4), "cos_rec_mean": round(float(cos.mean()), 4),
                      "cos_rec_min": round(float(cos.min()), 4), "q_cpu": round(cpu, 1)}), flush=True)
