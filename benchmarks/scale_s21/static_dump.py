import sys, numpy as np
from tuneahead_lint.features import FeatureConfig
from tuneahead_lint.features.corpus import Corpus
from tuneahead_lint.features.embed.cascade import candidate_parts, mismatch_candidates, pair_cosines
from tuneahead_lint.readers import RecordSource, discover
out = {}
for name in sys.argv[2:]:
    ex = [e for e in RecordSource(discover([f"/work/shared/data/instruct/{name}"])) if e.ok]
    c = Corpus(ex, FeatureConfig(use_cache=False))
    st = c.static_vectors
    parts = candidate_parts(st.record, 0.83, c.prompts, c.responses, 0.5)
    i, j = parts[0], parts[1]
    out[name + ".record"] = st.record; out[name + ".prompt"] = st.prompt; out[name + ".response"] = st.response
    for k, p in enumerate(parts): out[f"{name}.part{k}"] = p
    out[name + ".mis"] = mismatch_candidates(st.prompt, st.response, -1.0)
    out[name + ".pc"] = pair_cosines(st.prompt, st.response, i, j)
np.savez(sys.argv[1], **out)
