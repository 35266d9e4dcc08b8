"""Multiple-choice benchmark suite scored by log-likelihood (cloze style).

Each benchmark item becomes one :class:`MCItem`: a context per choice (shared
for most benchmarks, one per option for WinoGrande's partial scoring) and a
continuation per choice. A choice's score is the summed log-probability of its
continuation tokens given its context; ``acc`` picks the highest sum,
``acc_norm`` the highest sum per UTF-8 byte of the continuation (lm-eval-harness
definitions).

Files are read from an ``eval_dir`` laid out like ``../shared/data/eval`` (see
its MANIFEST; every file is from mosaicml/llm-foundry @ 8c8dd48f, hendrycks/test
@ 785eba57 or sylinrl/TruthfulQA). A compact slice with the same layout ships
inside the package (``meta/evaldata``) for users without the full files.

Items are ordered by a content hash, not by file position, so "the first N
items" of a benchmark are the same whether they come from the full file or
from the shipped slice.

Scoring never builds ``[batch, seq, vocab]`` logits: the decoder's hidden
states are gathered at the positions that predict continuation tokens, and
only those rows go through the output head and ``log_softmax``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class MCItem:
    """One multiple-choice question, ready to score.

    ``contexts`` has one entry (shared by every choice) or one per choice;
    ``continuations`` one per choice; ``gold`` indexes them."""

    benchmark: str
    key: str
    contexts: tuple[str, ...]
    continuations: tuple[str, ...]
    gold: int

    def context(self, i: int) -> str:
        return self.contexts[0] if len(self.contexts) == 1 else self.contexts[i]


Parsed = tuple[tuple[str, ...], tuple[str, ...], int]  # (contexts, continuations, gold)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A benchmark: where its file is (relative to ``eval_dir``), its container
    (``jsonl``: one record a line; ``json``: one JSON array; ``mmlu``: a
    folder of headerless per-subject CSVs), how one record becomes an item,
    and which metric is its score."""

    name: str
    path: str
    container: str
    parse: Callable[[Any], Parsed]
    metric: str  # "acc" or "acc_norm": the one reported as the benchmark's score
    chance: float


def _query_choices(rec: dict) -> Parsed:
    """llm-foundry ``{query, choices, gold}``: cloze ``query + "\\nAnswer:"``,
    continuation ``" " + choice`` (ARC, PIQA, BoolQ)."""
    ctx = rec["query"].rstrip() + "\nAnswer:"
    return (ctx,), tuple(" " + str(c).strip() for c in rec["choices"]), int(rec["gold"])


def _lettered(rec: dict) -> Parsed:
    """llm-foundry CommonsenseQA/SIQA: options written in ``query`` (which ends
    with ``Answer:``), continuation is the letter."""
    return (rec["query"].rstrip(),), tuple(" " + c for c in rec["choices"]), int(rec["gold"])


def _winogrande(rec: dict) -> Parsed:
    """Partial scoring: each option's context, one shared continuation."""
    cont = " " + rec["continuation"].strip()
    opts = tuple(c.rstrip() for c in rec["context_options"])
    return opts, (cont,) * len(opts), int(rec["gold"])


def _mmlu(row: tuple[str, list[str]]) -> Parsed:
    """hendrycks/test row (question, A-D, letter) of a subject, cloze format:
    the answer *text* is the continuation, not the letter."""
    subject, cells = row
    ctx = (f"The following is a question about {subject}.\n"
           f"Question: {cells[0].strip()}\nAnswer:")
    return (ctx,), tuple(" " + c.strip() for c in cells[1:5]), "ABCD".index(cells[5].strip())


