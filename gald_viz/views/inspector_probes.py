"""The inspector's probes at the current image and pixel: knock-outs applied live, and context reach.

Issue #12: the knock-outs of :mod:`gald_viz.interventions` on the image in view (the knocked-out
prediction, the changed pixels, Δ mIoU and Δ mean boundary F on this image), and the gradient reach of
the GA and GALD models at the clicked pixel (:mod:`gald_viz.mechanisms.reach`).
"""

from dataclasses import dataclass

import cv2
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from gald_viz.analysis import Analysis
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.interventions import INTERVENTIONS, intervene
from gald_viz.mechanisms.reach import Reach
from gald_viz.views.parts import display_hw
from gald_viz.viz.compare import ImageScores
from gald_viz.viz.features import colorbar, robust_range, scalar_rgb
from gald_viz.viz.figures import class_name
from gald_viz.viz.overlays import blend, draw_crosshair, label_overlay, resize


def knockouts_for(model) -> list[str]:
    """The interventions (:data:`gald_viz.interventions.INTERVENTIONS`) ``model`` has the modules for."""
    names = []
    for name in INTERVENTIONS:
        try:
            with intervene(model, name):
                names.append(name)
        except ValueError:
            continue
    return names


@dataclass
class KnockoutPart:
    """A knock-out on the current image: its prediction, the changed pixels and the score changes."""

    title: str
    panels: list[tuple[str, np.ndarray]]
    table: pd.DataFrame | None
    caption: str
    ncols: int = 3


def knockout_part(
    an: Analysis,
    sample: Sample,
    name: str,
    knocked_pred: np.ndarray,
    scores: tuple[ImageScores, ImageScores] | None,
    *,
    model_name: str,
    opacity: float,
    label_set: LabelSet = CITYSCAPES,
) -> KnockoutPart:
    """The knocked-out prediction beside the intact one, the changed-pixel map and Δ mIoU / Δ boundary F.

    Args:
        scores: (intact, knocked-out) scores of the image, None without GT.
    """
    hw = display_hw(sample.image)
    small = resize(sample.image, *hw)
    changed = knocked_pred != an.pred
    shown = resize(changed.astype(np.uint8), *hw, labels=True) > 0
    changed_rgb = blend(small, np.full_like(small, (213, 94, 0)), 0.85, mask=shown)
    panels = [
        ("intact prediction", label_overlay(small, resize(an.pred, *hw, labels=True), opacity, label_set)),
        (
            f"prediction with {name}",
            label_overlay(small, resize(knocked_pred, *hw, labels=True), opacity, label_set),
        ),
        (
            f"changed pixels (orange): {int(changed.sum())} of {changed.size} ({changed.mean():.2%})",
            changed_rgb,
        ),
    ]
    table = None
    if scores is not None:
        intact, knocked = scores
        rows = {"mIoU": (intact.miou, knocked.miou)}
        for radius, a, b in zip(intact.radii, intact.mean_f, knocked.mean_f, strict=True):
            rows[f"mean boundary F @ {radius} px"] = (float(a), float(b))
        table = pd.DataFrame(
            [(k, f"{100 * a:.2f}", f"{100 * b:.2f}", f"{100 * (b - a):+.2f}") for k, (a, b) in rows.items()],
            columns=["score", "intact (%)", "knocked out (%)", "Δ (points)"],
        )
    caption = (
        f"`{model_name}` on {sample.name} with `{name}` (one forward under gald_viz.interventions.intervene: "
        "the cached analysis keeps channel means, not the full features, so no knock-out can reuse them). "
        "Δ = knocked out − intact, on this image only (the Mechanisms page gives intervals over a data set)."
    )
    return KnockoutPart(title=f"Knock-out: {name}", panels=panels, table=table, caption=caption)


@dataclass
class ReachPart:
    """Context reach at the point for both models: gradient maps with 50/90% rings, radii and curves."""

    panels: list[tuple[str, np.ndarray]]
    table: pd.DataFrame
    curves: go.Figure
    caption: str
    ncols: int = 2


