"""Seconds per image of an evaluation job (`python -m gald_viz.evaluate model`) on a bundled model.

The job renders a SynthCity val scene, runs the network, scores every metric (IoU, boundary F at the four
thresholds, F against tolerance) and stores the row and the predicted PNG. Start-up (imports, model load)
is taken out by running the command twice, on 1 and on 1 + N images, into fresh databases:
seconds per image = (t(1 + N) − t(1)) / N. Both runs are repeated and the fastest kept; several
checkouts (``--root A B``) take turns, so a busy machine slows all of them alike.

    python benchmarks/evaluation_job.py                 # synthcity/aspp_ldv2, 8 images, 2 repeats
    python benchmarks/evaluation_job.py --images 20 --model synthcity/aspp
    python benchmarks/evaluation_job.py --root ../other-checkout   # the same job in another checkout
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def job_seconds(root: Path, model: str, images: int, workdir: Path) -> float:
    """Wall seconds of one job over the first ``images`` val scenes, into a new database."""
    db = workdir / f"job_{images}_{time.monotonic_ns()}.sqlite"
    cmd = [sys.executable, "-m", "gald_viz.evaluate", "model", "--model", model, "--data", "synthcity:val"]
    cmd += ["--limit", str(images), "--device", "cpu", "--db", str(db)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    start = time.perf_counter()
    subprocess.run(cmd, cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def seconds_per_image(roots: list[Path], model: str, images: int, repeats: int) -> list[float]:
    """Seconds per image in each checkout; the checkouts take turns, so load on the machine hits all."""
    one = {root: float("inf") for root in roots}
    many = dict(one)
    with tempfile.TemporaryDirectory(prefix="bench_job_") as tmp:
        for _ in range(repeats):
            for root in roots:
                one[root] = min(one[root], job_seconds(root, model, 1, Path(tmp)))
                many[root] = min(many[root], job_seconds(root, model, 1 + images, Path(tmp)))
    return [(many[root] - one[root]) / images for root in roots]


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks``."""
    images, repeats = (3, 1) if quick else (8, 2)
    (value,) = seconds_per_image([ROOT], "synthcity/aspp_ldv2", images, repeats)
    return [
        {
            "name": f"evaluation job, synthcity/aspp_ldv2, 1024x2048, {images} images",
            "value": value,
            "unit": "s/image",
            "goal": "",
            "met": None,
        }
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="synthcity/aspp_ldv2")
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--root", type=Path, nargs="+", default=[ROOT], help="checkouts to time, in turn")
    args = parser.parse_args(argv)
    print(f"evaluation job: {args.model}, synthcity:val 1024x2048, {args.images} images, ", end="")
    print(f"fastest of {args.repeats}")
    print(f"{'checkout':<40} {'s/image':>8}")
    roots = [root.resolve() for root in args.root]
    for root, seconds in zip(
        roots, seconds_per_image(roots, args.model, args.images, args.repeats), strict=True
    ):
        print(f"{str(root):<40} {seconds:>8.3f}")


if __name__ == "__main__":
    main()
