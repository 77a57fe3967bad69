"""Context reach at a pixel: how far from a clicked pixel the model's prediction there depends on.

GALD (Li et al., IEEE TIP 2021) argues that GA spreads context over the whole image and LD brings it
back to the right places. One way to see that at a pixel is the gradient of the pixel's predicted logit
with respect to the backbone features X (where GA and LD act) and to the model input: its magnitude per
position (the L2 norm over channels) says how much each position can move the prediction, and the radius
around the pixel that holds 50% or 90% of that mass says how far the model looks.

The logit at a native pixel is the model's class logit bilinearly upsampled to native size exactly as
:func:`gald_viz.inference.upsample_logits` does (only the predicted class's channel is upsampled, which is
the same number: upsampling is per channel). Positions are measured in native pixels: feature cells at
their centres (:class:`~gald_viz.mechanisms.geometry.CellGeometry`), model-input pixels at
x = (u + 0.5)·W/W' − 0.5. Padded positions (small images) count too, at their positions beyond the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from gald_viz.hooks import available_taps, model_lock
from gald_viz.inference import logit_geometry, model_input, padded_size, upsample_logits
from gald_viz.mechanisms.geometry import CellGeometry

__all__ = ["MASS_LEVELS", "Reach", "context_reach", "mass_radius", "radial_mass"]

#: The shares of the gradient mass whose radii are reported.
MASS_LEVELS: tuple[float, ...] = (0.5, 0.9)
#: Most points kept of a radial mass curve (for plotting; the radii use every position).
CURVE_POINTS = 256


@dataclass(frozen=True)
class Reach:
    """The gradient of one pixel's predicted logit, per position, and its radii.

    Attributes:
        native_xy: the pixel (x, y).
        class_id: the class whose logit was differentiated (the prediction at the pixel).
        logit: its value.
        feature_grad: h×w L2 norm over channels of ∂logit/∂X (backbone features), float32.
        input_grad: P_h×P_w L2 norm over the 3 colour channels of ∂logit/∂input (the padded model
            input), float32.
        feature_radii: share → radius in native pixels holding that share of ``feature_grad``'s mass
            (None when the gradient is zero everywhere).
        input_radii: the same for ``input_grad``.
        feature_curve: (distances, share) of :func:`radial_mass` for ``feature_grad``, at most
            :data:`CURVE_POINTS` points (every point for small maps).
        input_curve: the same for ``input_grad``.
    """

    native_xy: tuple[int, int]
    class_id: int
    logit: float
    feature_grad: np.ndarray
    input_grad: np.ndarray
    feature_radii: dict[float, float | None]
    input_radii: dict[float, float | None]
    feature_curve: tuple[np.ndarray, np.ndarray]
    input_curve: tuple[np.ndarray, np.ndarray]


def radial_mass(
    magnitude: np.ndarray, px: np.ndarray, py: np.ndarray, centre: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The cumulative share of ``magnitude`` within each distance of ``centre``.

    Args:
        magnitude: non-negative values, any shape.
        px, py: native x and y of each value (same shape).
        centre: native (x, y).

    Returns:
        (distances, share): distinct distances in increasing order and, for each, the share of the total
        held by positions at that distance or closer (ends at 1; all zeros when the total is 0).

    >>> radial_mass(np.array([1.0, 3.0]), np.array([0.0, 2.0]), np.array([0.0, 0.0]), (0.0, 0.0))
    (array([0., 2.]), array([0.25, 1.  ]))
    """
    m = np.asarray(magnitude, np.float64).ravel()
    d = np.hypot(
        np.asarray(px, np.float64).ravel() - centre[0], np.asarray(py, np.float64).ravel() - centre[1]
    )
    order = np.argsort(d, kind="stable")
    d, m = d[order], m[order]
    cum = np.cumsum(m)
    last = np.r_[d[1:] != d[:-1], True]
    total = cum[-1] if cum.size else 0.0
    share = cum[last] / total if total > 0 else np.zeros(int(last.sum()))
    return d[last], share