def _truthfulqa_mc1(rec: dict) -> Parsed:
    """TruthfulQA MC1 (one true answer among several), zero-shot ``Q:/A:``."""
    answers = list(rec["mc1_targets"].items())
    gold = next(i for i, (_, v) in enumerate(answers) if v == 1)
    return (f"Q: {rec['question'].strip()}\nA:",), tuple(" " + a for a, _ in answers), gold


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (
    Benchmark("arc_easy", "arc_easy/arc_easy.jsonl", "jsonl", _query_choices, "acc", 0.25),
    Benchmark("arc_challenge", "arc_challenge/arc_challenge.jsonl", "jsonl", _query_choices, "acc", 0.25),
    Benchmark("piqa", "piqa/piqa.jsonl", "jsonl", _query_choices, "acc", 0.5),
    Benchmark("boolq", "boolq/boolq.jsonl", "jsonl", _query_choices, "acc", 0.5),
    Benchmark("winogrande", "winogrande/winogrande.jsonl", "jsonl", _winogrande, "acc", 0.5),
    Benchmark("mmlu", "mmlu/test", "mmlu", _mmlu, "acc", 0.25),
    Benchmark("truthfulqa_mc1", "truthfulqa/mc_task.json", "json", _truthfulqa_mc1, "acc", 0.0),
    Benchmark("commonsense_qa", "commonsense_qa/commonsense_qa.jsonl", "jsonl", _lettered, "acc", 0.25),
    Benchmark("siqa", "siqa/siqa.jsonl", "jsonl", _lettered, "acc", 0.5),
)}


def raw_records(bench: Benchmark, path: Path) -> Iterator[tuple[str, Any, Any]]:
    """(file name relative to the benchmark path, raw text, parser input) of every record."""
    if bench.container == "jsonl":
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    yield "", line, json.loads(line)
    elif bench.container == "json":
        for rec in json.loads(path.read_text(encoding="utf-8")):
            yield "", rec, rec
    else:
        for csv_path in sorted(path.glob("*_test.csv")):
            subject = csv_path.name[: -len("_test.csv")].replace("_", " ")
            with csv_path.open(encoding="utf-8", newline="") as fh:
                for cells in csv.reader(fh):
                    if len(cells) == 6 and cells[5].strip() in ("A", "B", "C", "D"):
                        yield csv_path.name, cells, (subject, cells)


class EvalError(RuntimeError):
    """An evaluation file is missing or unreadable (exit code 2)."""


def shipped_eval_dir() -> Path:
    """The compact slice shipped with the package (see evaldata/CREDITS.md)."""
    return Path(__file__).with_name("evaldata")


def default_eval_dir() -> Path:
    """``$TUNEAHEAD_EVAL_DIR``, else ``../shared/data/eval`` when present, else
    the shipped slice."""
    env = os.environ.get("TUNEAHEAD_EVAL_DIR")
    if env:
        return Path(env)
    for cand in (Path("../shared/data/eval"), Path(__file__).resolve().parents[3] / "shared/data/eval"):
        if cand.is_dir():
            return cand.resolve()
    return shipped_eval_dir()


