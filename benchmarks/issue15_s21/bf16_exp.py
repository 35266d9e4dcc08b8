import sys, time, json, os
import numpy as np
import torch
torch.set_num_threads(1)
sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
import q_exp
from transformers import AutoModel
from tuneahead_lint.features.embed.embedder import length_batches
m32 = AutoModel.from_pretrained(q_exp.SRC).eval()
mbf = AutoModel.from_pretrained(q_exp.SRC, dtype=torch.bfloat16).eval()
def enc(model, texts, bt=1024):
    encs = q_exp.tok.encode_batch(texts); L = np.array([len(e.ids) for e in encs])
    out = np.zeros((len(texts), 384), np.float32)
    with torch.inference_mode():
        for idx in length_batches(L, bt):
            w = int(L[idx].max()); ids = torch.zeros((len(idx), w), dtype=torch.long); m = torch.zeros_like(ids)
            for r, j in enumerate(idx):
                ids[r, :L[j]] = torch.tensor(encs[j].ids); m[r, :L[j]] = 1
            h = model(input_ids=ids, attention_mask=m, token_type_ids=torch.zeros_like(ids)).last_hidden_state.float()
            s = (h * m[..., None]).sum(1) / m.sum(1, keepdim=True)
            out[idx] = torch.nn.functional.normalize(s, dim=1).numpy()
    return out
sess = q_exp.session(q_exp.FP32)
for name in sys.argv[1:]:
    texts = q_exp.texts_of(name, 300, seed=7)
    t0 = time.process_time(); a, _ = q_exp.encode(sess, texts); t1 = time.process_time()
    b = enc(mbf, texts); t2 = time.process_time()
    c = enc(m32, texts); t3 = time.process_time()
    cos = np.einsum("ij,ij->i", a, b)
    ra = a[0::2] + a[1::2]; ra /= np.linalg.norm(ra, axis=1, keepdims=True)
    rb = b[0::2] + b[1::2]; rb /= np.linalg.norm(rb, axis=1, keepdims=True)
    iu = np.triu_indices(len(ra), 1); d = np.abs((ra @ ra.T)[iu] - (rb @ rb.T)[iu])
    print(json.dumps({"set": name, "ort_fp32": round(t1-t0,2), "torch_bf16": round(t2-t1,2), "torch_fp32": round(t3-t2,2), "cos_mean": round(float(cos.mean()),5), "cos_min": round(float(cos.min()),5), "pair_absdiff_mean": round(float(d.mean()),5), "p99": round(float(np.quantile(d,.99)),5), "max": round(float(d.max()),5)}), flush=True)
