"""The mIoU a perfect predictor could reach if it only decides one class per feature cell.

A model with output stride 8 run at ``input_scale`` s decides one class per cell of ``8 / s`` native
pixels (logits are upsampled afterwards). This script takes the *true* label at each cell centre and
spreads it to the native pixels nearest that centre, then scores that map against the full-resolution
labels with the project's IoU (cityscapesScripts' definition). Whatever a network at that stride learns,
thin classes (poles, traffic lights, bicycles) cannot score much above this; bilinear upsampling of
logits can do a little better than nearest cells, so read it as an estimate, not a hard bound.

    python scripts/resolution_ceiling.py --images 8 --scales 0.5 0.75 1.0
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES  # noqa: E402
from gald_viz.data.synthcity import generate  # noqa: E402
from gald_viz.metrics.confusion import confusion_matrix, iou_per_class, mean_iou  # noqa: E402


def cell_map(label: np.ndarray, stride: float) -> np.ndarray:
    """``label`` sampled at cell centres ``stride * j`` and spread to each pixel's nearest centre."""
    h, w = label.shape
    rows = np.minimum(np.rint(np.arange(h) / stride) * stride, h - 1).round().astype(np.int64)
    cols = np.minimum(np.rint(np.arange(w) / stride) * stride, w - 1).round().astype(np.int64)
    return label[np.ix_(rows, cols)]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=8, help="SynthCity val images (1024x2048, seed 0)")
    p.add_argument("--scales", type=float, nargs="+", default=[0.5, 0.75, 1.0], help="model input_scale")
    p.add_argument("--output-stride", type=int, default=8)
    a = p.parse_args(argv)
    labels = [generate(i, split="val", seed=0).label for i in range(a.images)]
    print(f"SynthCity val, {a.images} images at 1024x2048; per-class IoU in the order:")
    print(", ".join(CLASS_NAMES))
    print("| input_scale | cell (px) | ceiling mIoU (%) | per class (%) |")
    print("|---:|---:|---:|---|")
    for scale in a.scales:
        stride = a.output_stride / scale
        cm = sum(
            confusion_matrix(cell_map(lab, stride), lab, num_classes=NUM_CLASSES, ignore_index=IGNORE_INDEX)
            for lab in labels
        )
        iou = iou_per_class(cm)
        per = " ".join(f"{100 * v:.0f}" for v in iou)
        print(f"| {scale:g} | {stride:.2f} | {100 * mean_iou(cm):.1f} | {per} |")


if __name__ == "__main__":
    main()
