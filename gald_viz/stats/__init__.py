"""Statistics over images: the seeded paired bootstrap of :mod:`gald_viz.stats.bootstrap`."""
