"""Figures of the Mechanisms page: curves against distance band and per-class bars, with 95% intervals.

Issue #12 measures what GA and LD do over a data set: accuracy, GALD's fixes and breaks, the LDv1 mask
(GALD Eq. 1) and the LDv2 affinities (Eq. 7) by distance to the GT boundary and by class. Every builder
takes :class:`Series` (values with NaN where there is no data, optional interval ends) and returns a
plotly figure for the page or a matplotlib figure (paper layout, caption under it) for PNG/PDF export
through :func:`gald_viz.viz.paper_figures.figure_bytes`.

Every point and bar carries its band or class index as ``customdata``, so a click on it (Streamlit's
``on_select``) says which band or class was chosen.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from matplotlib.figure import Figure
from plotly.subplots import make_subplots

from gald_viz.viz.paper_figures import _with_footer

NOT_ESTABLISHED = "not established"
"""The verdict of a difference whose 95% interval contains 0."""

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#7f7f7f")
"""Line and bar colours, in series order (GA blue, GALD red, then the rest)."""


@dataclass(frozen=True)
class Series:
    """One line or bar group: a value per band or class, NaN where there is no data.

    Attributes:
        name: legend entry.
        values: the estimates.
        low, high: the 95% interval ends (None: the report gives no interval).
        dashed: draw as a dashed reference line (e.g. a uniform kernel's baseline).
        hover: one extra hover line per point (e.g. the pixel count), or None.
        colour: ``#rrggbb`` (default: :data:`PALETTE` by position).
    """

    name: str
    values: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None
    dashed: bool = False
    hover: Sequence[str] | None = None
    colour: str | None = None

    def colour_at(self, k: int) -> str:
        """The series' colour when it is the ``k``-th of its figure."""
        return self.colour or PALETTE[k % len(PALETTE)]

    @property
    def has_data(self) -> bool:
        """True when at least one value is a number."""
        return bool(np.isfinite(self.values).any())

    @property
    def has_interval(self) -> bool:
        """True when the series has interval ends with at least one number."""
        return self.low is not None and self.high is not None and bool(np.isfinite(self.low).any())


@dataclass(frozen=True)
class BarPanel:
    """One panel of per-class bars: a title, the class names, the series and the y-axis label."""

    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    ylabel: str


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _hover(s: Series, i: int, tickformat: str) -> str:
    if not np.isfinite(s.values[i]):
        return "no data"
    fmt = "{:.1%}" if tickformat.endswith("%") else "{:.3f}"
    text = fmt.format(s.values[i])
    if s.has_interval and np.isfinite(s.low[i]):
        text += f" [{fmt.format(s.low[i])}, {fmt.format(s.high[i])}]"
    if s.hover is not None:
        text += "<br>" + s.hover[i]
    return text


def band_figure(
    bands: Sequence[str], series: Sequence[Series], *, ylabel: str, tickformat: str = ".0%"
) -> go.Figure:
    """Curves against distance band, one per series, each with its shaded 95% interval where it has one.

    Args:
        bands: band labels (``"0–8 px"`` …), the x axis.
        series: the curves; series without data are left out (callers say so in a sentence).
        ylabel: y-axis title.
        tickformat: d3 format of the y ticks (``".0%"`` for fractions).
    """
    fig = go.Figure()
    x = list(bands)
    for k, s in enumerate(series):
        if not s.has_data:
            continue
        colour = s.colour_at(k)
        if s.has_interval:
            fig.add_trace(
                go.Scatter(x=x, y=s.low, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False)
            )
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=s.high,
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=_rgba(colour, 0.18),
                    hoverinfo="skip",
                    name=f"{s.name} 95% interval",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=s.values,
                mode="lines+markers",
                name=s.name,
                line={"color": colour, "dash": "dash" if s.dashed else "solid"},
                marker={"size": 9},
                customdata=[[i] for i in range(len(x))],
                text=[_hover(s, i, tickformat) for i in range(len(x))],
                hovertemplate="%{x}<br>%{text}<extra>" + s.name + "</extra>",
            )
        )
    fig.update_layout(
        xaxis_title="distance to the GT boundary",
        yaxis_title=ylabel,
        yaxis_tickformat=tickformat,
        height=340,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        legend={"orientation": "h", "y": -0.3, "traceorder": "normal"},
        clickmode="event+select",
        hovermode="closest",
    )
    return fig


def class_figure(panels: Sequence[BarPanel], *, tickformat: str = ".0%") -> go.Figure:
    """Grouped per-class bars (one group per class, one bar per series) with 95% error bars where given.

    Several panels sit side by side (e.g. Boundary IoU beside boundary F) and share the class axis.
    """
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.title for p in panels])
    in_legend: set[str] = set()
    for col, p in enumerate(panels, start=1):
        for k, s in enumerate(p.series):
            if not s.has_data:
                continue
            error = None
            if s.has_interval:
                error = {"type": "data", "array": s.high - s.values, "arrayminus": s.values - s.low}
            fig.add_trace(
                go.Bar(
                    x=list(p.labels),
                    y=s.values,
                    name=s.name,
                    marker_color=s.colour_at(k),
                    marker_pattern_shape="/" if s.dashed else "",
                    error_y=error,
                    customdata=[[i] for i in range(len(p.labels))],
                    text=[_hover(s, i, tickformat) for i in range(len(p.labels))],
                    textposition="none",
                    hovertemplate="%{x}<br>%{text}<extra>" + s.name + "</extra>",
                    legendgroup=s.name,
                    showlegend=s.name not in in_legend,
                ),
                row=1,
                col=col,
            )
            in_legend.add(s.name)
        fig.update_yaxes(title_text=p.ylabel, tickformat=tickformat, rangemode="tozero", row=1, col=col)
        for i, label in enumerate(p.labels):
            if not any(np.isfinite(s.values[i]) for s in p.series):
                axis = "" if col == 1 else str(col)
                fig.add_annotation(
                    x=label, y=0, xref=f"x{axis}", yref=f"y{axis}", text="no data", showarrow=False, yshift=10
                )
    fig.update_xaxes(tickangle=-45)
    fig.update_layout(
        barmode="group",
        height=400,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "y": -0.45},
        clickmode="event+select",
    )
    return fig


