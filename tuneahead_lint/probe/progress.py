"""Progress display of the probe stages: a rich bar with ETA on stderr.

Disabled (every call a no-op) when ``enabled`` is False or stderr is not a
terminal, so CI logs and tests stay clean.
"""

from __future__ import annotations

from typing import Any


class Stages:
    """One rich progress bar per stage; ``advance(n, **fields)`` moves the
    current stage. Use as a context manager."""

    def __init__(self, enabled: bool = True) -> None:
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console

            console = Console(stderr=True)
            if console.is_terminal:
                self._bar = _make_bar(console)

    def __enter__(self) -> Stages:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if exc[0] is None:
                self._finish()
            self._bar.stop()

    def stage(self, name: str, total: int) -> None:
        """Start a new stage of ``total`` units (the previous one is finished)."""
        if self._bar is None:
            return
        self._finish()
        self._task = self._bar.add_task(name, total=total, info="")

    def _finish(self) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=self._bar.tasks[self._task].total)

    def advance(self, n: int = 1, info: str = "") -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=n, info=info)


def _make_bar(console):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                               TextColumn, TimeElapsedColumn, TimeRemainingColumn)

    return Progress(
        SpinnerColumn(), TextColumn("[bold]{task.description:<16}"), BarColumn(),
        MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"), console=console, transient=False)
