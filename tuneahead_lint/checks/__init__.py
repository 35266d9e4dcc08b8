"""Check functions named by rules (``trigger: {check: NAME}``).

A check is ``fn(examples, ctx) -> Iterable[Hit]``: it sees the whole dataset
(a sequence of :class:`~tuneahead_lint.types.Example`) and the rule's merged
options in ``ctx.options``. Register with :func:`check`;
:func:`tuneahead_lint.checks.catalog.load_all` imports every check module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuneahead_lint.types import Example, Hit

if TYPE_CHECKING:  # annotations only: the stages' results, without importing the stages
    from tokenizers import Tokenizer

    from tuneahead_lint.features import FeatureResult
    from tuneahead_lint.probe.types import ProbeResult

CheckFn = Callable[[Sequence[Example], "CheckContext"], Iterable[Hit]]
CHECKS: dict[str, CheckFn] = {}


@dataclass
class CheckContext:
    """What a check may use: its options and lazily built shared tools."""

    options: Mapping[str, Any]
    tokenizer: Tokenizer | None = None
    features: FeatureResult | None = None  # when features ran
    probe: ProbeResult | None = None  # when --probe ran
    cache: dict[str, Any] = field(default_factory=dict)


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check {name} registered twice")
        CHECKS[name] = fn
        return fn
    return register

