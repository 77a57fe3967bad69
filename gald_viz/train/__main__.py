"""``python -m gald_viz.train``: see :mod:`gald_viz.train.cli`."""

from gald_viz.train.cli import main

main()
