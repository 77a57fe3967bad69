"""Speed of the G-SCNN boundary F-score: gald_viz vs the literal reference (dilation per class and threshold).

The reference is the fact sheet done the way G-SCNN's utils/f_boundary.py does it: for each class a
boundary map of the prediction and of the GT, then ``skimage.morphology.binary_dilation`` with
``disk(r)`` for each threshold. gald_viz gets every radius from one nearest-boundary query per class.
Both run on the same 1024×2048 maps with 19 classes at the paper's four thresholds (3/5/9/12 px); the
script checks that they agree and prints per-image times, the speed-up, and the projected time for 500
images (the Cityscapes val set; goal: <= 5 min on 2 cores, >= 50x faster than the reference).

Maps: SynthCity ground truth (gald_viz.data.synthcity) with a prediction made from it by a smooth random
warp (boundaries off by a few px, as a real network's), wrong-class blobs and dropped thin structures;
``--source blocky`` uses random blocky maps instead.

    python benchmarks/boundary_f.py [--images 8] [--oracle-images 1] [--workers 2] [--source synthcity]
"""

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage import morphology

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs as a plain script, package not installed
from gald_viz.metrics.boundary import DEFAULT_THRESHOLDS, boundary_prf, radii_px  # noqa: E402
from gald_viz.metrics.scoring import score_image  # noqa: E402

H, W, C = 1024, 2048, 19