def paper_band_curves(
    bands: Sequence[str], series: Sequence[Series], *, ylabel: str, caption: str, percent: bool = True
) -> Figure:
    """The paper-style export of :func:`band_figure`: lines with shaded intervals, the caption below."""
    fig, top = _with_footer(5.0, 3.0, [], caption)
    ax = top.subplots()
    x = np.arange(len(bands))
    scale = 100.0 if percent else 1.0
    for k, s in enumerate(series):
        if not s.has_data:
            continue
        colour = s.colour_at(k)
        ls = "--" if s.dashed else "-"
        ax.plot(x, s.values * scale, marker="o", ms=3, ls=ls, color=colour, label=s.name)
        if s.has_interval:
            ax.fill_between(x, s.low * scale, s.high * scale, color=colour, alpha=0.18, lw=0)
    ax.set_xticks(x, list(bands), fontsize=7)
    ax.set_xlabel("distance to the GT boundary", fontsize=8)
    ax.set_ylabel(ylabel + (" (%)" if percent else ""), fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    return fig


def paper_class_bars(panels: Sequence[BarPanel], *, caption: str, percent: bool = True) -> Figure:
    """The paper-style export of :func:`class_figure`: grouped bars with error bars, the caption below."""
    fig, top = _with_footer(6.5 * len(panels), 3.2, [], caption)
    axes = np.atleast_1d(top.subplots(1, len(panels)))
    scale = 100.0 if percent else 1.0
    for ax, p in zip(axes, panels, strict=True):
        shown = [s for s in p.series if s.has_data]
        x = np.arange(len(p.labels))
        width = 0.8 / max(1, len(shown))
        for k, s in enumerate(shown):
            colour = s.colour_at([q.name for q in p.series].index(s.name))
            error = None
            if s.has_interval:
                error = np.abs(np.stack([s.values - s.low, s.high - s.values]) * scale)
            ax.bar(
                x + (k - (len(shown) - 1) / 2) * width,
                s.values * scale,
                width,
                yerr=error,
                color=colour,
                hatch="//" if s.dashed else None,
                label=s.name,
                error_kw={"lw": 0.6, "capsize": 1.5},
            )
        for i in x:
            if not any(np.isfinite(s.values[i]) for s in p.series):
                ax.text(i, 0, "no data", rotation=90, ha="center", va="bottom", fontsize=5, color="0.4")
        ax.set_xticks(x, list(p.labels), rotation=60, ha="right", fontsize=6)
        ax.set_ylabel(p.ylabel + (" (%)" if percent else ""), fontsize=8)
        ax.set_title(p.title, fontsize=8)
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=6)
    return fig


@dataclass(frozen=True)
class Interval:
    """An estimate and its 95% interval, NaN where the report has none."""

    estimate: float
    low: float = math.nan
    high: float = math.nan

    def verdict(self, above: str, below: str) -> str:
        """``above`` / ``below`` when the interval excludes 0 on that side, else "not established"."""
        if not math.isfinite(self.estimate):
            return "no data"
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return "no interval"
        if self.low > 0:
            return above
        if self.high < 0:
            return below
        return NOT_ESTABLISHED


def interval(value) -> Interval:
    """A report value (a number, None, or ``{"estimate", "ci95"}``) as an :class:`Interval`."""
    if value is None:
        return Interval(math.nan)
    if isinstance(value, Mapping):
        est = value.get("estimate")
        lo, hi = value.get("ci95") or (None, None)
        return Interval(*(math.nan if v is None else float(v) for v in (est, lo, hi)))
    return Interval(float(value))


def series(name: str, values: Sequence, n: int, what: str, **style) -> Series:
    """Report values (one per band or class) as a :class:`Series`.

    Raises:
        ValueError: the report has a different number of values than bands/classes, or a fraction
            outside [0, 1] (never drawn silently).
    """
    if values is None:
        values = [None] * n
    if len(values) != n:
        raise ValueError(f"the report's {what} has {len(values)} values for {n} entries")
    parts = np.array([[*vars(interval(v)).values()] for v in values], dtype=np.float64).reshape(n, 3)
    finite = parts[np.isfinite(parts)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise ValueError(f"the report's {what} has values outside [0, 1]")
    lo, hi = (parts[:, 1], parts[:, 2]) if np.isfinite(parts[:, 1:]).any() else (None, None)
    return Series(name, parts[:, 0], lo, hi, **style)
