"""Which stage asks MiniLM for which new texts (alpaca, warm cache)."""
import sys, traceback, collections
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
from bench_cascade import set_paths, run_features
from features_table import load_examples
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features import corpus as C
name = sys.argv[1] if len(sys.argv) > 1 else "alpaca_5k_subset"
orig = C.Corpus._embed_new
by = collections.Counter(); chars = collections.Counter()
def hook(self, todo):
    st = [f.name for f in traceback.extract_stack()]
    key = next((n for n in reversed(st) if n in ("dup_rows", "_close_prompts", "pairs", "sample_vectors", "local_outlier_scores", "pair_scores", "_pool_vectors", "_best_other_prompt", "random_share", "outlier_scores")), "?")
    key = ">".join(n for n in st if n in ("dup_rows", "_close_prompts", "pairs", "clusters", "sample_vectors", "local_outlier_scores", "pair_scores", "_pool_vectors", "_best_other_prompt", "random_share", "outlier_scores", "_run"))
    by[key] += len(todo); chars[key] += sum(min(len(t), 600) for t in todo)
    return orig(self, todo)
C.Corpus._embed_new = hook
ex = [e for e in load_examples(set_paths(name)) if e.ok]
c, v, o, m, s = run_features(ex, FeatureConfig())
for k in by: print(by[k], chars[k], k)
print("total", sum(by.values()), c.stats.get("embedding"), c.stats.get("candidates"))