def item_key(benchmark: str, contexts: Sequence[str], continuations: Sequence[str], gold: int) -> str:
    """Content hash of an item: stable across files that hold it."""
    blob = json.dumps([benchmark, list(contexts), list(continuations), gold], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def load_benchmark(name: str, eval_dir: str | Path, n_items: int | None = None) -> list[MCItem]:
    """The first ``n_items`` items of ``name`` in content-hash order (all if
    None or if the file has fewer: ``n_items`` is a cap, the count actually
    scored is stored with every score).

    :raises EvalError: unknown benchmark or missing file."""
    bench = BENCHMARKS.get(name)
    if bench is None:
        raise EvalError(f"unknown benchmark {name!r} (known: {', '.join(BENCHMARKS)})")
    path = Path(eval_dir) / bench.path
    if not path.exists():
        raise EvalError(f"{path}: benchmark file not found (--eval-dir {eval_dir})")
    items = {}
    for _, _, rec in raw_records(bench, path):
        ctxs, conts, gold = bench.parse(rec)
        key = item_key(name, ctxs, conts, gold)
        items.setdefault(key, MCItem(name, key, ctxs, conts, gold))
    ordered = [items[k] for k in sorted(items)]
    return ordered if n_items is None else ordered[:n_items]


def suite_hash(items_by_bench: dict[str, list[MCItem]]) -> str:
    """Hash of exactly which items are scored (goes into every row)."""
    h = hashlib.sha256()
    for name in sorted(items_by_bench):
        h.update(name.encode())
        for it in items_by_bench[name]:
            h.update(it.key.encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class _Request:
    item: int
    choice: int
    ctx: tuple[int, ...]
    cont: tuple[int, ...]


def _requests(tokenizer, items: Sequence[MCItem], max_len: int) -> list[_Request]:
    """Token ids of every (item, choice); contexts cut on the left to fit."""
    cache: dict[str, list[int]] = {}

    def enc(text: str) -> list[int]:
        if text not in cache:
            cache[text] = tokenizer(text, add_special_tokens=False)["input_ids"]
        return cache[text]

    bos = [tokenizer.bos_token_id] if getattr(tokenizer, "add_bos_token", False) and tokenizer.bos_token_id is not None else []
    out = []
    for i, it in enumerate(items):
        for j, cont in enumerate(it.continuations):
            c = enc(cont)[: max_len - 1]
            ctx = (bos + enc(it.context(j)))[-(max_len - len(c)):]
            out.append(_Request(i, j, tuple(ctx), tuple(c)))
    return out


def _batches(reqs: Sequence[_Request], batch_tokens: int, max_batch: int) -> Iterator[list[_Request]]:
    """Longest first, as many as fit ``batch_tokens`` (padded width x rows)."""
    order = sorted(reqs, key=lambda r: -(len(r.ctx) + len(r.cont)))
    batch: list[_Request] = []
    for r in order:
        width = len(batch[0].ctx) + len(batch[0].cont) if batch else len(r.ctx) + len(r.cont)
        if batch and (width * (len(batch) + 1) > batch_tokens or len(batch) >= max_batch):
            yield batch
            batch = []
        batch.append(r)
    if batch:
        yield batch


def body_and_head(model):
    """(decoder returning hidden states, output projection) of a causal LM,
    peft-wrapped or not."""
    lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    body = lm.get_decoder() if hasattr(lm, "get_decoder") else None
    if body is None or body is lm:
        body = getattr(lm, "model", None) or getattr(lm, "transformer", None)
    head = lm.get_output_embeddings()
    if body is None or head is None:
        raise EvalError(f"cannot find decoder and output head of {type(lm).__name__}")
    return lm, body, head


def continuation_logprobs(model, tokenizer, items: Sequence[MCItem], device: str,
                          max_len: int = 512, batch_tokens: int = 8192, max_batch: int = 64,
                          head_rows: int = 2048, share_prefix: bool | None = None) -> list[list[float]]:
    """Summed log-probability of each item's continuations: ``out[i][j]``.

    Only the hidden states that predict continuation tokens reach the output
    head, ``head_rows`` rows at a time: peak memory is ``head_rows x vocab``
    floats, whatever the batch.

    ``share_prefix`` (default on) runs each item's shared context once and
    its choices against the cached keys/values, many items per forward
    (2-3x fewer tokens for ARC, MMLU, BoolQ); off, every (context, choice) is
    one row of a padded batch. Both batch by length under ``batch_tokens``."""
    return fanned_logprobs(model, tokenizer, items, device, None, max_len, batch_tokens, max_batch, head_rows,
                           share_prefix)[0]


def fanned_logprobs(model, tokenizer, items: Sequence[MCItem], device: str, fan=None, max_len: int = 512,
                    batch_tokens: int = 8192, max_batch: int = 64, head_rows: int = 2048,
                    share_prefix: bool | None = None) -> list[list[list[float]]]:
    """:func:`continuation_logprobs` of several adapters at once: ``fan``
    (``meta.multilora.Fan``) repeats every batch once per adapter slot
    (``batch_tokens`` is the fanned batch's budget); ``out[s][i][j]`` is slot
    ``fan.slots[s]``'s. Without ``fan``: one output, the model as it is."""
    import torch

    lm, body, head = body_and_head(model)
    softcap = getattr(lm.config, "final_logit_softcapping", None)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    reqs = _requests(tokenizer, items, max_len)
    k = fan.k if fan is not None else 1
    outs = [[[0.0] * len(it.continuations) for it in items] for _ in range(k)]
    budget = max(1, batch_tokens // k)
    scorer = _Scorer(body, head, softcap, device, pad, fan, head_rows)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        if share_prefix is None or share_prefix:
            reqs = _prefix_scores(scorer, reqs, outs, budget)
        for batch in _batches(reqs, budget, max_batch):
            _score_rows(scorer, batch, outs)
    model.train(was_training)
    return outs


@dataclass(frozen=True)
class _Scorer:
    """What every scoring forward needs: the decoder, the head, and the fan-out."""

    body: Any
    head: Any
    softcap: Any
    device: str
    pad: int
    fan: Any
    head_rows: int

    @property
    def k(self) -> int:
        return self.fan.k if self.fan is not None else 1

    def rep(self, t):
        """``t`` repeated once per slot along the batch (and the layout set for it)."""
        if self.fan is None:
            return t
        return t.repeat(self.k, *([1] * (t.dim() - 1)))

    def rows(self, n: int) -> None:
        if self.fan is not None:
            self.fan.rows(n)

    def logprobs(self, hidden, targets):
        import torch

        return torch.cat([token_logprobs(self.head, hidden[i:i + self.head_rows], targets[i:i + self.head_rows],
                                         self.softcap) for i in range(0, len(targets), self.head_rows)]).cpu()


def _score_rows(sc: _Scorer, batch: Sequence[_Request], outs) -> None:
    """One padded batch of (context, choice) rows, every slot."""
    import torch

    width = max(len(r.ctx) + len(r.cont) for r in batch)
    ids = torch.full((len(batch), width), sc.pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    rows, cols, targets = [], [], []
    for b, r in enumerate(batch):
        seq = r.ctx + r.cont
        ids[b, : len(seq)] = torch.tensor(seq)
        mask[b, : len(seq)] = 1
        start = len(r.ctx)
        rows += [b] * len(r.cont)
        cols += list(range(start - 1, start - 1 + len(r.cont)))
        targets += list(r.cont)
    sc.rows(len(batch))
    hidden = sc.body(input_ids=sc.rep(ids).to(sc.device), attention_mask=sc.rep(mask).to(sc.device)).last_hidden_state
    rows_t, cols_t = torch.tensor(rows, device=sc.device), torch.tensor(cols, device=sc.device)
    picked = torch.cat([hidden[rows_t + s * len(batch), cols_t] for s in range(sc.k)])
    lp = sc.logprobs(picked, torch.tensor(targets * sc.k, device=sc.device))
    _fill(outs, batch, lp, len(targets))


def _fill(outs, batch: Sequence[_Request], lp, per_slot: int) -> None:
    """Sum each request's token log-probs into every slot's output."""
    for s, out in enumerate(outs):
        k = s * per_slot
        for r in batch:
            out[r.item][r.choice] = float(lp[k:k + len(r.cont)].sum())
            k += len(r.cont)


def _prefix_scores(sc: _Scorer, reqs: Sequence[_Request], outs, batch_tokens: int = 8192) -> list[_Request]:
    """Shared-context scoring, batched across items: one padded forward of
    the contexts of many items (each once), then every choice of those items
    (minus its last token) as one batch over their key/value caches, each
    row reading its own item's cache (``reorder_cache`` repeats it) at its
    own positions. Fills ``outs`` in place and returns the requests whose
    context is not shared (for the unshared path)."""
    import inspect

    groups: dict[tuple[int, tuple[int, ...]], list[_Request]] = {}
    for r in reqs:
        groups.setdefault((r.item, r.ctx), []).append(r)
    cache_kw = "cache" if "cache" in inspect.signature(sc.body.forward).parameters else "past_key_values"
    # Sharing pays when the context outweighs the choices (ARC, MMLU, BoolQ),
    # not for long choices after a short question (PIQA) or unshared contexts.
    shared = [(k[1], g) for k, g in groups.items()
              if len(g) > 1 and len(k[1]) * len(g) >= sum(len(r.cont) for r in g)]
    keys = {(g[0].item, ctx) for ctx, g in shared}
    alone = [r for k, g in groups.items() if k not in keys for r in g]
    shared.sort(key=lambda t: -len(t[0]))
    for chunk in _prefix_chunks(shared, batch_tokens):
        _score_prefix_chunk(sc, chunk, outs, cache_kw)
    return alone


def _prefix_chunks(shared: list, batch_tokens: int) -> Iterator[list]:
    """Groups (longest context first) while contexts plus choice rows over
    the repeated caches fit ``batch_tokens``."""
    chunk: list = []
    for ctx, group in shared:
        width = len(chunk[0][0]) if chunk else len(ctx)
        rows = sum(len(g) for _, g in chunk) + len(group)
        longest = max([len(r.cont) for _, g in chunk for r in g] + [len(r.cont) for r in group])
        if chunk and (len(chunk) + 1) * width + rows * (width + longest) > batch_tokens:
            yield chunk
            chunk = []
        chunk.append((ctx, group))
    if chunk:
        yield chunk


def _score_prefix_chunk(sc: _Scorer, chunk: list, outs, cache_kw: str) -> None:
    import torch

    width = max(len(ctx) for ctx, _ in chunk)
    ids = torch.full((len(chunk), width), sc.pad, dtype=torch.long)
    mask = torch.zeros((len(chunk), width), dtype=torch.long)
    for b, (ctx, _) in enumerate(chunk):
        ids[b, : len(ctx)] = torch.tensor(ctx)
        mask[b, : len(ctx)] = 1
    sc.rows(len(chunk))
    first = sc.body(input_ids=sc.rep(ids).to(sc.device), attention_mask=sc.rep(mask).to(sc.device), use_cache=True)
    ends = torch.tensor([len(c) - 1 for c, _ in chunk])
    rows = [(b, r) for b, (_, g) in enumerate(chunk) for r in g]
    longest = max(len(r.cont) for _, r in rows) - 1
    rest = None
    if longest > 0:
        past = getattr(first, "cache", None) or first.past_key_values
        past.reorder_cache(torch.tensor([s * len(chunk) + b for s in range(sc.k) for b, _ in rows],
                                        device=sc.device))
        ids2 = torch.full((len(rows), longest), sc.pad, dtype=torch.long)
        mask2 = torch.zeros((len(rows), width + longest), dtype=torch.long)
        pos = torch.zeros((len(rows), longest), dtype=torch.long)
        for k, (b, r) in enumerate(rows):
            n_ctx = len(chunk[b][0])
            ids2[k, : len(r.cont) - 1] = torch.tensor(r.cont[:-1])
            mask2[k, :n_ctx] = 1
            mask2[k, width: width + len(r.cont) - 1] = 1
            pos[k] = torch.arange(n_ctx, n_ctx + longest)
        sc.rows(len(rows))
        rest = sc.body(input_ids=sc.rep(ids2).to(sc.device), attention_mask=sc.rep(mask2).to(sc.device),
                       position_ids=sc.rep(pos).to(sc.device), **{cache_kw: past}).last_hidden_state
    hidden = []
    for s in range(sc.k):
        last = first.last_hidden_state[torch.arange(len(chunk)) + s * len(chunk), ends]
        hidden += [torch.cat([last[b][None], rest[s * len(rows) + k, : len(r.cont) - 1]]) if rest is not None
                   else last[b][None] for k, (b, r) in enumerate(rows)]
    tgt = [t for _, r in rows for t in r.cont]
    lp = sc.logprobs(torch.cat(hidden), torch.tensor(tgt * sc.k, device=sc.device))
    _fill(outs, [r for _, r in rows], lp, len(tgt))


def token_logprobs(head, hidden, targets, softcap):
    import torch

    logits = head(hidden).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).squeeze(1)


def _argmax(xs: Sequence[float]) -> int:
    """Index of the largest value; -1 when every value is -inf."""
    best = max(range(len(xs)), key=xs.__getitem__)
    return -1 if xs[best] == -math.inf else best


@dataclass(frozen=True, slots=True)
class BenchScore:
    """Accuracy of one benchmark: ``acc``, ``acc_norm``, the benchmark's own
    ``score`` (its declared metric), the number of items, the per-item
    correctness under ``score`` (for paired comparisons), and ``margin``: the
    mean over items of the gold choice's log-likelihood minus the best other
    choice's, under the same metric (continuous: it moves before accuracy
    flips; NaN when a log-likelihood is not finite)."""

    benchmark: str
    acc: float
    acc_norm: float
    score: float
    n: int
    correct: tuple[int, ...]
    margin: float = math.nan


def accuracy(items: Sequence[MCItem], logprobs: Sequence[Sequence[float]]) -> BenchScore:
    """Accuracies of one benchmark's items from their continuation log-probs."""
    name = items[0].benchmark
    primary = BENCHMARKS[name].metric
    hits, hits_norm, margins = [], [], []
    for it, lps in zip(items, logprobs):
        # A non-finite log-prob (a diverged model) never wins: an item whose
        # choices are all NaN counts as wrong.
        lps = [lp if math.isfinite(lp) else -math.inf for lp in lps]
        norm = [lp / max(1, len(c.encode("utf-8"))) for lp, c in zip(lps, it.continuations)]
        hits.append(int(_argmax(lps) == it.gold))
        hits_norm.append(int(_argmax(norm) == it.gold))
        margins.append(item_margin(lps if primary == "acc" else norm, it.gold))
    n = len(items)
    acc, acc_norm = sum(hits) / n, sum(hits_norm) / n
    margin = sum(margins) / n if all(math.isfinite(m) for m in margins) else math.nan
    return BenchScore(name, acc, acc_norm, acc if primary == "acc" else acc_norm, n,
                      tuple(hits if primary == "acc" else hits_norm), margin)


def item_margin(scores: Sequence[float], gold: int) -> float:
    """Gold choice's score minus the best other choice's (> 0: answered
    right); NaN when a score is not finite or there is no other choice."""
    others = [s for j, s in enumerate(scores) if j != gold]
    if not others or not all(math.isfinite(s) for s in scores):
        return math.nan
    return scores[gold] - max(others)


def evaluate(model, tokenizer, suite: dict[str, list[MCItem]], device: str,
             batch_tokens: int = 8192, max_batch: int = 64) -> dict[str, BenchScore]:
    """Score every benchmark of ``suite`` (name -> items)."""
    return {name: accuracy(items, continuation_logprobs(model, tokenizer, items, device,
                                                        batch_tokens=batch_tokens, max_batch=max_batch))
            for name, items in suite.items() if items}


def evaluate_fanned(model, tokenizer, suite: dict[str, list[MCItem]], device: str, fan,
                    batch_tokens: int = 8192, max_batch: int = 64) -> list[dict[str, BenchScore]]:
    """:func:`evaluate` for each slot of ``fan`` (``meta.multilora.Fan``) in
    the same forwards; one result per slot, in ``fan.slots`` order."""
    per_bench = {name: fanned_logprobs(model, tokenizer, items, device, fan, batch_tokens=batch_tokens,
                                       max_batch=max_batch)
                 for name, items in suite.items() if items}
    return [{name: accuracy(suite[name], outs[s]) for name, outs in per_bench.items()} for s in range(fan.k)]


def write_slice(src_dir: str | Path, out_dir: str | Path, n_items: int,
                benchmarks: Sequence[str] | None = None) -> dict[str, int]:
    """Copy the first ``n_items`` items (content-hash order) of each benchmark
    from ``src_dir`` to ``out_dir``, same layout, so that ``load_benchmark``
    on the slice returns exactly the first items of the full file. JSONL
    lines are copied byte for byte (in file order); MMLU rows are rewritten
    with Python's csv writer, TruthfulQA as a JSON array (same content).
    Returns items written per benchmark."""
    written = {}
    for name in benchmarks or BENCHMARKS:
        bench = BENCHMARKS[name]
        keep = {it.key for it in load_benchmark(name, src_dir, n_items)}
        src, dst = Path(src_dir) / bench.path, Path(out_dir) / bench.path
        chosen: dict[str, list] = {}
        seen: set[str] = set()
        for fname, raw, rec in raw_records(bench, src):
            key = item_key(name, *bench.parse(rec))
            if key in keep and key not in seen:
                seen.add(key)
                chosen.setdefault(fname, []).append(raw)
        if bench.container == "jsonl":
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text("".join(chosen.get("", [])), encoding="utf-8")
        elif bench.container == "json":
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(json.dumps(chosen.get("", []), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        else:
            dst.mkdir(parents=True, exist_ok=True)
            for fname, rows in chosen.items():
                with (dst / fname).open("w", encoding="utf-8", newline="") as fh:
                    csv.writer(fh).writerows(rows)
        written[name] = len(seen)
    return written
