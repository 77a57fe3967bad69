"""Which folders the app may read and write: every path a user types or a link carries is confined here.

The app (``gald_viz/ui``, and the views it hands paths to) opens files only under the *roots*:

- the working folder (where ``streamlit run app.py`` was started), which holds ``results/`` and
  ``checkpoints/``;
- the bundled checkpoints (package data, also after ``pip install``);
- ``$CITYSCAPES_DATASET`` when it is set;
- the folders the operator lists in ``$GALD_VIZ_ROOTS`` (``os.pathsep``-separated, ``/a:/b``).

A path is resolved (``..`` and symbolic links followed) before it is compared, so neither
``../../etc/passwd`` nor a link inside a root that points outside passes. A refused path gets one message
whether or not it exists, so the app never tells which paths exist outside its roots. The command-line
tools are run by the operator and are not confined.
"""

import os
from pathlib import Path

from gald_viz.checkpoints import BUNDLED_DIR

ROOTS_ENV = "GALD_VIZ_ROOTS"
"""Environment variable with extra roots, separated by ``os.pathsep``."""


class PathNotAllowedError(ValueError):
    """A path outside the app's roots; the message names the path as given and nothing else about it."""


def allowed_roots() -> list[Path]:
    """The folders the app may open, resolved (read from the environment on every call)."""
    roots = [Path.cwd(), BUNDLED_DIR]
    cityscapes = os.environ.get("CITYSCAPES_DATASET", "").strip()
    if cityscapes:
        roots.append(Path(cityscapes))
    roots += [Path(p) for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()]
    resolved = []
    for root in roots:
        try:
            resolved.append(root.expanduser().resolve())
        except (OSError, ValueError, RuntimeError):
            continue
    return list(dict.fromkeys(resolved))


def refusal(path: str, what: str) -> str:
    """The message for a refused path (the same whether the path exists or not)."""
    shown = path if len(path) <= 200 else path[:200] + "…"
    return (
        f"{what} {shown!r}: outside the folders this app may open (the working folder, the bundled "
        f"checkpoints, $CITYSCAPES_DATASET and ${ROOTS_ENV}); the operator can add folders with "
        f"{ROOTS_ENV}=/a{os.pathsep}/b"
    )


def confine(path: str | os.PathLike, what: str) -> Path:
    """The resolved ``path`` if it lies under one of :func:`allowed_roots`.

    Args:
        path: as the user typed it (relative paths are relative to the working folder; ``~`` expands).
        what: what the path is, for the message ("Images folder", "GA model checkpoint", …).

    Returns:
        The absolute, resolved path.

    Raises:
        PathNotAllowedError: the path is outside every root, empty, or not a valid path at all.
    """
    text = os.fspath(path)
    try:
        if not text.strip():
            raise ValueError("empty")
        resolved = Path(text).expanduser().resolve()
    except (OSError, ValueError, RuntimeError) as err:
        raise PathNotAllowedError(refusal(text, what)) from err
    if any(resolved.is_relative_to(root) for root in allowed_roots()):
        return resolved
    raise PathNotAllowedError(refusal(text, what))
