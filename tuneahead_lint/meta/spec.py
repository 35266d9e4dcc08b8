"""What one meta-dataset run is: data recipe, hyperparameters, training seed,
base model and evaluation suite. Its canonical JSON is stored with the row
and rebuilds the run exactly; its hash is the ``run_id``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from tuneahead_lint.meta.finetune import HParams
from tuneahead_lint.meta.variants import Recipe, Variant, build_tagged


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """Benchmarks and how many items of each (the first ``n_items`` in
    content-hash order; 0 = all)."""

    benchmarks: tuple[str, ...]
    n_items: int

    def to_dict(self) -> dict:
        return {"benchmarks": list(self.benchmarks), "n_items": self.n_items}


@dataclass(frozen=True, slots=True)
class RunSpec:
    recipe: Recipe
    hp: HParams
    seed: int  # training seed: LoRA init and batch order (the data seed is recipe.seed)
    base_model: str
    suite: SuiteSpec

    def to_json(self) -> str:
        return json.dumps({
            "recipe": json.loads(self.recipe.to_json()),
            "hparams": json.loads(self.hp.to_json()),
            "seed": self.seed,
            "base_model": self.base_model,
            "suite": self.suite.to_dict(),
        }, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        d = json.loads(text)
        return cls(Recipe.from_json(json.dumps(d["recipe"])), HParams.from_json(json.dumps(d["hparams"])),
                   int(d["seed"]), d["base_model"],
                   SuiteSpec(tuple(d["suite"]["benchmarks"]), int(d["suite"]["n_items"])))

    def plan(self) -> list[list[int]]:
        """Record indices of each training step (``HParams.plan`` of this run)."""
        return self.hp.plan(self.recipe.size, self.seed)

    def variant(self, data_dir: str | Path) -> Variant:
        """The records this run trains on, each corruption placed so its share
        among the trained records (:meth:`plan`) is its dose."""
        return build_tagged(self.recipe, data_dir, self.plan())

    @property
    def run_id(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    @property
    def config_id(self) -> str:
        """Identity without the training seed: runs sharing it are seed repeats."""
        d = json.loads(self.to_json())
        del d["seed"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
