"""JSON Schemas shipped with the package (the JSON report schema)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

REPORT_SCHEMA = "report-v1.schema.json"


def load_schema(name: str = REPORT_SCHEMA) -> dict[str, Any]:
    """Parsed schema file ``name`` from this package."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)
