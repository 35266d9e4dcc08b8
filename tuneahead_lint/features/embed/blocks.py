"""Where the embedding and candidate-search blocks run: in this process or
as tasks on a Ray cluster (``--ray-address``).

A block map calls ``fn(block, *shared)`` for every block and returns the
results in block order. The callers cut blocks by the data (fixed sizes,
fixed inverted lists), never by the number of workers, and a block's result
depends only on the block and the shared arrays, so the output is the same
byte for byte in this process and on 1 or N Ray workers. ``fn`` must be a
module-level function (Ray ships it by reference: every worker needs this
package installed, as the meta build's workers do). Shared arrays are put in
Ray's object store once; numpy arrays are read there without a copy. Ray is
imported only by :class:`RayMap`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tuneahead_lint.errors import UserError


class BlockMap(Protocol):
    """``map(fn, blocks, *shared) -> [fn(b, *shared) for b in blocks]``."""

    def __call__(self, fn: Callable[..., Any], blocks: Sequence[Any], *shared: Any) -> list[Any]: ...


def local_map(fn: Callable[..., Any], blocks: Sequence[Any], *shared: Any) -> list[Any]:
    """Every block in this process, in order."""
    return [fn(block, *shared) for block in blocks]


class RayError(UserError):
    """Ray is missing or the cluster cannot be reached (exit 2)."""


class RayMap:
    """Blocks as Ray tasks (one CPU each) on the cluster at ``address``:
    ``local`` starts a local cluster, ``auto`` joins the one this machine
    belongs to, ``ray://host:10001`` a remote one. A cluster this process
    already joined (``ray.init`` before the lint) is used as it is."""

    def __init__(self, address: str) -> None:
        self.address = address

    def __call__(self, fn: Callable[..., Any], blocks: Sequence[Any], *shared: Any) -> list[Any]:
        ray = connect(self.address)
        refs = [ray.put(s) for s in shared]
        remote = ray.remote(num_cpus=1, max_retries=2)(fn)
        return ray.get([remote.remote(block, *refs) for block in blocks])


def connect(address: str):
    """The ``ray`` module, joined to the cluster at ``address``."""
    try:
        import ray
    except ImportError:
        raise RayError("--ray-address needs Ray: pip install 'tuneahead-lint[ray]'") from None
    if not ray.is_initialized():
        if address == "local":  # Ray nices its workers (15): a busy machine would starve the lint's own work
            os.environ.setdefault("RAY_worker_niceness", "0")
        try:
            ray.init(address=None if address == "local" else address, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise RayError(f"--ray-address {address}: cannot join the Ray cluster: "
                           f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return ray


def block_map(address: str | None) -> BlockMap:
    """:func:`local_map` without an address, else a :class:`RayMap`."""
    return RayMap(address) if address else local_map
