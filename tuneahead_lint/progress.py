"""Progress bars with ETA on stderr, only on a terminal.

A stage opens a bar with :func:`task`; code deep inside it (an embedding or
perplexity batch loop) calls :func:`advance` without knowing whether anyone
watches. Off a terminal, or when the caller disabled progress, every call is
a no-op, so CI logs and redirected output stay clean. :func:`enabled` is
switched on by the CLI for the lint and meta commands.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_bar: ContextVar[Any] = ContextVar("tuneahead_progress_bar", default=None)
_enabled: ContextVar[bool] = ContextVar("tuneahead_progress_enabled", default=False)


@contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Allow bars inside this block (still only when stderr is a terminal)."""
    token = _enabled.set(on)
    try:
        yield
    finally:
        _enabled.reset(token)


def active() -> bool:
    """Whether a bar would be shown now."""
    return _enabled.get() and sys.stderr.isatty()


@contextmanager
def task(name: str, total: int) -> Iterator[None]:
    """A bar of ``total`` units for the block (nested tasks reuse the outer bar)."""
    if not active() or total <= 0 or _bar.get() is not None:
        yield
        return
    bar = _make_bar()
    task_id = bar.add_task(name, total=total)
    token = _bar.set((bar, task_id))
    bar.start()
    try:
        yield
    finally:
        _bar.reset(token)
        bar.stop()


def advance(n: int = 1) -> None:
    """Move the current bar by ``n`` units (no-op without one)."""
    current = _bar.get()
    if current is not None:
        bar, task_id = current
        bar.update(task_id, advance=n)


def _make_bar() -> Any:
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description:<16}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=Console(stderr=True), transient=True)


THIRD_PARTY = r"(transformers|sentence_transformers|huggingface_hub|tokenizers|torch|peft|accelerate|onnxruntime|lightgbm|shap|sklearn|numba|faiss)(\..*)?"
QUIET_ENV = {"TRANSFORMERS_VERBOSITY": "error", "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
             "HF_HUB_DISABLE_PROGRESS_BARS": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "TQDM_DISABLE": "1",
             "TOKENIZERS_PARALLELISM": "false", "ORT_LOGGING_LEVEL": "3"}


def quiet_third_party() -> None:
    """No progress bars, advisories or warnings from the libraries we load:
    our own progress (on a terminal) and findings are the only output. Set
    before those libraries are imported; a variable the user set wins."""
    import logging
    import os
    import warnings

    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore", module=THIRD_PARTY)
    for name in ("transformers", "sentence_transformers", "huggingface_hub", "peft", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
