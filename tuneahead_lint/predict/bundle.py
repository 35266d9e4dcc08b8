"""A predictor bundle: the models the lint predicts with, one folder.

Two layouts, read alike by :func:`open_bundle`:

* single target (the shipped ``models/tuneahead-smollm2-135m``): ``full/``
  (with ``--probe``) and ``static/`` at the top, or one model folder
  (``model.json`` at the top);
* per target (``benchmarks/refit_v2.sh`` writes ``models/<target>/{full,static}``):
  one subfolder per target, named by it, each with ``full/`` and ``static/``; a subfolder
  whose ``model.json`` is a divergence classifier (``y_diverged``, written by
  ``meta fit --target y_diverged``) is the bundle's classifier.

A bundle may hold both; the top-level model then counts as one more target.
The gate (verdict, exit code, TA401) reads one target: ``--gate-target``
(config ``gate-target``), by default the top-level model's target (the
shipped bundle's ``performance``), else ``y_general_acc`` (the same
benchmark-score change in the v2 meta-dataset), else the first by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneahead_lint.errors import UserError
from tuneahead_lint.predict.table import PredictError

DEFAULT_MODEL = "tuneahead-smollm2-135m"
GATE_DEFAULTS = ("y_general_acc",)
CLASSIFIER_KIND = "classifier"


class GateTargetError(UserError):
    """``--gate-target`` names no target of the bundle (exit code 2)."""


@dataclass(frozen=True)
class Bundle:
    """The model folders of one lint: ``targets`` as (target, folder) sorted
    by target, the ``gate`` target's name, the classifier folder or None,
    and whether the bundle has one target only (the report then keeps its
    single-target form)."""

    root: Path
    targets: tuple[tuple[str, Path], ...]
    gate: str
    classifier: Path | None = None
    single: bool = True

    def folder(self, target: str) -> Path:
        return dict(self.targets)[target]


def model_doc(folder: Path) -> dict[str, Any]:
    """``model.json`` of a model folder ({} when unreadable)."""
    try:
        return json.loads((folder / "model.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def variant_folder(folder: Path, probe: bool) -> Path | None:
    """``folder`` itself when it is a model, else its ``full``/``static``
    variant for this run; None when neither exists."""
    if (folder / "model.json").is_file():
        return folder
    sub = folder / ("full" if probe else "static")
    return sub if (sub / "model.json").is_file() else None


def bundle_root(model: str | None) -> Path:
    """``model`` as a path when it exists, else a name under ``models/``."""
    from tuneahead_lint.resources import data_dir

    if model and Path(model).is_dir():
        return Path(model)
    return data_dir("models") / (model or DEFAULT_MODEL)


def _target_of(folder: Path) -> str:
    return str(model_doc(folder).get("target", {}).get("name") or folder.name)


def _subfolders(root: Path, probe: bool) -> tuple[list[tuple[str, Path]], Path | None]:
    """(target, variant folder) of each per-target subfolder, and the classifier's."""
    targets, classifier = [], None
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in ("full", "static", "cv")):
        folder = variant_folder(sub, probe)
        if folder is None:
            continue
        if model_doc(folder).get("kind") == CLASSIFIER_KIND:
            classifier = classifier or folder
        else:
            targets.append((sub.name, folder))
    return targets, classifier


def open_bundle(model: str | None, probe: bool, gate_target: str | None = None) -> Bundle:
    """The bundle at ``model`` (a path or a name under ``models/``; the
    shipped one when None). Raises :class:`PredictError` when it holds no
    model for this run, :class:`GateTargetError` for an unknown gate."""
    root = bundle_root(model)
    top = variant_folder(root, probe) if root.is_dir() else None
    subs, classifier = _subfolders(root, probe) if root.is_dir() and top != root else ([], None)
    targets = ([(_target_of(top), top)] if top is not None else []) + subs
    if not targets:
        raise PredictError(f"no predictor model at {model or root / ('full' if probe else 'static')}")
    targets = sorted(dict(targets).items())
    gate = _gate(targets, _target_of(top) if top is not None else None, gate_target, root)
    return Bundle(root, tuple(targets), gate, classifier, single=len(targets) == 1 and classifier is None)


def _gate(targets: list[tuple[str, Path]], top: str | None, asked: str | None, root: Path) -> str:
    names = [t for t, _ in targets]
    if asked is not None:
        if asked not in names:
            raise GateTargetError(f"gate-target {asked!r}: the predictor bundle {root} has no such target "
                                  f"(targets: {', '.join(names)})")
        return asked
    return top or next((t for t in GATE_DEFAULTS if t in names), names[0])