def perturbed_prediction(gt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible prediction: GT warped by a smooth field (≈3 px), plus wrong blobs and lost thin parts."""
    h, w = gt.shape
    pred = np.where(gt == 255, ndimage.grey_dilation(np.where(gt == 255, 0, gt), size=9), gt)
    field = [
        ndimage.zoom(ndimage.gaussian_filter(rng.normal(size=(h // 32, w // 32)), 1.5), 32, order=1)
        for _ in "yx"
    ]
    yy, xx = np.mgrid[0:h, 0:w]
    sy = np.clip(np.rint(yy + 12 * field[0][:h, :w]), 0, h - 1).astype(np.intp)
    sx = np.clip(np.rint(xx + 12 * field[1][:h, :w]), 0, w - 1).astype(np.intp)
    pred = pred[sy, sx]
    for _ in range(25):
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(4, 40)
        y0, x0 = max(cy - r, 0), max(cx - r, 0)
        disk = (yy[y0 : cy + r, x0 : cx + r] - cy) ** 2 + (xx[y0 : cy + r, x0 : cx + r] - cx) ** 2 <= r * r
        pred[y0 : cy + r, x0 : cx + r][disk] = rng.integers(0, C)
    thin = np.isin(pred, (5, 6, 7))  # poles, lights, signs: their thinnest parts are lost to building
    pred[thin & (ndimage.uniform_filter(thin.astype(np.float32), 5) < 0.6)] = 2
    return pred.astype(np.uint8)


def blocky_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    coarse = rng.integers(0, C, size=(H // 64, W // 64))
    gt = np.kron(coarse, np.ones((64, 64), np.int64)).astype(np.uint8)
    gt[rng.random((H, W)) < 0.001] = 255
    gt[-80:] = 255
    return perturbed_prediction(gt, rng), gt


def make_pairs(n: int, source: str) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    if source == "synthcity":
        from gald_viz.data.synthcity import generate

        return [(perturbed_prediction(s.label, rng), s.label) for s in (generate(i, "val") for i in range(n))]
    return [blocky_pair(rng) for _ in range(n)]


def _seg2bmap(seg: np.ndarray) -> np.ndarray:
    seg = seg.astype(bool)
    e, s, se = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    e[:, :-1], s[:-1, :], se[:-1, :-1] = seg[:, 1:], seg[1:, :], seg[1:, 1:]
    b = (seg ^ e) | (seg ^ s) | (seg ^ se)
    b[-1, :] = seg[-1, :] ^ e[-1, :]
    b[:, -1] = seg[:, -1] ^ s[:, -1]
    b[-1, -1] = False
    return b


def reference_f(pred: np.ndarray, gt: np.ndarray, thresholds=DEFAULT_THRESHOLDS) -> np.ndarray:
    """G-SCNN's procedure, literally: per class, per threshold, two skimage disk dilations."""
    f = np.zeros((len(thresholds), C))
    for c in range(C):
        fg, gm = pred == c, gt == c
        fg[gt == 255] = False
        gm[gt == 255] = False
        fb, gb = _seg2bmap(fg), _seg2bmap(gm)
        n_fg, n_gt = fb.sum(), gb.sum()
        for t, th in enumerate(thresholds):
            r = int(np.ceil(th * np.linalg.norm(gt.shape)))
            with warnings.catch_warnings():  # deprecated in skimage 0.26, what G-SCNN calls
                warnings.simplefilter("ignore", FutureWarning)
                fd = morphology.binary_dilation(fb, morphology.disk(r))
                gd = morphology.binary_dilation(gb, morphology.disk(r))
            if n_fg == 0 and n_gt == 0:
                p, rec = 1.0, 1.0
            elif n_fg == 0 or n_gt == 0:
                p, rec = float(n_fg == 0), float(n_gt == 0)
            else:
                p, rec = np.sum(fb & gd) / float(n_fg), np.sum(gb & fd) / float(n_gt)
            f[t, c] = 0.0 if p + rec == 0 else 2 * p * rec / (p + rec)
    return f


def all_metrics(pair: tuple[np.ndarray, np.ndarray]) -> float:
    """What the folder CLI computes per image: every statistic of the scorer, no tolerance curve."""
    score_image(*pair, tolerance_radii=())
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=8, help="images timed for gald_viz")
    ap.add_argument(
        "--oracle-images", type=int, default=1, help="images timed for the reference (~30 s each)"
    )
    ap.add_argument("--workers", type=int, default=2, help="processes for the throughput row")
    ap.add_argument("--source", choices=("synthcity", "blocky"), default="synthcity")
    args = ap.parse_args()

    pairs = make_pairs(args.images, args.source)
    print(
        f"{args.images} {args.source} label maps {H}x{W}, {C} classes, thresholds {DEFAULT_THRESHOLDS} "
        f"= {'/'.join(map(str, radii_px(DEFAULT_THRESHOLDS, H, W)))} px; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"mean pixel accuracy of the perturbed predictions: "
        f"{np.mean([np.mean((p == g)[g != 255]) for p, g in pairs]):.3f}"
    )

    boundary_prf(*pairs[0])  # warm-up (imports, first allocation)
    t0 = time.perf_counter()
    ours = [boundary_prf(p, g) for p, g in pairs]
    t_ours = (time.perf_counter() - t0) / len(pairs)
    t0 = time.perf_counter()
    for pair in pairs:
        all_metrics(pair)
    t_all = (time.perf_counter() - t0) / len(pairs)

    t0 = time.perf_counter()
    ref = [reference_f(p, g) for p, g in pairs[: args.oracle_images]]
    t_ref = (time.perf_counter() - t0) / len(ref)
    diff = max(float(np.abs(r - o.f).max()) for r, o in zip(ref, ours, strict=False))

    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(all_metrics, pairs[: args.workers]))  # start the workers
        t0 = time.perf_counter()
        list(pool.map(all_metrics, pairs))
        t_pool = (time.perf_counter() - t0) / len(pairs)

    rows = [
        ("reference: skimage disk dilation per class and threshold, 1 process", t_ref),
        ("gald_viz boundary_prf, 1 process", t_ours),
        ("gald_viz score_image (IoU statistics + boundary P/R/F), 1 process", t_all),
        (f"gald_viz score_image, {args.workers} processes (throughput)", t_pool),
    ]
    print(f"\n{'method':<76} {'s / image':>10} {'speed-up':>9} {'500 images':>11}")
    for name, t in rows:
        total = 500 * t
        shown = f"{total / 60:.1f} min" if total < 3600 else f"{total / 3600:.1f} h"
        print(f"{name:<76} {t:>10.3f} {t_ref / t:>8.0f}x {shown:>11}")
    print(
        f"\nmax |F(gald_viz) - F(reference)| over {len(ref)} image(s), 19 classes, 4 thresholds: {diff:.1e}"
    )
    print(
        f"goals: >= 50x faster than the reference ({t_ref / t_ours:.0f}x, 1 process each); "
        f"500 images <= 5 min on {args.workers} cores ({500 * t_pool / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
