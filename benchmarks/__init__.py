"""Benchmarks of gald-viz: each script prints its own table; ``python -m benchmarks`` runs them all."""
