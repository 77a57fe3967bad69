"""The app's compute path: one recorded forward per image, then cheap numpy look-ups per click.

:func:`analyse` runs a model once on an image with every tap recorded (GALD, Li et al., IEEE TIP 2021:
the GA output X_g, the LDv1 mask M of Eq. 1, the LDv2 affinities of Eq. 7, the Fig. 8 probe predictions)
and keeps compact CPU numpy arrays. :func:`affinity_at` then answers "what does LDv2 look at from this
pixel?" by indexing those arrays, well under a millisecond.

Geometry (the scale chain): a native image H×W is resized by ``model.input_scale`` to the model input
H'×W' (cv2 pixel-centre convention), padded to ``min_input_size`` if smaller, and the model's feature
cell (row j, column i) is centred on model-input pixel (``stride``·i, ``stride``·j) (zoo models,
``"cell_centres"``) or stretched over the padded input (official models, ``"stretch"``). In native
pixels a zoo cell centre is therefore x = (stride·i + 0.5)·W/W' − 0.5, and the effective stride is
stride·W/W'. :class:`~gald_viz.mechanisms.geometry.CellGeometry` is the one definition of both
(:attr:`Analysis.cells`).

LDv2 neighbours of cell (j, i) are the cells (j + r·a, i + r·b), a, b ∈ {−k//2 … k//2}, in row-major
order (:func:`gald_viz.models.ldv2.window_offsets`). Neighbours outside the feature map are zero-padded
(:mod:`gald_viz.models.ldv2`): they keep a softmax weight (logit 0) but carry no value.
:class:`AffinityView` flags them and reports their share.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from gald_viz.hooks import FeatureRecorder, available_taps, model_lock
from gald_viz.inference import (
    check_finite_logits,
    class_argmax,
    logit_geometry,
    model_input,
    padded_size,
    resolve_device,
    upsample_logits,
)
from gald_viz.mechanisms.geometry import CellGeometry
from gald_viz.models.contract import SegmentationModel
from gald_viz.models.ldv2 import window_offsets

#: Taps reduced to a channel-mean map (h×w) for display.
MEAN_MAP_TAPS = ("backbone", "ga", "ld", "ldv1.mask")

__all__ = [
    "MEAN_MAP_TAPS",
    "AffinityView",
    "Analysis",
    "AnalysisError",
    "affinity_at",
    "affinity_entropy_map",
    "analyse",
    "model_lock",
    "same_class_share_map",
]


class AnalysisError(ValueError):
    """A request the analysed model or image cannot answer (no LDv2, pixel outside the image…)."""


@dataclass
class Analysis:
    """Everything the app shows for one (model, image), as CPU numpy arrays.

    Attributes:
        arch: the model's architecture name.
        pred: H×W uint8 trainIds (native size).
        confidence: H×W float16 max softmax probability (computed at the model-input size, resized).
        native_size: (H, W) of the image.
        input_size: (H', W') after ``input_scale`` (the model input, before padding).
        feature_size: (h, w) of the stride-``stride`` maps.
        stride: model-input pixels per feature cell (8).
        logit_geometry: where cells sit on the model input, ``"cell_centres"`` (zoo) or ``"stretch"``
            (official models; :class:`~gald_viz.mechanisms.geometry.CellGeometry`).
        padded_size: (P_h, P_w) fed to the model (None: ``input_size``).
        maps: channel-mean maps h×w float32 of the taps in :data:`MEAN_MAP_TAPS` the model has.
        ga_features: the full GA output X_g, C×h×w float16, for PCA and single-channel views (None
            without a GA head).
        ldv1_mask: the full LDv1 mask M, C×h×w float16 (None without LDv1).
        affinity: LDv2 softmax weights k²×h×w float32, row-major window (None without LDv2).
        ldv2_kernel: k (None without LDv2).
        ldv2_dilation: r (None without LDv2).
        probe_preds: ``"probe.backbone"``/``"probe.ga"`` → H×W uint8 stage predictions (Fig. 8), taken at
            the model-input size and resized to native size with nearest neighbour.
    """

    arch: str
    pred: np.ndarray
    confidence: np.ndarray
    native_size: tuple[int, int]
    input_size: tuple[int, int]
    feature_size: tuple[int, int]
    stride: int
    logit_geometry: str = "cell_centres"
    padded_size: tuple[int, int] | None = None
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    ga_features: np.ndarray | None = None
    ldv1_mask: np.ndarray | None = None
    affinity: np.ndarray | None = None
    ldv2_kernel: int | None = None
    ldv2_dilation: int | None = None
    probe_preds: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def cells(self) -> CellGeometry:
        """Where the feature cells sit on the native image."""
        return CellGeometry.of(self)

    @property
    def scale(self) -> tuple[float, float]:
        """Native pixels per model-input pixel, (y, x)."""
        return self.cells.scale

    @property
    def effective_stride(self) -> tuple[float, float]:
        """Native pixels per feature cell, (y, x)."""
        return self.cells.effective_stride

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """Feature cell (row, col) whose centre is nearest to native pixel (x, y)."""
        return self.cells.nearest_cell(x, y)

    def cell_centre(self, row: np.ndarray | float, col: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Native (x, y) of feature cell centres (may lie outside the image for outside cells)."""
        return self.cells.centres(row, col)


