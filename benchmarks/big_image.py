"""Peak memory of big images on the CPU: ``predict`` and ``analyse`` at 2048×4096 and 4096×8192.

Each case runs in a fresh subprocess, so its peak resident set size (``ru_maxrss``) is its own: the
model is the bundled-style small network (``aspp_ldv2``, small backbone, head width 128, ``input_scale``
0.5, random init; weights do not change memory), the image a smooth random RGB picture. ``predict``
slides 832×832 tiles over the resized image (``mode="auto"``), ``analyse`` runs one whole-image
forward with every tap recorded (what the app's pages do). Each child runs under an address-space cap
(``--cap-gib``, default 16 GiB), so a case that would exhaust the 24 GB machine fails on its own
instead of taking the machine down; it is then reported as over the cap.

Goal (issue 7): a 4096×8192 image runs in bounded memory or is refused with a message; every case peaks
at ≤ 8 GiB, so two app sessions and the OS fit in 24 GB.

    python benchmarks/big_image.py            # the four cases (~1-2 min on 2 cores)
    python benchmarks/big_image.py --quick    # 2048×4096 only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # runs as a plain script from a checkout

SIZES = ((2048, 4096), (4096, 8192))
OPS = ("predict", "analyse")
GOAL_GIB = 8.0
MODEL = {"backbone": "small", "head_channels": 128, "input_scale": 0.5}


def _smooth_image(height: int, width: int):
    """A smooth random RGB image (bilinear upsampling of coarse noise: edges a network reacts to)."""
    import cv2
    import numpy as np

    coarse = np.random.default_rng(0).integers(0, 256, (max(height // 64, 2), max(width // 64, 2), 3))
    return cv2.resize(coarse.astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)


def _rss_gib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def measure(op: str, height: int, width: int, threads: int) -> dict:
    """Run in the child: build the model, make the image, run ``op`` once, report memory and time."""
    import torch

    from gald_viz.analysis import analyse
    from gald_viz.inference import predict
    from gald_viz.models import build_model

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model("aspp_ldv2", **MODEL).eval()
    image = _smooth_image(height, width)
    before = _rss_gib()
    start = time.perf_counter()
    out = predict(model, image, device="cpu") if op == "predict" else analyse(model, image, device="cpu").pred
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    assert out.shape == (height, width)
    return {"peak_gib": peak, "before_gib": before, "seconds": seconds}


def _child(op: str, height: int, width: int, cap_gib: float, threads: int) -> dict:
    """Run one case in a fresh process under an address-space cap; ``error`` set when it failed."""
    cmd = [sys.executable, __file__, "--child", f"{op}:{height}x{width}", "--threads", str(threads)]

    def cap() -> None:
        limit = int(cap_gib * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=cap, cwd=ROOT)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:120]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False, *, cap_gib: float = 16.0, threads: int = 2) -> list[dict]:
    """Every case as ``{name, value, unit, goal, met}`` rows (the ``python -m benchmarks`` convention).

    Args:
        quick: only 2048×4096.
        cap_gib: address-space cap of each child process.
        threads: torch CPU threads in each child.
    """
    rows = []
    for height, width in SIZES[:1] if quick else SIZES:
        for op in OPS:
            result = _child(op, height, width, cap_gib, threads)
            name = f"{op} {height}x{width}, peak RSS"
            if "error" in result:
                rows.append(
                    {
                        "name": name,
                        "value": f"failed under a {cap_gib:g} GiB cap ({result['error']})",
                        "unit": "",
                        "goal": f"<= {GOAL_GIB:g} GiB",
                        "met": False,
                    }
                )
                continue
            rows.append(
                {
                    "name": name,
                    "value": round(result["peak_gib"], 2),
                    "unit": "GiB",
                    "goal": f"<= {GOAL_GIB:g} GiB",
                    "met": result["peak_gib"] <= GOAL_GIB,
                    "seconds": round(result["seconds"], 1),
                    "before_gib": round(result["before_gib"], 2),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2048x4096 only")
    parser.add_argument("--cap-gib", type=float, default=16.0, help="address-space cap per case (GiB)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads per case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        op, size = args.child.split(":")
        height, width = map(int, size.split("x"))
        print(json.dumps(measure(op, height, width, args.threads)))
        return 0
    rows = run(args.quick, cap_gib=args.cap_gib, threads=args.threads)
    print(
        f"Big images on the CPU: aspp_ldv2 {MODEL}, random init, {args.threads} thread(s), "
        f"each case a fresh process capped at {args.cap_gib:g} GiB of address space"
    )
    print(f"{'case':<34} {'peak RSS':>12} {'before op':>10} {'time':>8} {'goal':>10}  met")
    for row in rows:
        value = f"{row['value']} {row['unit']}".strip()
        before = f"{row['before_gib']} GiB" if "before_gib" in row else "-"
        seconds = f"{row['seconds']} s" if "seconds" in row else "-"
        print(
            f"{row['name']:<34} {value:>12} {before:>10} {seconds:>8} {row['goal']:>10}  "
            f"{'yes' if row['met'] else 'NO'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
