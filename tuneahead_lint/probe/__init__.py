"""The probe: dynamic features from a short LoRA run of the base model on the
data, plus base-model contrast features (forward passes only).

``run_probe(examples, ProbeConfig(...))`` (:mod:`.run`; records in
:mod:`.types`) runs, in order: contrast margins of
the base model (:mod:`.contrast`), general-slice NLL before (:mod:`.forgetting`),
a fixed-budget LoRA run (:mod:`.lora`), flatness and general-slice NLL after.
Features are defined in :mod:`.features` (``PROBE_FEATURES``,
``CONTRAST_FEATURES``). Results are cached by data hash, model,
hyperparameters, budget and :data:`PROBE_VERSION`.

Reproducibility: on CPU the same input and seed give bit-identical features
(same machine, same torch thread count). On CUDA the base model runs in
bfloat16 and backward kernels use atomics, so features agree only to a
tolerance: expect about 1e-2 relative on losses and gradient norms and the
noise floor of bf16 (about 1e-3 nats) on the small differences (flatness,
forgetting, margins); not yet measured on a GPU.
"""

from __future__ import annotations

from tuneahead_lint.probe.features import CONTRAST_FEATURES, PROBE_FEATURES
from tuneahead_lint.probe.lora import ProbeError
from tuneahead_lint.probe.run import run_contrast, run_probe
from tuneahead_lint.probe.types import (CPU_DEFAULT_STEPS, GPU_DEFAULT_STEPS, PROBE_VERSION, ProbeConfig,
                                        ProbeResult)

__all__ = ["CONTRAST_FEATURES", "CPU_DEFAULT_STEPS", "GPU_DEFAULT_STEPS", "PROBE_FEATURES",
           "PROBE_VERSION", "ProbeConfig", "ProbeError", "ProbeResult", "run_contrast",
           "run_probe"]