@dataclass(frozen=True)
class AffinityView:
    """The LDv2 affinity at one clicked pixel (GALD Eq. 7).

    Attributes:
        x, y: the clicked native pixel.
        cell: its feature cell (row, col).
        centre: native (x, y) of that cell's centre.
        weights: k×k softmax weights (sum 1), row-major as the window.
        positions: k×k×2 native (x, y) of the neighbours' cell centres.
        inside: k×k bool, neighbour inside the feature map (outside ones are zero-padded).
        outside_share: total weight on outside neighbours.
        entropy: Shannon entropy of the k² weights, nats.
        entropy_normalised: entropy / log(k²), in [0, 1] (1 = uniform).
        same_class_share: weight on neighbours whose GT class (at their cell centre) equals the clicked
            pixel's; outside and ignore-labelled neighbours count as different. None without GT or when
            the clicked pixel is ignore (255).
        gt_class: GT trainId at the click (None without GT).
        pred_class: predicted trainId at the click.
    """

    x: int
    y: int
    cell: tuple[int, int]
    centre: tuple[float, float]
    weights: np.ndarray
    positions: np.ndarray
    inside: np.ndarray
    outside_share: float
    entropy: float
    entropy_normalised: float
    same_class_share: float | None
    gt_class: int | None
    pred_class: int


def analyse(model: SegmentationModel, image: np.ndarray, *, device: str | torch.device = "auto") -> Analysis:
    """Run ``model`` once on ``image`` with every tap recorded and return compact arrays.

    The forward is whole-image (taps need one consistent feature map), under :func:`model_lock`.

    Args:
        model: a zoo or official model.
        image: H×W×3 uint8 RGB.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``…

    Returns:
        :class:`Analysis` with prediction, confidence, tap maps and the scale chain.
    """
    dev = resolve_device(device)
    x = model_input(model, image)
    native = (int(image.shape[0]), int(image.shape[1]))
    size = (int(x.shape[2]), int(x.shape[3]))
    padded = padded_size(model, *size)
    x = F.pad(x, (0, padded[1] - size[1], 0, padded[0] - size[0])).to(dev)
    names = [t.name for t in available_taps(model)]
    with model_lock(model):
        was_training = model.training
        model.to(dev).eval()
        try:
            with torch.inference_mode(), FeatureRecorder(model, names) as rec:
                logits = model(x)
        finally:
            model.train(was_training)
    taps = {n: v.float() for n, v in rec.outputs.items()}
    geometry = logit_geometry(model)
    logits = logits.cpu()
    check_finite_logits(model, logits)
    # The prediction is exact at native size (it equals inference.predict). The confidence and the probe
    # stage predictions are display aids: they are computed at the model-input size and resized, which
    # saves two K×H×W passes at native size (for input_scale 0.5, 4× the pixels).
    pred = class_argmax(upsample_logits(logits, padded, size, native, **geometry)[0])
    conf = torch.softmax(upsample_logits(logits, padded, size, **geometry)[0], dim=0).amax(0)
    has_ldv2 = "ldv2.affinity" in taps
    return Analysis(
        arch=model.arch,
        pred=pred.numpy(),
        confidence=_resize(conf.numpy(), native, cv2.INTER_LINEAR).astype(np.float16),
        native_size=native,
        input_size=size,
        feature_size=(int(logits.shape[2]), int(logits.shape[3])),
        stride=geometry["stride"],
        logit_geometry=geometry["geometry"],
        padded_size=padded,
        maps={n: taps[n][0].mean(0).numpy() for n in MEAN_MAP_TAPS if n in taps},
        ga_features=taps["ga"][0].to(torch.float16).numpy() if "ga" in taps else None,
        ldv1_mask=taps["ldv1.mask"][0].to(torch.float16).numpy() if "ldv1.mask" in taps else None,
        affinity=taps["ldv2.affinity"][0].numpy() if has_ldv2 else None,
        ldv2_kernel=model.ldv2_kernel if has_ldv2 else None,
        ldv2_dilation=model.ldv2_dilation if has_ldv2 else None,
        probe_preds={
            n: _resize(
                class_argmax(upsample_logits(taps[n], padded, size, **geometry)[0]).numpy(),
                native,
                cv2.INTER_NEAREST,
            )
            for n in ("probe.backbone", "probe.ga")
            if n in taps
        },
    )


