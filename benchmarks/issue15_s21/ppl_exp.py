import sys, time, json, os
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
import torch
torch.set_num_threads(int(os.environ.get("NT", "1")))
from bench_cascade import set_paths
from features_table import load_examples
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus, _ppl_text
from tuneahead_lint.features import scoring
from tuneahead_lint.basemodel import load_causal_lm
from tuneahead_lint.features.embed.embedder import length_batches
name = sys.argv[1]; dtypes = sys.argv[2].split(",")
cfg = FeatureConfig(use_cache=False)
c = Corpus([e for e in load_examples(set_paths(name)) if e.ok], cfg)
texts = [_ppl_text(c.prompts[r], c.responses[r]) for r in c.sample_rows]
ids = scoring._token_ids(texts, cfg)
L = np.array([len(x) for x in ids])
res = {}
for dt in dtypes:
    t0 = time.process_time(); w0 = time.time()
    model, _ = load_causal_lm(None, device="cpu", dtype=dt, tokenizer=False)
    t1 = time.process_time()
    out = np.zeros((len(texts), 2))
    with torch.inference_mode():
        for b in length_batches(L, int(os.environ.get("BT", "256")), max_rows=32):
            for r, s in zip(b, scoring._batch_nll([ids[i] for i in b], model, "cpu")):
                out[r] = s
    t2 = time.process_time()
    ppl = np.exp(out[:, 0] / np.maximum(out[:, 1], 1))
    res[dt] = ppl
    print(json.dumps({"dtype": dt, "load_cpu": round(t1 - t0, 2), "score_cpu": round(t2 - t1, 2), "wall": round(time.time() - w0, 2),
                      "mean": round(float(ppl.mean()), 4), "tokens": int(L.sum())}), flush=True)
    del model
if len(res) > 1:
    a, b = res[dtypes[0]], res[dtypes[1]]
    print("rel diff mean", float(np.mean(b / a - 1)), "max", float(np.max(np.abs(b / a - 1))), "mean diff", float(b.mean() - a.mean()), "se", float(a.std(ddof=1) / 8))
