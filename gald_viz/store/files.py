"""The files beside the database: predicted trainId PNGs (written atomically) and each run's job lock.

Predictions live in ``<db folder>/predictions/<run_id>/<image>.png``, so the app shows and compares
them without running a network again.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from gald_viz.data.images import ImageReadError, read_label_map, write_png
from gald_viz.store.errors import StoreError


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
def job_lock(root: Path, run_id: str) -> Iterator[None]:
    """Hold the run's job lock; a second job on the same run raises ``StoreError(reason="busy")``.

    An OS file lock (flock) is released by the kernel when its process dies, SIGKILL included, so a
    killed job never blocks its own resumption. Stale temporary PNGs of a killed job are removed.
    """
    folder = predictions_folder(root, run_id)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / ".job.lock", "a+b")  # noqa: SIM115 (held for the whole job)
    except OSError as exc:
        raise StoreError(
            folder, f"cannot be written ({exc})", reason="read-only", what="predictions folder"
        ) from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise StoreError(
                folder,
                f"is in use: run {run_id} is being evaluated by another process",
                reason="busy",
                what="predictions folder",
            ) from exc
        for stale in folder.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        yield
    finally:
        handle.close()