def _resize(array: np.ndarray, size: tuple[int, int], interpolation: int) -> np.ndarray:
    """Resize an h×w map to ``size`` (H, W) with OpenCV's pixel-centre convention (no-op when equal)."""
    if array.shape[:2] == tuple(size):
        return array
    return cv2.resize(array, (size[1], size[0]), interpolation=interpolation)


def _window(analysis: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) cell offsets of the k² LDv2 neighbours, row-major like the affinity channels."""
    if analysis.affinity is None or analysis.ldv2_kernel is None or analysis.ldv2_dilation is None:
        raise AnalysisError(f"model {analysis.arch!r} has no LDv2 affinity to look at")
    return window_offsets(analysis.ldv2_kernel, analysis.ldv2_dilation)


def _check_gt(analysis: Analysis, gt: np.ndarray) -> np.ndarray:
    gt = np.asarray(gt)
    if gt.shape != analysis.native_size:
        raise AnalysisError(f"gt has shape {gt.shape}, the analysed image is {analysis.native_size}")
    return gt


def _gt_at(analysis: Analysis, gt: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """GT label at the native pixel nearest to each cell centre (clamped into the image)."""
    return gt[analysis.cells.nearest_pixels(rows, cols)]


def _entropy(weights: np.ndarray, axis: int = 0) -> np.ndarray:
    w = np.clip(weights, 0.0, None)
    return -(w * np.log(np.where(w > 0, w, 1.0))).sum(axis=axis)


def affinity_at(analysis: Analysis, x: int, y: int, gt: np.ndarray | None = None) -> AffinityView:
    """The LDv2 affinity at the feature cell of native pixel (x, y) (GALD Eq. 7), by array indexing.

    Args:
        analysis: from :func:`analyse` on an LDv2 model.
        x, y: native pixel (column, row).
        gt: optional H×W trainId map of the image (255 = ignore) for the same-class share.

    Raises:
        AnalysisError: no LDv2 in the model, pixel outside the image, or GT of the wrong size.
    """
    dy, dx = _window(analysis)
    h_img, w_img = analysis.native_size
    if not (0 <= x < w_img and 0 <= y < h_img):
        raise AnalysisError(f"pixel (x={x}, y={y}) is outside the {w_img}×{h_img} image")
    x, y = int(x), int(y)
    cells = analysis.cells
    row, col = cells.nearest_cell(x, y)
    k = analysis.ldv2_kernel
    weights = analysis.affinity[:, row, col].astype(np.float64)
    rows, cols = row + dy, col + dx
    inside = cells.in_map(rows, cols)
    px, py = cells.centres(rows, cols)
    cx, cy = cells.centres(row, col)
    entropy = float(_entropy(weights))
    same = gt_class = None
    if gt is not None:
        gt = _check_gt(analysis, gt)
        gt_class = int(gt[y, x])
        if gt_class != 255:
            match = inside & (_gt_at(analysis, gt, rows, cols) == gt_class)
            same = float(weights[match].sum())
    return AffinityView(
        x=x,
        y=y,
        cell=(row, col),
        centre=(float(cx), float(cy)),
        weights=weights.reshape(k, k),
        positions=np.stack([px, py], axis=-1).reshape(k, k, 2),
        inside=inside.reshape(k, k),
        outside_share=float(weights[~inside].sum()),
        entropy=entropy,
        entropy_normalised=entropy / math.log(k * k) if k > 1 else 0.0,
        same_class_share=same,
        gt_class=gt_class,
        pred_class=int(analysis.pred[y, x]),
    )


def affinity_entropy_map(analysis: Analysis, *, normalised: bool = False) -> np.ndarray:
    """Entropy (nats, or / log k² if ``normalised``) of the LDv2 weights at every cell: h×w float32."""
    _window(analysis)
    ent = _entropy(analysis.affinity.astype(np.float64))
    if normalised and analysis.ldv2_kernel > 1:
        ent = ent / math.log(analysis.ldv2_kernel**2)
    return ent.astype(np.float32)


def same_class_share_map(analysis: Analysis, gt: np.ndarray) -> np.ndarray:
    """Per cell, the LDv2 weight on neighbours with the same GT class as the cell: h×w float32.

    Classes are read at cell centres (nearest native pixel); outside and ignore-labelled neighbours count
    as different; cells whose own centre is ignore (255) are NaN.
    """
    dy, dx = _window(analysis)
    gt = _check_gt(analysis, gt)
    h, w = analysis.feature_size
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    centre = _gt_at(analysis, gt, rows, cols).astype(np.int16)
    pad = int(max(np.abs(dy).max(), np.abs(dx).max()))
    padded = np.pad(centre, pad, constant_values=-1)
    share = np.zeros((h, w), np.float64)
    for n in range(dy.size):
        shifted = padded[pad + dy[n] : pad + dy[n] + h, pad + dx[n] : pad + dx[n] + w]
        share += np.where(shifted == centre, analysis.affinity[n], 0.0)
    share[centre == 255] = np.nan
    return share.astype(np.float32)
