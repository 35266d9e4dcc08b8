"""Errors the command line turns into one line on stderr and exit code 2.

Every module raises these (or a subclass) for problems the user can fix; the
CLI catches :class:`UserError` and prints ``tuneahead-lint: error: MESSAGE``.
Anything else that escapes is a bug (exit 3).
"""

from __future__ import annotations

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class UserError(Exception):
    """A one-line error for the user (exit 2)."""


class ConfigError(UserError, ValueError):
    """Invalid configuration. ``str()`` names file and key."""


class RuleFileError(UserError, ValueError):
    """A rule YAML file that does not match ``rule.schema.json``."""


class BaseModelError(UserError, RuntimeError):
    """The base model could not be found or loaded."""


class EmbedderError(RuntimeError):
    """The embedder could not be found or loaded (exit code 2)."""


class OutputError(UserError):
    """A destination that cannot be used or written."""


class InputError(UserError):
    """A path that cannot be read: missing, unreadable, or a directory
    without data files. ``str()`` is ``path:line: message`` or ``path: message``."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        super().__init__(path, line, message)
        self.path, self.line, self.message = path, line, message

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"