def _gradient_panel(grad: np.ndarray, native_xy, native_size, hw, radii) -> np.ndarray:
    """A gradient magnitude map (covering the image) at display size ``hw``: rings at the radii, the
    point's crosshair, and a colour bar 0 … 99th percentile."""
    lo, hi = 0.0, max(robust_range(grad)[1], float(grad.max()) * 1e-3, 1e-12)
    rgb = np.ascontiguousarray(resize(scalar_rgb(grad, lo, hi, cmap="viridis"), *hw, labels=True))
    sx, sy = hw[1] / native_size[1], hw[0] / native_size[0]
    cx, cy = (native_xy[0] + 0.5) * sx, (native_xy[1] + 0.5) * sy
    for level, colour in ((0.5, (255, 255, 255)), (0.9, (255, 0, 255))):
        if radii.get(level) is not None:
            radius = max(1, round(radii[level] * sx))
            cv2.circle(rgb, (round(cx), round(cy)), radius, colour, 1, lineType=cv2.LINE_AA)
    rgb = draw_crosshair(rgb, cx, cy)
    return np.vstack([rgb, colorbar(rgb.shape[1], lo, hi, cmap="viridis", label="|grad|")])


def _radius_text(r: float | None) -> str:
    return "n/a (zero gradient)" if r is None else f"{r:.1f}"


def reach_part(
    reaches: dict[str, Reach],
    models: dict[str, object],
    native_size,
    input_sizes,
    label_set: LabelSet = CITYSCAPES,
) -> ReachPart:
    """Side-by-side reach of the GA and GALD models at one pixel.

    Args:
        reaches: role ("GA", "GALD") → :class:`~gald_viz.mechanisms.reach.Reach`.
        models: role → display name.
        native_size: (H, W).
        input_sizes: role → (H', W') unpadded model input size.
        label_set: names the predicted class.
    """
    big = display_hw(np.zeros((*native_size, 1), np.uint8))
    hw = (max(1, big[0] // 2), max(1, big[1] // 2))
    panels, rows = [], []
    curves = go.Figure()
    for role, reach in reaches.items():
        ih, iw = input_sizes[role]
        xy, name = reach.native_xy, models[role]
        panels.append(
            (
                f"{role} `{name}`: |∂logit/∂X| (backbone features)",
                _gradient_panel(reach.feature_grad, xy, native_size, hw, reach.feature_radii),
            )
        )
        panels.append(
            (
                f"{role} `{name}`: |∂logit/∂input|",
                _gradient_panel(reach.input_grad[:ih, :iw], xy, native_size, hw, reach.input_radii),
            )
        )
        for what, radii, (d, share) in (
            ("X", reach.feature_radii, reach.feature_curve),
            ("input", reach.input_radii, reach.input_curve),
        ):
            cls = class_name(reach.class_id, label_set)
            rows.append((role, name, what, cls, _radius_text(radii[0.5]), _radius_text(radii[0.9])))
            curves.add_scatter(x=d, y=share, mode="lines", name=f"{role} ∂/∂{what}")
    curves.update_layout(
        xaxis_title="distance from the pixel (native px)",
        yaxis_title="share of gradient mass",
        height=320,
        margin={"l": 50, "r": 10, "t": 10, "b": 40},
    )
    table = pd.DataFrame(rows, columns=["model", "name", "gradient w.r.t.", "class", "r50 (px)", "r90 (px)"])
    caption = (
        "Gradient of the pixel's predicted-class logit (bilinearly upsampled as in inference) with respect "
        "to the backbone features X and to the model input; magnitude = L2 norm over channels per position; "
        "r50/r90 = smallest radius around the pixel (native px; cells at their centres) holding 50%/90% of "
        "the magnitude. Rings: white r50, magenta r90. One forward and backward per model and pixel."
    )
    by_kind = panels[0::2] + panels[1::2]  # row 1: ∂/∂X of each model, row 2: ∂/∂input
    return ReachPart(panels=by_kind, table=table, curves=curves, caption=caption, ncols=len(reaches))
