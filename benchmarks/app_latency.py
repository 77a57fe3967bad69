"""App latency: the compute path behind a click on the Local distribution page, and a first analysis.

Times what the pages do on the server, not the browser:

- **first analysis**: ``analyse`` of a new 1024×2048 SynthCity image with the bundled GA and GALD models on
  the CPU (what the Compare and Local distribution pages wait for when an image is opened), with the
  models already loaded; the very first call of the process (torch warm-up) is reported separately;
- **compare page scores**: mIoU, boundary F at 3/5/9/12 px and the error/four-way maps of both models;
- **click → new affinity view**: fetch the cached analysis (a pickle round trip, as ``st.cache_data``
  hands each rerun a copy), index the LDv2 affinity at the pixel, draw the window, crosshairs and the
  zoomed crop, and encode the pictures the page sends (JPEG for the clickable image, PNG for the maps).

Usage: ``python benchmarks/app_latency.py [--ga synthcity/aspp] [--gald synthcity/aspp_ldv2] [--clicks 50]``.
Prints one table with the goal beside each figure (issue 6: click ≤ 50 ms, first analysis ≤ 2 s).
"""

import argparse
import pickle
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gald_viz.analysis import affinity_entropy_map, analyse, same_class_share_map  # noqa: E402
from gald_viz.checkpoints import load_model  # noqa: E402
from gald_viz.data.synthcity import SynthCity  # noqa: E402
from gald_viz.viz.compare import error_views, image_scores  # noqa: E402
from gald_viz.viz.inspector import click_view, static_panels  # noqa: E402
from gald_viz.viz.overlays import display_size  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _encode_page(view) -> None:
    """Encode what one click sends: the clickable JPEG (component) and each map as PNG (st.image)."""
    cv2.imencode(".jpg", view.clickable[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    for rgb in view.panels.values():
        cv2.imencode(".png", rgb[:, :, ::-1])
    if view.crop is not None:
        cv2.imencode(".png", view.crop.rgb[:, :, ::-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ga", default="synthcity/aspp", help="GA-only model (bundled name or path)")
    parser.add_argument("--gald", default="synthcity/aspp_ldv2", help="GALD model with LDv2")
    parser.add_argument("--clicks", type=int, default=50, help="clicks to time")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    source = SynthCity(split="val", count=3, height=1024, width=2048)
    samples = [source[i] for i in range(3)]
    (ga, gald), t_load = _timed(lambda: (load_model(args.ga), load_model(args.gald)))

    _, t_cold = _timed(
        lambda: (analyse(ga, samples[0].image, device="cpu"), analyse(gald, samples[0].image, device="cpu"))
    )
    firsts = []
    for s in samples[1:]:
        (a_ga, a_gald), t = _timed(
            lambda s=s: (analyse(ga, s.image, device="cpu"), analyse(gald, s.image, device="cpu"))
        )
        firsts.append(t)
    s = samples[-1]
    _, t_scores = _timed(
        lambda: (
            image_scores(a_ga.pred, s.label),
            image_scores(a_gald.pred, s.label),
            error_views(s.image, s.label, a_ga.pred, a_gald.pred, opacity=0.5, display_hw=(512, 1024)),
        )
    )

    h, w = s.image.shape[:2]
    dh, dw = display_size(h, w, max_width=1024)
    static, t_static = _timed(
        lambda: static_panels(
            a_gald,
            s.image,
            s.label,
            display_hw=(dh, dw),
            background="image",
            opacity=0.5,
            ga_features=None,
            ga_view="channel mean",
            ga_channel=0,
            mask_channel=None,
            entropy=affinity_entropy_map(a_gald),
            share=same_class_share_map(a_gald, s.label),
        )
    )
    blob = pickle.dumps(a_gald, protocol=pickle.HIGHEST_PROTOCOL)
    rng = np.random.default_rng(0)
    clicks = []
    for _ in range(args.clicks):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        start = time.perf_counter()
        analysis = pickle.loads(blob)
        view = click_view(analysis, s.image, s.label, static, (x, y))
        _encode_page(view)
        clicks.append(time.perf_counter() - start)

    click_med = statistics.median(clicks) * 1000
    click_p95 = float(np.percentile(clicks, 95)) * 1000
    first = statistics.median(firsts)
    rows = [
        ("models loaded (GA + GALD)", f"{t_load:.2f} s", "", ""),
        ("first analysis, process cold (2 models, 1024×2048)", f"{t_cold:.2f} s", "", ""),
        (
            "first analysis of a new image (2 models, 1024×2048)",
            f"{first:.2f} s",
            "≤ 2 s",
            "yes" if first <= 2 else "NO",
        ),
        ("compare page scores + error maps", f"{t_scores:.2f} s", "", ""),
        ("inspector maps, once per image/view", f"{t_static * 1000:.0f} ms", "", ""),
        (
            "click → new affinity view, median",
            f"{click_med:.1f} ms",
            "≤ 50 ms",
            "yes" if click_med <= 50 else "NO",
        ),
        ("click → new affinity view, 95th percentile", f"{click_p95:.1f} ms", "", ""),
    ]
    print(
        f"App latency on {torch.get_num_threads()} CPU thread(s); GA {args.ga}, GALD {args.gald}; "
        f"analysis pickle {len(blob) / 1e6:.1f} MB"
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'measured':>10}  {'goal':>8}  met")
    for name, value, goal, met in rows:
        print(f"{name.ljust(width)}  {value:>10}  {goal:>8}  {met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
