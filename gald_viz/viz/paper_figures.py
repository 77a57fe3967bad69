"""Publication exports: matplotlib figures in the GALD paper's layouts, saved as PNG or PDF.

Li et al., "Global Aggregation then Local Distribution for Scene Parsing", IEEE TIP 2021
(https://arxiv.org/abs/1909.07229): Fig. 7 shows LDv1 masks (mean of M over channels), Fig. 8 the
predictions of one network at its FCN, GA and GALD stages, Fig. 9 LDv2 affinity maps at chosen points,
Fig. 10 error maps of GA and GALD. Every figure carries a class legend and a caption with the
convention (image size, ignore label, thresholds) so it can go into a paper as is.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``, no pyplot state), so the
app can render them in a download callback on another thread.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.metrics.conventions import PAPER_RADII_PX
from gald_viz.viz.features import data_range

EXPORT_WIDTH = 1024
"""Pixel width images are embedded at: sharp in print, files of a few MB at most."""


@dataclass
class Panel:
    """One image in a figure: an RGB array, or a scalar map drawn with a colour map and colour bar.

    Attributes:
        title: text above the panel.
        image: H×W×3 uint8, or H×W float (then ``cmap`` is used).
        cmap, vmin, vmax: colour map and range for scalar maps.
        cbar_label: label of the colour bar (scalar maps only).
        marker: (x, y) in this image's pixels to mark with a cross, or None.
    """

    title: str
    image: np.ndarray
    cmap: str | None = None
    vmin: float | None = None
    vmax: float | None = None
    cbar_label: str = ""
    marker: tuple[float, float] | None = None


def _shrink(image: np.ndarray, max_width: int) -> tuple[np.ndarray, int]:
    """Stride-subsample wide images for embedding; returns the image and the step used."""
    step = max(1, int(np.ceil(image.shape[1] / max_width)))
    return image[::step, ::step], step


def classes_present(*label_maps: np.ndarray, label_set: LabelSet = CITYSCAPES) -> list[int]:
    """Sorted trainIds (0..K-1) that occur in any of the maps: the legend shows only those.

    >>> classes_present(np.array([[0, 255]]), np.array([[2]]))
    [0, 2]
    """
    found: set[int] = set()
    for m in label_maps:
        ids = np.unique(np.asarray(m))
        found.update(int(i) for i in ids if i < label_set.num_classes)
    return sorted(found)


def layout(
    panels: Sequence[Panel],
    *,
    caption: str,
    ncols: int | None = None,
    legend_classes: Sequence[int] = (),
    extra_legend: dict[str, tuple[int, int, int]] | None = None,
    panel_width_in: float = 3.4,
    label_set: LabelSet = CITYSCAPES,
) -> Figure:
    """A grid of panels with a class legend and a caption below (the layout of GALD Figs. 7-10).

    Args:
        panels: the images, row-major.
        caption: convention and provenance, printed under the figure.
        ncols: panels per row (default: all in one row).
        legend_classes: trainIds whose colours the legend lists.
        extra_legend: more legend entries (name → RGB), e.g. the four-way map's states.
        panel_width_in: width of one panel in inches.
        label_set: the legend's class names and colours.

    Returns:
        The figure (save it with :func:`figure_bytes`).
    """
    n = len(panels)
    ncols = ncols or n
    nrows = int(np.ceil(n / ncols))
    h, w = panels[0].image.shape[:2]
    panel_h = panel_width_in * h / w + 0.3
    entries = [
        Patch(color=label_set.color_array[c] / 255, label=label_set.class_names[c]) for c in legend_classes
    ]
    entries += [Patch(color=np.array(rgb) / 255, label=name) for name, rgb in (extra_legend or {}).items()]
    fig, top = _with_footer(ncols * panel_width_in, nrows * panel_h, entries, caption)
    axes = top.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, p in zip(axes, panels, strict=False):
        img, step = _shrink(p.image, EXPORT_WIDTH)
        if img.ndim == 2:
            im = ax.imshow(img, cmap=p.cmap or "viridis", vmin=p.vmin, vmax=p.vmax, interpolation="nearest")
            bar = top.colorbar(im, ax=ax, fraction=0.035, pad=0.02, shrink=0.8)
            bar.ax.tick_params(labelsize=6)
            if p.cbar_label:
                bar.set_label(p.cbar_label, fontsize=6)
        else:
            ax.imshow(img, interpolation="nearest")
        if p.marker is not None:
            ax.plot(p.marker[0] / step, p.marker[1] / step, marker="+", color="magenta", ms=9, mew=1.6)
        ax.set_title(p.title, fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    return fig


def _with_footer(width_in: float, body_h_in: float, entries: list[Patch], caption: str):
    """A figure split into a body (returned, for the panels) and a footer with legend and caption.

    The footer is its own subfigure, so legend and caption never overlap the panels or each other.
    """
    legend_rows = int(np.ceil(len(entries) / 7))
    chars_per_line = max(40, int(width_in * 22))
    caption_lines = 1 + len(caption) // chars_per_line
    footer_h = 0.17 * legend_rows + 0.12 * caption_lines + 0.1
    fig = Figure(figsize=(width_in, body_h_in + footer_h), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[body_h_in, footer_h])
    if entries:
        bottom.legend(
            handles=entries,
            loc="upper center",
            ncol=min(7, len(entries)),
            fontsize=6,
            frameon=False,
            handlelength=1.0,
            columnspacing=0.8,
            borderaxespad=0.1,
        )
    bottom.text(0.5, 0.02, caption, ha="center", va="bottom", fontsize=6, wrap=True)
    return fig, top


def figure_bytes(fig: Figure, fmt: str) -> bytes:
    """Save a figure as ``"png"`` (200 dpi) or ``"pdf"`` and return the file's bytes.

    Raises:
        ValueError: an unknown format.
    """
    if fmt not in ("png", "pdf"):
        raise ValueError(f"fmt: {fmt!r} is not 'png' or 'pdf'")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=200, metadata={"Creator": "gald-viz"} if fmt == "pdf" else None)
    return buf.getvalue()


def fig7_ldv1_mask(
    image: np.ndarray,
    mask_mean: np.ndarray,
    prediction: np.ndarray,
    *,
    caption: str,
    channel: tuple[int, np.ndarray] | None = None,
    label_set: LabelSet = CITYSCAPES,
) -> Figure:
    """GALD Fig. 7: the image, the LDv1 mask (mean of M over channels, Eq. 1) and the prediction.

    Args:
        image: H×W×3 uint8.
        mask_mean: h×w mean of M (any resolution; shown stretched to the image's aspect). Drawn on its
            data range with a colour bar: M = σ(ReLU output) lies in [0.5, 1), so a 0-1 scale is flat.
        prediction: H×W trainIds of the LDv1 model.
        caption: convention text.
        channel: optionally (c, h×w map of channel c of M) as a fourth panel.
    """
    h, w = image.shape[:2]
    lo, hi = data_range(mask_mean)
    panels = [
        Panel("image", image),
        Panel(
            "LDv1 mask: mean of M over channels (data range)",
            _stretch(mask_mean, h, w),
            cmap="magma",
            vmin=lo,
            vmax=hi,
            cbar_label="M",
        ),
    ]
    if channel is not None:
        c_lo, c_hi = data_range(channel[1])
        panels.append(
            Panel(
                f"LDv1 mask: channel {channel[0]} (data range)",
                _stretch(channel[1], h, w),
                cmap="magma",
                vmin=c_lo,
                vmax=c_hi,
                cbar_label="M",
            )
        )
    panels.append(Panel("prediction", label_set.colorize(prediction)))
    present = classes_present(prediction, label_set=label_set)
    return layout(panels, caption=caption, ncols=2, legend_classes=present, label_set=label_set)


def fig8_stage_predictions(
    image: np.ndarray,
    gt: np.ndarray | None,
    stages: dict[str, np.ndarray],
    *,
    caption: str,
    label_set: LabelSet = CITYSCAPES,
) -> Figure:
    """GALD Fig. 8: the image, the predictions of one network at its stages (FCN, GA, GALD), and GT."""
    panels = [Panel("image", image)] + [
        Panel(name, label_set.colorize(pred)) for name, pred in stages.items()
    ]
    maps = list(stages.values())
    if gt is not None:
        panels.append(Panel("ground truth", label_set.colorize(gt)))
        maps.append(gt)
    present = classes_present(*maps, label_set=label_set)
    ncols = min(3, len(panels))
    return layout(panels, caption=caption, ncols=ncols, legend_classes=present, label_set=label_set)


def fig9_affinity(
    crop: np.ndarray,
    weights: np.ndarray,
    inside: np.ndarray,
    overview: np.ndarray,
    *,
    marker: tuple[float, float],
    caption: str,
    window: tuple[int, int, int, int] | None = None,
) -> Figure:
    """GALD Fig. 9: the LDv2 affinity at one point — where it samples, and its k×k softmax weights (Eq. 7).

    Args:
        crop: the neighbourhood with the weighted sampling cells drawn on it (H×W×3 uint8).
        weights: k×k softmax weights (sum 1).
        inside: k×k bool, False where the position falls outside the image (drawn grey, marked "out").
        overview: the whole image with a crosshair at the point.
        marker: the point in ``overview``'s pixels.
        caption: convention text.
        window: (x0, y0, x1, y1) of the crop in ``overview``'s pixels, outlined there.
    """
    k = weights.shape[0]
    fig, top = _with_footer(10.5, 3.4, [], caption)
    axes = top.subplots(1, 3, width_ratios=[2.0, 1.2, 1.0])
    img, step = _shrink(overview, EXPORT_WIDTH)
    axes[0].imshow(img)
    axes[0].plot(marker[0] / step, marker[1] / step, marker="+", color="magenta", ms=10, mew=1.8)
    if window is not None:
        x0, y0, x1, y1 = (v / step for v in window)
        axes[0].add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="magenta", lw=0.8))
    axes[0].set_title("image (clicked point)", fontsize=8)
    axes[1].imshow(crop, interpolation="nearest")
    axes[1].set_title("sampling positions, weight as opacity", fontsize=8)
    # Positions outside the image are drawn grey and marked "out": zero-padded keys still take weight.
    cmap = colormaps["viridis"].with_extremes(bad="0.8")
    im = axes[2].imshow(np.ma.masked_where(~inside, weights), cmap=cmap, vmin=0)
    top_weight = float(weights.max())
    for (r, c), v in np.ndenumerate(weights):
        dark = bool(inside[r, c]) and v < top_weight / 2
        label = f"{v:.2f}" if inside[r, c] else f"{v:.2f}\nout"
        axes[2].text(c, r, label, ha="center", va="center", fontsize=6, color="white" if dark else "black")
    axes[2].set_title(f"{k}×{k} softmax weights", fontsize=8)
    top.colorbar(im, ax=axes[2], fraction=0.046, pad=0.02, shrink=0.7).ax.tick_params(labelsize=6)
    for ax in axes:
        ax.set_axis_off()
    return fig


def fig10_error_maps(
    image: np.ndarray,
    gt: np.ndarray,
    errors: dict[str, np.ndarray],
    *,
    caption: str,
    error_legend: dict[str, tuple[int, int, int]],
    label_set: LabelSet = CITYSCAPES,
) -> Figure:
    """GALD Fig. 10: the image, the ground truth, and each model's error map (wrong pixels highlighted).

    Args:
        image: H×W×3 uint8.
        gt: H×W trainIds.
        errors: panel title → H×W×3 uint8 error picture (one per model, or the four-way map).
        caption: convention text.
        error_legend: name → RGB of the error colours.
    """
    panels = [Panel("image", image), Panel("ground truth", label_set.colorize(gt))]
    panels += [Panel(title, rgb) for title, rgb in errors.items()]
    return layout(
        panels,
        caption=caption,
        ncols=2,
        legend_classes=classes_present(gt, label_set=label_set),
        extra_legend=error_legend,
        label_set=label_set,
    )


def tolerance_curves(
    curves: dict[str, tuple[Sequence[int], Sequence[float]]],
    *,
    caption: str,
    marks: Sequence[int] = PAPER_RADII_PX,
) -> Figure:
    """Boundary F (class mean) against the tolerance radius in pixels, one line per model.

    Args:
        curves: model → (radii in px, F in [0, 1]).
        caption: convention text (reduction, image size, ignore label).
        marks: radii marked with dotted lines (Table V's 3/5/9/12 px at 1024×2048).
    """
    fig, top = _with_footer(5.0, 3.0, [], caption)
    ax = top.subplots()
    for name, (radii, f) in curves.items():
        ax.plot(list(radii), list(f), marker="o", ms=3, label=name)
    for r in marks:
        ax.axvline(r, color="grey", ls=":", lw=0.8)
    ax.set_xlabel("tolerance radius (px)", fontsize=8)
    ax.set_ylabel("boundary F (mean over classes)", fontsize=8)
    ax.set_ylim(0, 1)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return fig


def _stretch(values: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of a feature-resolution map to the image's size (cells stay visible)."""
    rows = np.minimum(np.arange(height) * values.shape[0] // height, values.shape[0] - 1)
    cols = np.minimum(np.arange(width) * values.shape[1] // width, values.shape[1] - 1)
    return np.asarray(values, dtype=np.float32)[rows[:, None], cols[None, :]]
