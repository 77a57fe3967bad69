"""The files beside the database: predicted trainId PNGs (written atomically) and each run's job lock.

Predictions live in ``<db folder>/predictions/<run_id>/<image>.png``, so the app shows and compares
them without running a network again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gald_viz.data.images import ImageReadError, read_label_map, write_png
from gald_viz.store.errors import StoreError

if TYPE_CHECKING:
    from gald_viz.store.shards import Shard


def prediction_filename(image: str) -> str:
    """A file name for an image name: kept as is when safe, else sanitised plus a hash (stays unique).

    >>> prediction_filename("frankfurt_000000_000294")
    'frankfurt_000000_000294.png'
    >>> prediction_filename("a/b")
    'a_b-...png'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", image)
    if safe == image and not image.startswith("."):
        return image + ".png"
    return f"{safe.lstrip('.')}-{hashlib.sha1(image.encode()).hexdigest()[:8]}.png"


def predictions_folder(root: Path, run_id: str) -> Path:
    """The folder of a run's prediction PNGs."""
    return root / "predictions" / run_id


def write_prediction(root: Path, run_id: str, image: str, label_map: np.ndarray) -> str:
    """Write a predicted trainId map as PNG atomically (temporary file, fsync, rename).

    Returns:
        The PNG path relative to ``root`` (what ``images.prediction_png`` stores).
    """
    relative = Path("predictions") / run_id / prediction_filename(image)
    final = root / relative
    try:
        write_png(final, np.ascontiguousarray(label_map, dtype=np.uint8), atomic=True)
    except ValueError as exc:
        raise StoreError(
            final, f"could not be encoded as PNG ({exc})", reason="io", what="prediction"
        ) from exc
    except OSError as exc:
        raise StoreError(final, f"cannot be written ({exc})", reason="io", what="prediction") from exc
    return relative.as_posix()


def read_prediction(path: Path) -> np.ndarray:
    """A stored predicted trainId map (H x W uint8)."""
    try:
        return read_label_map(path)
    except ImageReadError as exc:
        raise StoreError(path, "is missing or unreadable", reason="missing", what="prediction") from exc


@contextlib.contextmanager
def job_lock(
    root: Path, run_id: str, shard: Shard | None = None, images: Collection[str] = ()
) -> Iterator[None]:
    """Hold the run's job lock; a second job on the same run raises ``StoreError(reason="busy")``.

    An OS file lock (flock) is released by the kernel when its process dies, SIGKILL included, so a
    killed job never blocks its own resumption. Stale temporary PNGs of a killed job are removed.

    A shard job (``shard``, writing its own store file, :mod:`gald_viz.store.shards`) holds the run's
    lock shared, so the run's other shards may run beside it but no one-process job (nor a merge) may,
    and its own shard's lock exclusively. The shards write their PNGs into one folder, so a shard
    removes only the stale temporary PNGs of its own ``images``.
    """
    folder = predictions_folder(root, run_id)
    with contextlib.ExitStack() as stack:
        if shard is None:
            _lock(stack, folder, ".job.lock", fcntl.LOCK_EX, f"run {run_id} is being evaluated")
            stale = None
        else:
            _lock(stack, folder, ".job.lock", fcntl.LOCK_SH, f"run {run_id} is being evaluated or merged")
            name = f".job.shard-{shard.index}-of-{shard.count}.lock"
            _lock(stack, folder, name, fcntl.LOCK_EX, f"shard {shard} of run {run_id} is being evaluated")
            stale = {prediction_filename(image) for image in images}
        for temporary in folder.glob(".*.tmp"):
            # write_png's temporary name is ".<png name>.<pid>.tmp"
            if stale is None or temporary.name[1:].rsplit(".", 2)[0] in stale:
                temporary.unlink(missing_ok=True)
        yield


def _lock(stack: contextlib.ExitStack, folder: Path, name: str, mode: int, busy: str) -> None:
    """Open ``folder/name`` and flock it (``mode``) without waiting; the stack closes it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = stack.enter_context(open(folder / name, "a+b"))  # noqa: SIM115 (held for the job)
    except OSError as exc:
        raise StoreError(
            folder, f"cannot be written ({exc})", reason="read-only", what="predictions folder"
        ) from exc
    try:
        fcntl.flock(handle, mode | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        raise StoreError(
            folder, f"is in use: {busy} by another process", reason="busy", what="predictions folder"
        ) from exc
