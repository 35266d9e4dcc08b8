import sys, json
from tuneahead_lint.readers import RecordSource, discover
for path in sys.argv[1:]:
    P=set(); R=set(); PR=set(); n=0
    for ex in RecordSource(discover([path])):
        if not ex.ok: continue
        n+=1; P.add(ex.prompt); R.add(ex.response); PR.add((ex.prompt, ex.response))
    print(path, n, "prompts", len(P), "responses", len(R), "records", len(PR), "texts", len(P|R))
