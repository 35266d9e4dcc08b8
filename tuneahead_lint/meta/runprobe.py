"""The probe's dynamic features read from the run itself.

A meta run with at least ``probe_steps`` optimizer steps trains, in its first
``probe_steps`` steps, exactly what the probe would train: the same records
in the same seeded order (``batch_plan`` prefixes agree), the same
hyperparameters (the runner hands the run's to the probe), the same loop
(``probe.lora.train``). So instead of a second LoRA run, the features come
from the run's trace: at step ``probe_steps`` an ``on_step`` hook measures
what the probe measures after its last step (LoRA parameter change,
flatness, general-slice NLL), and the trace is cut there. Contrast features
and the general-slice NLL before training are base-model forward passes,
computed as the probe computes them, on the worker's model with the
adapters switched off (no second copy of the model; the slice NLL once per
worker).

The one difference from a separate probe: the LoRA init comes from the
worker's seeded reset (``runner.reset_lora``), not from a fresh ``attach``;
both are ``kaiming_uniform(A), zeros(B)`` draws from the run's seed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuneahead_lint.types import Example


@dataclass
class RunProbe:
    cfg: Any  # resolved ProbeConfig
    conf: dict
    recs: list[Example]
    model: Any
    tok: Any
    start_vec: Any
    flat: tuple[float, float, float] | None = None
    after: float = math.nan
    change: float = math.nan
    hook_s: float = 0.0
    pairs: Any = None  # contrast pairs scored elsewhere (a group scores its runs' together)

    @classmethod
    def start(cls, cfg, conf: dict, examples: Sequence[Example], total_steps: int, model, tok) -> RunProbe | None:
        """A probe (``cfg``: its ProbeConfig, built from ``conf``) to read from a
        run of ``total_steps`` steps, or None when the run is shorter."""
        from tuneahead_lint.probe.data import usable
        from tuneahead_lint.probe.lora import flat, lora_params

        recs = usable(examples)
        cfg = cfg.resolved()
        if not recs or total_steps < cfg.steps:
            return None
        return cls(cfg, dict(conf, source="run"), recs, model, tok, flat(lora_params(model)))

    def on_step(self, step: int, _loss: float) -> None:
        """At the probe's last step: what the probe measures after training."""
        from tuneahead_lint.probe.run import flatness_triple, general_nll
        from tuneahead_lint.probe.lora import flat, lora_params
        from tuneahead_lint.probe.progress import Stages

        if step != self.cfg.steps:
            return
        t0 = time.perf_counter()
        self.change = float((flat(lora_params(self.model)) - self.start_vec).norm())
        self.flat = flatness_triple(self.model, self.tok, self.recs, self.cfg, Stages(False))
        self.after = general_nll(self.model, self.tok, self.cfg)
        self.model.train()
        self.hook_s += time.perf_counter() - t0

    def finish(self, trace) -> tuple[str, str, list[tuple[str, float | None]], float, dict, str]:
        """The ``probe`` feature set, as ``runner.compute_feature_set`` returns it."""
        t0 = time.perf_counter()
        try:
            values = self._values(trace)
        except Exception as exc:  # noqa: BLE001 - a feature failure must not lose the run
            return ("probe", "error", [], self._seconds(trace, t0), self.conf, f"{type(exc).__name__}: {exc}")
        return ("probe", "ok", values, self._seconds(trace, t0), self.conf, "")

    def _seconds(self, trace, t0: float) -> float:
        """Probe steps of the run + the hook + contrast and the base slice NLL."""
        return sum(trace.step_s[: self.cfg.steps]) + self.hook_s + time.perf_counter() - t0

    def _values(self, trace) -> list[tuple[str, float | None]]:
        from tuneahead_lint.probe.data import batch_plan
        from tuneahead_lint.probe.features import RunRecord, probe_values

        if self.flat is None:
            raise RuntimeError(f"the run stopped before probe step {self.cfg.steps}")
        n = self.cfg.steps
        cut = replace(trace, losses=trace.losses[:n], grad_norms=trace.grad_norms[:n],
                      grad_cosines=trace.grad_cosines[: n - 1], grad_sparsity=trace.grad_sparsity[: n - 1],
                      act_sparsity=trace.act_sparsity[:n], step_s=trace.step_s[:n],
                      param_change_norm=self.change)
        plan = batch_plan(len(self.recs), n, self.cfg.batch_size, self.cfg.seed)
        refs = tuple(tuple((self.recs[i].path, self.recs[i].line) for i in b) for b in plan)
        with self.model.disable_adapter():
            before = self._base_slice_nll()
            contrast = self._contrast()
        run = RunRecord(cut, refs, self.flat, (before, self.after))
        out = list(probe_values(run)) + list(contrast)
        return [(name, _num(m)) for name, m in out]

    def _base_slice_nll(self) -> float:
        """The base model's general-slice NLL (the probe's "before"), once per worker."""
        from tuneahead_lint.probe.run import general_key, general_nll

        key = general_key(self.cfg)
        if key not in _BASE_SLICE:
            _BASE_SLICE[key] = general_nll(self.model, self.tok, self.cfg)
        return _BASE_SLICE[key]

    def _contrast(self):
        """``run_contrast`` on this model (adapters off: the base model)."""
        from tuneahead_lint.probe.contrast import score_pairs
        from tuneahead_lint.probe.features import contrast_values

        c = self.cfg
        if self.pairs is not None:
            return contrast_values(self.pairs)
        return contrast_values(score_pairs(self.model, self.tok, self.recs, c.contrast_pairs, c.max_len, c.seed,
                                           c.device))


_BASE_SLICE: dict = {}  # ProbeConfig (general key) -> base general-slice NLL, per worker process


def _num(m: Any) -> float | None:
    v = float(getattr(m, "value", m))
    return v if math.isfinite(v) else None
