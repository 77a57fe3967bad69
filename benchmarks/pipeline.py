"""Images/s of the pipelined evaluation job against the sequential one, and its peak memory.

Both loops of :func:`gald_viz.jobs.run_job` (``workers=0``: one image after another; ``--workers N``:
:mod:`gald_viz.pipeline`) run in this process on the same loaded model over the first ``--images``
SynthCity val scenes at 1024×2048 (rendering, the network, every metric, PNG and store writes), each
into a fresh database, after an untimed one-image warm-up of each, taking turns ``--repeats`` times
(order alternating; the fastest kept), so a busy machine slows both alike. Peak memory is the RSS
high-water mark of a fresh process running the pipelined job on 10 and on ``--images`` images: flat
when in-flight images are bounded.

    python benchmarks/pipeline.py                      # synthcity/aspp_ldv1, 50 images
    python benchmarks/pipeline.py --images 12 --repeats 1
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))
DATA = "synthcity:val"


def _options(workers: int, batch: int = 1):
    from gald_viz.pipeline import PipelineOptions

    return PipelineOptions(workers=workers, batch=batch)


def images_per_second(model: str, images: int, workers: int, repeats: int, device: str) -> dict[str, float]:
    """Fastest images/s of the sequential and the pipelined loop, taking turns."""
    from gald_viz.checkpoints import load_model
    from gald_viz.jobs import run_job

    net = load_model(model, device=device)
    best = {"sequential": 0.0, f"pipelined ({workers} workers)": 0.0}
    loops = list(zip(best, (0, workers), strict=True))
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        for _, w in loops:  # warm-up (first forwards, allocator, imports), untimed
            run_job(net, DATA, limit=1, device=device, db=Path(tmp) / f"warm_{w}.sqlite", progress=False,
                    options=_options(w))  # fmt: skip
        for repeat in range(repeats):
            for label, w in loops if repeat % 2 == 0 else loops[::-1]:
                db = Path(tmp) / f"{repeat}_{w}" / "r.sqlite"
                start = time.perf_counter()
                run_job(net, DATA, limit=images, device=device, db=db, progress=False, options=_options(w))
                best[label] = max(best[label], images / (time.perf_counter() - start))
    return best


def peak_rss_mib(model: str, images: int, workers: int, device: str) -> float:
    """RSS high-water mark (MiB) of a fresh process running the pipelined job on ``images`` images."""
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_rss_") as tmp:
        cmd = [sys.executable, "-m", "benchmarks.pipeline", "--child", str(images), "--model", model]
        cmd += ["--workers", str(workers), "--device", device, "--db", str(Path(tmp) / "r.sqlite")]
        out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return float(out.split()[-1])


def _child(model: str, images: int, workers: int, device: str, db: str) -> None:
    from gald_viz.jobs import run_job

    run_job(model, DATA, limit=images, device=device, db=db, progress=False, options=_options(workers))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # KiB on Linux


def run(quick: bool = False) -> list[dict]:
    """Rows for ``python -m benchmarks``."""
    images, workers = (4, 2) if quick else (50, 2)
    rates = images_per_second("synthcity/aspp_ldv1", images, workers, 1, "cpu")
    (seq, pipe) = rates.values()
    rows = [
        {"name": f"evaluation job {label}, synthcity/aspp_ldv1, {images} images", "value": rate,
         "unit": "img/s", "goal": "", "met": None}
        for label, rate in rates.items()
    ]  # fmt: skip
    rows.append(
        {"name": "pipelined / sequential", "value": pipe / seq, "unit": "x", "goal": "> 1", "met": pipe > seq}
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="synthcity/aspp_ldv1")
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        _child(args.model, args.child, args.workers, args.device, args.db)
        return
    print(f"evaluation job: {args.model}, {DATA} 1024x2048, {args.images} images, {args.device}, ", end="")
    print(f"fastest of {args.repeats}, turns taken")
    rates = images_per_second(args.model, args.images, args.workers, args.repeats, args.device)
    print(f"{'loop':<28} {'img/s':>8}")
    for label, rate in rates.items():
        print(f"{label:<28} {rate:>8.3f}")
    seq, pipe = rates.values()
    print(f"{'pipelined / sequential':<28} {pipe / seq:>7.2f}x")
    small = min(10, args.images)
    print(f"\n{'pipelined job, images':<28} {'peak RSS MiB':>12}")
    for n in sorted({small, args.images}):
        print(f"{n:<28} {peak_rss_mib(args.model, n, args.workers, args.device):>12.0f}")


if __name__ == "__main__":
    main()
