"""What every view shares: the size pages draw images at, and paper-figure exports."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from gald_viz.viz.overlays import display_size

DISPLAY_WIDTH = 1024
"""Widest a page draws an image (px); the browser may scale it down to its column."""


def display_hw(image: np.ndarray) -> tuple[int, int]:
    """(height, width) a page draws ``image`` at: at most :data:`DISPLAY_WIDTH` wide, aspect kept."""
    h, w = image.shape[:2]
    return display_size(h, w, max_width=DISPLAY_WIDTH)


@dataclass(frozen=True)
class Export:
    """One PNG/PDF export of a page: a paper-layout matplotlib figure, drawn only when downloaded.

    Attributes:
        id: short name, unique on its page (the page makes its widget key from it).
        caption: the line above the buttons.
        build: makes the figure (runs only when a button is clicked).
        file_stem: file name without extension.
    """

    id: str
    caption: str
    build: Callable[[], Figure]
    file_stem: str
