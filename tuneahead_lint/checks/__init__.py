"""Check functions named by rules (``trigger: {check: NAME}``).

A check is ``fn(examples, ctx) -> Iterable[Hit]``: it sees the whole dataset
(a sequence of :class:`~tuneahead_lint.types.Example`) and the rule's merged
options in ``ctx.options``. Register with :func:`check`;
:func:`tuneahead_lint.checks.catalog.load_all` imports every check module.

Record checks also stream (:mod:`.stream`): ``STREAMS[name](ctx)`` is a
:class:`~.stream.RecordCheck` fed one record at a time. Register a function
whose hits for a record depend on that record alone with
``check(name, per_record=True)``, and a check that keeps a set statistic as a
``RecordCheck`` class with :func:`streamed`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tuneahead_lint.checks.stream import Chunked, RecordCheck, run_over
from tuneahead_lint.types import Example, Hit

if TYPE_CHECKING:  # annotations only: the stages' results, without importing the stages
    from tokenizers import Tokenizer

    from tuneahead_lint.features import FeatureResult
    from tuneahead_lint.probe.types import ProbeResult

CheckFn = Callable[[Sequence[Example], "CheckContext"], Iterable[Hit]]
StreamFactory = Callable[["CheckContext"], RecordCheck]
CHECKS: dict[str, CheckFn] = {}
STREAMS: dict[str, StreamFactory] = {}


@dataclass
class CheckContext:
    """What a check may use: its options and lazily built shared tools."""

    options: Mapping[str, Any]
    tokenizer: Tokenizer | None = None
    features: FeatureResult | None = None  # when features ran
    probe: ProbeResult | None = None  # when --probe ran
    rules: frozenset[str] = frozenset()  # names of the rules this lint runs (empty outside a lint)
    cache: dict[str, Any] = field(default_factory=dict)


def check(name: str, per_record: bool = False) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as check ``name``; ``per_record``: it also streams in chunks."""
    def register(fn: CheckFn) -> CheckFn:
        if name in CHECKS:
            raise ValueError(f"check {name} registered twice")
        CHECKS[name] = fn
        if per_record:
            STREAMS[name] = lambda ctx: Chunked(fn, ctx)
        return fn
    return register


def streamed(name: str) -> Callable[[StreamFactory], StreamFactory]:
    """Register a :class:`~.stream.RecordCheck` class as check ``name``
    (``CHECKS[name]`` runs it over a list)."""
    def register(factory: StreamFactory) -> StreamFactory:
        def over_list(examples: Sequence[Example], ctx: CheckContext) -> Iterable[Hit]:
            return run_over(factory(ctx), examples)
        over_list.__name__, over_list.__doc__ = name, factory.__doc__
        check(name)(over_list)
        STREAMS[name] = factory
        return factory
    return register
