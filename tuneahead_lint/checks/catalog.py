"""Every check module, imported so that all checks are registered.

Kept out of ``checks/__init__`` (which the check modules import for
:func:`~tuneahead_lint.checks.check`), so that no import goes in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping

from tuneahead_lint.checks import CHECKS, CheckFn


def load_all() -> Mapping[str, CheckFn]:
    """Import every check module so that all checks are registered."""
    from tuneahead_lint.checks import (  # noqa: F401
        consistency,
        contamination,
        dataset,
        input,
        language,
        neardup,
        pii,
        probe,
        record,
        text,
    )
    return CHECKS