def mass_radius(distances: np.ndarray, share: np.ndarray, level: float) -> float | None:
    """The smallest distance whose cumulative share reaches ``level`` (None for a zero gradient).

    >>> mass_radius(np.array([0.0, 2.0]), np.array([0.25, 1.0]), 0.5)
    2.0
    """
    if share.size == 0 or share[-1] <= 0:
        return None
    # A tolerance for the float sum: a share of 0.9 that sums to 0.8999999999 still counts.
    index = int(np.searchsorted(share, level - 1e-9, side="left"))
    return float(distances[min(index, distances.size - 1)])


def _radii(magnitude, px, py, centre):
    """(share → radius, subsampled curve) of one gradient map."""
    distances, share = radial_mass(magnitude, px, py, centre)
    radii = {level: mass_radius(distances, share, level) for level in MASS_LEVELS}
    if distances.size > CURVE_POINTS:
        keep = np.unique(np.linspace(0, distances.size - 1, CURVE_POINTS).round().astype(int))
        distances, share = distances[keep], share[keep]
    return radii, (distances, share)


def _backbone_module(model: torch.nn.Module) -> torch.nn.Module:
    paths = {t.name: t.module for t in available_taps(model)}
    if "backbone" not in paths:
        raise ValueError(f"context_reach: model {type(model).__name__} has no 'backbone' tap (X)")
    return model.get_submodule(paths["backbone"])


def context_reach(
    model: torch.nn.Module,
    image: np.ndarray,
    native_xy: tuple[int, int],
    *,
    class_id: int | None = None,
) -> Reach:
    """One forward and one backward of ``model`` on ``image`` for the logit at ``native_xy``.

    Args:
        model: a zoo or official model (needs the ``backbone`` tap).
        image: H×W×3 uint8 RGB.
        native_xy: the pixel (x, y), inside the image.
        class_id: the class whose logit to differentiate; None: the predicted class at the pixel.

    The forward runs where the model's parameters are.

    Raises:
        ValueError: the pixel is outside the image or the model has no backbone tap (named).
    """
    h, w = image.shape[:2]
    x, y = int(native_xy[0]), int(native_xy[1])
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"context_reach: pixel ({x}, {y}) is outside the {w}×{h} image")
    tap = _backbone_module(model)
    inp = model_input(model, image)
    size = (int(inp.shape[2]), int(inp.shape[3]))
    padded = padded_size(model, *size)
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    inp = F.pad(inp, (0, padded[1] - size[1], 0, padded[0] - size[0])).to(device)
    inp.requires_grad_(True)
    seen: dict[str, torch.Tensor] = {}

    def keep(_module, _inputs, output):
        seen["X"] = output

    with model_lock(model):
        was_training = model.training
        model.eval()
        handle = tap.register_forward_hook(keep)
        try:
            with torch.enable_grad():
                logits = model(inp)
                geometry = logit_geometry(model)
                if class_id is None:
                    with torch.no_grad():
                        full = upsample_logits(logits.detach(), padded, size, (h, w), **geometry)
                        class_id = int(full[0, :, y, x].argmax())
                one = logits[:, class_id : class_id + 1]
                value = upsample_logits(one, padded, size, (h, w), **geometry)[0, 0, y, x]
                g_x, g_in = torch.autograd.grad(value, [seen["X"], inp])
        finally:
            handle.remove()
            model.train(was_training)
    feature_grad = g_x[0].float().norm(dim=0).cpu().numpy()
    input_grad = g_in[0].float().norm(dim=0).cpu().numpy()
    cells = CellGeometry.from_model(model, (h, w), feature_grad.shape)
    rows, cols = np.meshgrid(
        np.arange(feature_grad.shape[0]), np.arange(feature_grad.shape[1]), indexing="ij"
    )
    fx, fy = cells.centres(rows, cols)
    sy, sx = cells.scale
    vv, uu = np.meshgrid(np.arange(padded[0]), np.arange(padded[1]), indexing="ij")
    ix, iy = (uu + 0.5) * sx - 0.5, (vv + 0.5) * sy - 0.5
    feature_radii, feature_curve = _radii(feature_grad, fx, fy, (x, y))
    input_radii, input_curve = _radii(input_grad, ix, iy, (x, y))
    return Reach(
        native_xy=(x, y),
        class_id=int(class_id),
        logit=float(value.detach()),
        feature_grad=feature_grad.astype(np.float32),
        input_grad=input_grad.astype(np.float32),
        feature_radii=feature_radii,
        input_radii=input_radii,
        feature_curve=feature_curve,
        input_curve=input_curve,
    )
