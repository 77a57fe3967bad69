"""Plotly figures for the app: synchronised image panels with class hover, weight heatmaps, curves.

Builders return ``plotly.graph_objects.Figure``; the pages decide where they go. Images travel as
compressed data URIs at display size, while axes stay in native pixels, so zooming one panel zooms all
of them (shared axes) and hover reports native coordinates.
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gald_viz.data.images import encode_jpeg, encode_png
from gald_viz.data.label_set import CITYSCAPES, LabelSet

HOVER_CELLS = 128
"""Columns of the hover grid: class names are looked up per block, not per pixel, to keep pages light."""


@dataclass
class ImagePanel:
    """One panel of a synchronised grid.

    Attributes:
        title: text above the panel.
        rgb: the picture at display size (H×W×3 uint8).
        lossless: PNG (label maps) rather than JPEG (photographs and blends).
    """

    title: str
    rgb: np.ndarray
    lossless: bool = False


def data_uri(rgb: np.ndarray, *, lossless: bool) -> str:
    """An RGB array as a PNG or JPEG data URI (what plotly's Image trace and browsers load)."""
    if lossless:
        data, mime = encode_png(rgb, compression=1), "image/png"
    else:
        data, mime = encode_jpeg(rgb, quality=90), "image/jpeg"
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def class_name(train_id: int, label_set: LabelSet = CITYSCAPES) -> str:
    """Class name of a trainId, "ignore" for 255 and "id N" for anything else.

    >>> class_name(0), class_name(255)
    ('road', 'ignore')
    """
    return label_set.class_name(train_id)


def hover_grid(
    label_maps: dict[str, np.ndarray], *, cells: int = HOVER_CELLS, label_set: LabelSet = CITYSCAPES
):
    """Block-centre coordinates and "name: class" hover text for several H×W label maps at once.

    Returns:
        (xs, ys, text) with xs/ys the native pixel centres of the blocks and text a rows×cols array.
    """
    h, w = next(iter(label_maps.values())).shape[:2]
    step = max(1, int(np.ceil(w / cells)))
    ys = np.arange(step // 2, h, step)
    xs = np.arange(step // 2, w, step)
    lines = []
    for name, lab in label_maps.items():
        ids = lab[np.ix_(ys, xs)]
        names = np.array([label_set.class_name(i) for i in range(256)], dtype=object)
        lines.append(name + ": " + names[ids.astype(np.intp)])
    text = lines[0]
    for more in lines[1:]:
        text = text + "<br>" + more
    return xs, ys, text


def synced_panels(
    panels: Sequence[ImagePanel],
    *,
    native_size: tuple[int, int],
    hover_labels: dict[str, np.ndarray] | None = None,
    ncols: int = 2,
    panel_height: int = 300,
    marker: tuple[float, float] | None = None,
    label_set: LabelSet = CITYSCAPES,
) -> go.Figure:
    """A grid of images with shared (synchronised) zoom and pan and a class-name hover.

    Args:
        panels: the pictures, all at the same display size.
        native_size: (H, W) of the native image; axes are in native pixels.
        hover_labels: name → native H×W trainId map; hovering any panel lists the class of each map.
        ncols: panels per row.
        panel_height: height of one row in CSS pixels.
        marker: native (x, y) to mark on every panel, or None.
        label_set: names the hover's class ids.
    """
    h, w = native_size
    nrows = int(np.ceil(len(panels) / ncols))
    fig = make_subplots(
        rows=nrows,
        cols=ncols,
        subplot_titles=[p.title for p in panels],
        horizontal_spacing=0.01,
        vertical_spacing=0.06 if nrows > 1 else 0.0,
    )
    grid = hover_grid(hover_labels, label_set=label_set) if hover_labels else None
    for i, p in enumerate(panels):
        row, col = i // ncols + 1, i % ncols + 1
        dh, dw = p.rgb.shape[:2]
        fig.add_trace(
            go.Image(
                source=data_uri(p.rgb, lossless=p.lossless),
                x0=0.5 * w / dw - 0.5,
                dx=w / dw,
                y0=0.5 * h / dh - 0.5,
                dy=h / dh,
                hoverinfo="skip",
            ),
            row=row,
            col=col,
        )
        if grid is not None:
            xs, ys, text = grid
            fig.add_trace(
                go.Heatmap(
                    x=xs,
                    y=ys,
                    z=np.zeros(text.shape, np.uint8),
                    text=text,
                    hovertemplate="x=%{x}, y=%{y}<br>%{text}<extra></extra>",
                    colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
                    showscale=False,
                ),
                row=row,
                col=col,
            )
        if marker is not None:
            fig.add_trace(
                go.Scatter(
                    x=[marker[0]],
                    y=[marker[1]],
                    mode="markers",
                    marker={"symbol": "cross-thin", "size": 16, "line": {"width": 2, "color": "magenta"}},
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=row,
                col=col,
            )
    # Every panel shares the first panel's axes: zoom or pan one and all follow.
    fig.update_xaxes(matches="x", showticklabels=False, range=[-0.5, w - 0.5], constrain="domain")
    fig.update_yaxes(
        matches="y", showticklabels=False, range=[h - 0.5, -0.5], scaleanchor="x", constrain="domain"
    )
    fig.update_layout(
        height=panel_height * nrows + 40,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        dragmode="zoom",
        hovermode="closest",
    )
    return fig


def weights_heatmap(weights: np.ndarray, inside: np.ndarray, *, dilation: int) -> go.Figure:
    """The k×k LDv2 softmax weights (GALD Eq. 7) as an annotated heatmap; outside cells say "out".

    Axes are the neighbours' offsets in feature cells (multiples of the dilation r).
    """
    k = weights.shape[0]
    steps = dilation * (np.arange(k) - k // 2)
    text = np.where(
        inside, np.char.mod("%.3f", weights), np.char.add(np.char.mod("%.3f", weights), "<br>out")
    )
    fig = go.Figure(
        go.Heatmap(
            z=weights,
            x=[f"{s:+d}" for s in steps],
            y=[f"{s:+d}" for s in steps],
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            zmin=0,
            hovertemplate="dy=%{y}, dx=%{x}<br>weight %{z:.4f}<extra></extra>",
            colorbar={"thickness": 10},
        )
    )
    fig.update_yaxes(autorange="reversed", title="dy (cells)", scaleanchor="x", type="category")
    fig.update_xaxes(title="dx (cells)", side="top", type="category")
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def f_vs_tolerance(curves: dict[str, tuple[Sequence[int], Sequence[float]]], *, marks: Sequence[int] = ()):
    """Boundary F (class mean) against tolerance radius in pixels, one line per model.

    Args:
        curves: model name → (radii in px, F in [0, 1]).
        marks: radii to mark with dotted vertical lines (Table V's 3/5/9/12 px).
    """
    fig = go.Figure()
    for name, (radii, f) in curves.items():
        fig.add_trace(go.Scatter(x=list(radii), y=list(f), mode="lines+markers", name=name))
    for r in marks:
        fig.add_vline(x=r, line_dash="dot", line_color="grey")
    fig.update_layout(
        xaxis_title="tolerance radius (px)",
        yaxis_title="boundary F (mean over 19 classes)",
        yaxis_range=[0, 1],
        height=360,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
