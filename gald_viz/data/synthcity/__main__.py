"""Entry point of ``python -m gald_viz.data.synthcity`` (see :mod:`.cli`)."""

import sys

from gald_viz.data.synthcity.cli import main

if __name__ == "__main__":  # pytest's doctest collection imports this module too
    sys.exit(main())
