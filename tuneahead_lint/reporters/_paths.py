"""Repository-relative artifact URIs for SARIF.

The only filesystem access in the reporters: looking upward for a ``.git``
entry to find the default root. Nothing is read or written.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import quote

SRCROOT = "%SRCROOT%"


def git_toplevel(path: str) -> Path | None:
    """Nearest folder at or above ``path`` holding ``.git`` (dir or file)."""
    start = Path(os.path.abspath(path))
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_root(paths: list[str]) -> Path:
    """Git top-level of the first of ``paths``, else the working directory."""
    top = git_toplevel(paths[0]) if paths else None
    return top or Path(os.getcwd())


def artifact_location(path: str, root: Path) -> dict[str, str]:
    """SARIF ``artifactLocation``: a percent-encoded, forward-slash URI
    relative to ``root`` with ``uriBaseId`` %SRCROOT%; an absolute ``file:``
    URI when ``path`` lies outside ``root``."""
    full = Path(os.path.abspath(path))
    try:
        rel = full.relative_to(os.path.abspath(root))
    except ValueError:
        return {"uri": full.as_uri()}
    # the file name's own bytes, percent-encoded (a non-UTF-8 name stays exact)
    return {"uri": quote(os.fsencode(PurePosixPath(*rel.parts).as_posix())), "uriBaseId": SRCROOT}
