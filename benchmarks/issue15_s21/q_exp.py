"""MiniLM static int8 (QDQ) vs fp32 vs dynamic int8: speed (1 thread) and cosine."""
import json, sys, time, os
import numpy as np
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import onnxruntime as ort
from onnxruntime.quantization import quantize_static, quantize_dynamic, QuantType, QuantFormat, CalibrationDataReader, CalibrationMethod
from tokenizers import Tokenizer
from features_table import load_examples
from bench_cascade import set_paths

from tuneahead_lint.features.embed.embedder import resolve_embedder
from tuneahead_lint.features.embed.onnx_export import exported_model
SRC = resolve_embedder(None)[1]
FP32 = str(exported_model(SRC, False))
OUT = os.environ.get("OUT", "/tmp/speed")
tok = Tokenizer.from_file(SRC + "/tokenizer.json"); tok.no_padding(); tok.enable_truncation(128)

def feeds_for(texts):
    encs = tok.encode_batch(texts)
    w = max(len(e.ids) for e in encs)
    ids = np.zeros((len(texts), w), np.int64); m = np.zeros_like(ids)
    for r, e in enumerate(encs):
        ids[r, :len(e.ids)] = e.ids; m[r, :len(e.ids)] = 1
    return {"input_ids": ids, "attention_mask": m, "token_type_ids": np.zeros_like(ids)}

def texts_of(name, k, seed=0):
    ex = [e for e in load_examples(set_paths(name)) if e.ok]
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(ex), size=min(k, len(ex)), replace=False)
    return [t for r in rows for t in (ex[r].prompt, ex[r].response)]

class Reader(CalibrationDataReader):
    def __init__(self, texts, bs=16):
        texts = sorted(texts, key=len)
        self.batches = [feeds_for(texts[i:i+bs]) for i in range(0, len(texts), bs)]
        self.it = iter(self.batches)
    def get_next(self):
        return next(self.it, None)

def session(path):
    o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
    o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])

from tuneahead_lint.features.embed.embedder import length_batches, _mean_pool_normalise
def encode(sess, texts):
    encs = tok.encode_batch(texts); L = np.array([len(e.ids) for e in encs])
    out = np.zeros((len(texts), 384), np.float32)
    for idx in length_batches(L, 1024):
        w = int(L[idx].max()); ids = np.zeros((len(idx), w), np.int64); m = np.zeros_like(ids)
        for r, j in enumerate(idx):
            ids[r, :L[j]] = encs[j].ids; m[r, :L[j]] = 1
        h = sess.run(None, {"input_ids": ids, "attention_mask": m, "token_type_ids": np.zeros_like(ids)})[0]
        out[idx] = _mean_pool_normalise(h, m)
    return out, int(L.sum())

if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "build":
        calib = []
        for name in sys.argv[3:]:
            calib += texts_of(name, 32, seed=123)
        method = {"minmax": CalibrationMethod.MinMax, "pct": CalibrationMethod.Percentile, "ent": CalibrationMethod.Entropy}[sys.argv[2].split(":")[0]]
        ops = ["MatMul"]
        sel = sys.argv[2].split(":")[1] if ":" in sys.argv[2] else "all"
        import onnx
        g = onnx.load(f"{OUT}/minilm_pre.onnx").graph
        inits = {i.name for i in g.initializer}
        nodes = [n.name for n in g.node if n.op_type == "MatMul" and n.input[1] in inits]
        if sel == "noout":
            nodes = [n for n in nodes if "/output/dense" not in n or "attention" in n]
        if sel == "all":
            nodes = None
        out = f"{OUT}/minilm_{sys.argv[2].replace(':','_').replace(',','-')}.onnx"
        from onnxruntime.quantization.shape_inference import quant_pre_process
        pre = f"{OUT}/minilm_pre.onnx"
        if not os.path.exists(pre):
            quant_pre_process(FP32, pre, skip_symbolic_shape=True)
        t = time.time()
        quantize_static(pre, out, Reader(calib), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=ops, nodes_to_quantize=nodes, calibrate_method=method,
                        extra_options={"CalibPercentile": 99.999} if method == CalibrationMethod.Percentile else {})
        print("built", out, len(calib), "texts", round(time.time() - t, 1), "s")
    elif mode == "dyn":
        quantize_dynamic(FP32, f"{OUT}/minilm_dyn.onnx", weight_type=QuantType.QUInt8, per_channel=True)
    else:
        names = sys.argv[3:]
        ref = session(FP32); q = session(sys.argv[2])
        for name in names:
            texts = texts_of(name, 300, seed=7)
            t0 = time.process_time(); a, ntok = encode(ref, texts); t1 = time.process_time(); b, _ = encode(q, texts); t2 = time.process_time()
            cos = np.einsum("ij,ij->i", a, b)
            # pairwise cosine change among records
            ra = a[0::2] + a[1::2]; ra /= np.linalg.norm(ra, axis=1, keepdims=True)
            rb = b[0::2] + b[1::2]; rb /= np.linalg.norm(rb, axis=1, keepdims=True)
            pa, pb = ra @ ra.T, rb @ rb.T
            iu = np.triu_indices(len(ra), 1)
            d = np.abs(pa[iu] - pb[iu])
            print(json.dumps({"set": name, "texts": len(texts), "tokens": ntok, "cpu_fp32": round(t1-t0,2), "cpu_q": round(t2-t1,2),
                              "speedup": round((t1-t0)/(t2-t1),2), "cos_mean": round(float(cos.mean()),4), "cos_min": round(float(cos.min()),4),
                              "pair_absdiff_mean": round(float(d.mean()),4), "pair_absdiff_p99": round(float(np.quantile(d,0.99)),4), "pair_absdiff_max": round(float(d.max()),4)}), flush=True)
