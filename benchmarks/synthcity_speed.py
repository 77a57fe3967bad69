"""SynthCity generation speed on ONE core (goal: >= 10 images/s at 1024x2048).

Run: python benchmarks/synthcity_speed.py [--count N]
Prints a table of images/s per size: rendering only (what training's in-memory generator pays), and
rendering plus writing the three Cityscapes PNGs (what the command line pays). Rates come from the
process's CPU time, so they hold when other jobs share the machine; wall-clock rates are shown too.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gald_viz.data.labels import colorize, to_label_ids  # noqa: E402
from gald_viz.data.synthcity import generate  # noqa: E402


def _pin_one_core() -> str:
    cv2.setNumThreads(1)
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"core {core}"
    return "cv2 threads=1 (no affinity control on this OS)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="scenes per size")
    args = parser.parse_args()
    pinned = _pin_one_core()
    generate(0, "val")  # warm-up: imports, noise tiles
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for height, width in ((1024, 2048), (512, 1024)):
            generate(0, "val", height=height, width=width)
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(args.count):
                generate(i, "val", height=height, width=width)
            wall, cpu = (time.perf_counter() - wall) / args.count, (time.process_time() - cpu) / args.count
            start = time.process_time()
            for i in range(args.count):
                s = generate(i, "val", height=height, width=width)
                base = Path(tmp) / s.name
                cv2.imwrite(f"{base}_leftImg8bit.png", cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR))
                cv2.imwrite(f"{base}_gtFine_labelIds.png", to_label_ids(s.label))
                cv2.imwrite(f"{base}_gtFine_color.png", cv2.cvtColor(colorize(s.label), cv2.COLOR_RGB2BGR))
            with_png = (time.process_time() - start) / args.count
            rows.append((f"{height}x{width}", 1 / cpu, 1000 * cpu, 1 / wall, 1 / with_png))
    print(
        f"SynthCity generation on one core ({pinned}), {args.count} val scenes per size, goal >= 10 images/s"
    )
    print("img/s from CPU time (robust when other jobs share the core) and from wall-clock time")
    header = ("size", "CPU img/s", "CPU ms/img", "wall img/s", "+3 PNGs CPU img/s", "goal")
    print("{:<10} {:>10} {:>11} {:>11} {:>18} {:>5}".format(*header))
    for size, ips, ms, wall_ips, ips_png in rows:
        goal = ("met" if ips >= 10 else "no") if size == "1024x2048" else "-"
        print(f"{size:<10} {ips:10.1f} {ms:11.1f} {wall_ips:11.1f} {ips_png:18.2f} {goal:>5}")


if __name__ == "__main__":
    main()
