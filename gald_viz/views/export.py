"""A figure export a page offers: a paper-layout matplotlib figure, drawn only when downloaded."""

from collections.abc import Callable
from dataclasses import dataclass

from matplotlib.figure import Figure


@dataclass(frozen=True)
class Export:
    """One PNG/PDF export of a page.

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
