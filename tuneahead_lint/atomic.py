"""Write files so that a reader sees the old content or the new, never a part.

:func:`write_atomic` is the one write path for reports, logs, fixed data and
caches: a temporary file ``.NAME.tmpPID`` in the target's folder, written and
fsynced, renamed over the target with ``os.replace``, then the folder fsynced.
The temporary file is removed on every failure (``KeyboardInterrupt``
included); one left by a killed process is removed by the next write to the
same target. A symlink is followed (the real file is replaced, the link
kept); a device, FIFO or socket is written to directly (``-o /dev/null``
stays ``/dev/null``).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tuneahead_lint.errors import OutputError


def real_target(path: str | os.PathLike[str]) -> Path:
    """``path`` with every symlink resolved (the file a write must replace)."""
    return Path(os.path.realpath(path))


def is_special(path: str | os.PathLike[str]) -> bool:
    """True for an existing device, FIFO or socket (written to, never replaced)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp{os.getpid()}")


def clean_stale(target: Path) -> None:
    """Remove ``.NAME.tmpPID`` files of ``target`` left by processes that are gone."""
    prefix = f".{target.name}.tmp"
    try:
        names = os.listdir(target.parent)
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):]
        if name.startswith(prefix) and pid.isdigit() and not _alive(int(pid)):
            _remove(target.parent / name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike[str], like: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` (symlinks resolved); when the
    block succeeds, rename it over the target (a file is fsynced first; ``like``:
    copy that file's permission bits). On any failure the temporary is removed."""
    target = real_target(path)
    clean_stale(target)
    tmp = temp_name(target)
    try:
        yield tmp
        if like is not None:
            shutil.copymode(like, tmp)
        if tmp.is_file():
            _fsync_path(tmp)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        _remove(tmp)
        raise


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encodable(text: str) -> str:
    """``text`` with lone surrogates (from non-UTF-8 file names or ``\\ud800``
    escapes) written as ``\\udcff`` escapes: always valid UTF-8, and inside a
    JSON string a valid JSON escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def write_atomic(path: str | os.PathLike[str], data: bytes | str, like: str | None = None) -> None:
    """Write ``data`` (str: UTF-8, see :func:`encodable`) to ``path`` atomically;
    see the module doc.

    :raises OutputError: the folder or file cannot be written (one line, naming ``path``).
    """
    blob = data.encode("utf-8", "backslashreplace") if isinstance(data, str) else data
    try:
        if is_special(path):
            _write_special(path, blob)
            return
        if os.path.isdir(path):
            raise IsADirectoryError(21, "is a directory")
        with atomic_path(path, like=like) as tmp:
            _write_new(tmp, blob)
    except OSError as exc:
        raise OutputError(f"{os.fsdecode(path)}: cannot write: {exc.strerror or exc}") from None


def _write_special(path: str | os.PathLike[str], blob: bytes) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        _write_all(fd, blob)
    finally:
        os.close(fd)


def _write_new(tmp: Path, blob: bytes) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        _write_all(fd, blob)
    finally:
        os.close(fd)


def _write_all(fd: int, blob: bytes) -> None:
    view = memoryview(blob)
    while view:
        view = view[os.write(fd, view):]


def copy_atomic(src: str, dst: str) -> None:
    """Copy ``src`` to ``dst`` (content, mode, times) so that ``dst`` is whole or absent."""
    try:
        with atomic_path(dst) as tmp:
            shutil.copy2(src, tmp)
    except OSError as exc:
        raise OutputError(f"{dst}: cannot write: {exc.strerror or exc}") from None
