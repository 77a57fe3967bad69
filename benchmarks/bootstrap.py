"""Speed of the paired bootstrap (gald_viz.stats.bootstrap): mIoU differences over images.

Per-image intersections and unions of two models, random but shaped like Cityscapes val (19 classes);
each row times one ``paired_bootstrap`` call (best of ``--repeats``). Goal: 2000 resamples over 500
images with 19 classes in <= 2 s.

    python benchmarks/bootstrap.py [--repeats 3]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs as a plain script, package not installed
from gald_viz.stats.bootstrap import paired_bootstrap  # noqa: E402

GOAL_S = 2.0
CASES = ((500, 19, 2000), (100, 19, 2000), (500, 19, 10000), (2000, 19, 2000), (500, 190, 2000))


def arrays(rng: np.random.Generator, n: int, c: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    union = rng.integers(0, 200_000, size=(n, c)).astype(np.int64)
    inter = (union * np.clip(rng.normal(0.7 + shift, 0.15, size=(n, c)), 0, 1)).astype(np.int64)
    return inter, union


def time_case(n: int, c: int, resamples: int, repeats: int) -> tuple[float, bool]:
    rng = np.random.default_rng(0)
    ia, ua = arrays(rng, n, c, 0.01)
    ib, ub = arrays(rng, n, c, 0.0)
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = paired_bootstrap(ia, ua, ib, ub, resamples=resamples)
        best = min(best, time.perf_counter() - start)
    return best, result.contains_zero


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks``: the goal case."""
    seconds, _ = time_case(500, 19, 2000, 1 if quick else 3)
    return [
        {
            "name": "2000 resamples, 500 images, 19 classes",
            "value": seconds,
            "unit": "s",
            "goal": f"<= {GOAL_S:g} s",
            "met": seconds <= GOAL_S,
        }
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'images':>7} {'classes':>8} {'resamples':>10} {'seconds':>8}  goal")
    for n, c, resamples in CASES:
        seconds, _ = time_case(n, c, resamples, args.repeats)
        goal = ""
        if (n, c, resamples) == (500, 19, 2000):
            goal = f"<= {GOAL_S:g} s: {'yes' if seconds <= GOAL_S else 'NO'}"
        print(f"{n:>7} {c:>8} {resamples:>10} {seconds:>8.3f}  {goal}")


if __name__ == "__main__":
    main()
