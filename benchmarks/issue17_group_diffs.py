import sys, math
sys.path.insert(0, '.')
import tests.meta.test_group as T
specs = T.group_specs(sys.argv[1]); c = T.cfg("probe")
a = T.alone(specs, c); g = T.together(specs, c)
worst = {}
def upd(k, x, y):
    if x is None or y is None or (isinstance(x, float) and math.isnan(x)): return
    worst[k] = max(worst.get(k, 0), abs(x - y) / max(1, abs(y)))
for go, ao in zip(g, a):
    for k in T.ROW: upd(k, go.row[k], ao.row[k])
    gm, am = dict(go.metrics), dict(ao.metrics)
    for k in ("indomain_nll",): upd(k, gm[k], am[k])
    for gs, as_ in zip(sorted(go.scores, key=str), sorted(ao.scores, key=str)): upd("margin", gs.margin, as_.margin)
    for (n, gv), (_, av) in zip(go.features[0][2], ao.features[0][2]): upd("probe:" + n, gv, av)
for k, v in sorted(worst.items(), key=lambda t: -t[1]): print(f"{v:.2e} {k}")
