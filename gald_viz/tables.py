"""Boundary F tables in the layout of GALD's Table V (classes as columns, thresholds as rows, in %).

Li et al., "Global Aggregation then Local Distribution for Scene Parsing", IEEE TIP 2021, Table V. Every
table carries its convention (:func:`gald_viz.metrics.conventions.convention_text`: radius in px and as
a fraction of the diagonal, image size, ignore label, reduction) so a number is never shown without
it. Used by the folders CLI, the jobs summary and the app.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gald_viz.data.labels import CLASS_NAMES
from gald_viz.metrics.conventions import convention_text, radii_per_size, threshold_label

__all__ = [
    "PAPER_ABBREVIATIONS",
    "paper_header",
    "export_csv",
    "export_latex",
    "table_v_frame",
    "table_v_text",
    "table_v_latex",
    "table_v_csv",
]

PAPER_ABBREVIATIONS: dict[str, str] = {
    "road": "road",
    "sidewalk": "s.walk",
    "building": "build.",
    "wall": "wall",
    "fence": "fence",
    "pole": "pole",
    "traffic light": "t-light",
    "traffic sign": "t-sign",
    "vegetation": "veg",
    "terrain": "terrain",
    "sky": "sky",
    "person": "person",
    "rider": "rider",
    "car": "car",
    "truck": "truck",
    "bus": "bus",
    "train": "train",
    "motorcycle": "motor",
    "bicycle": "bike",
}
"""Class headers of exported tables, as GALD's Table V (after G-SCNN's boundary table) abbreviates them."""


def paper_header(column: str) -> str:
    """The exported header of a class column (Table V's abbreviation); other columns keep their name.

    >>> paper_header("traffic light"), paper_header("mean")
    ('t-light', 'mean')
    """
    return PAPER_ABBREVIATIONS.get(column, column)


MAX_WIDE_CLASSES = 30
"""Label sets with more classes print Table V with classes as rows (:func:`table_v_text`)."""


def table_v_frame(
    per_class: np.ndarray,
    mean: np.ndarray,
    thresholds: Sequence[float],
    radii: Sequence[int] | Sequence[Sequence[int]],
    label: str | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
) -> pd.DataFrame:
    """Boundary F as a DataFrame in Table V layout.

    Args:
        per_class: (T, C) F in [0, 1].
        mean: (T,) class mean in [0, 1].
        thresholds: the T thresholds.
        radii: radius per threshold, or one such sequence per image size.
        label: the method (model) name, kept in ``frame.attrs["label"]``.
        class_names: the C column names.

    Returns:
        DataFrame indexed by threshold label (radius in px and diagonal fraction), columns the class
        names then ``"mean"``, values in %; ``attrs`` hold ``label``, ``thresholds`` and ``radius_px``.

    >>> df = table_v_frame(np.array([[0.5, 1.0]]), np.array([0.75]), [0.00088], [3], "m", ["a", "b"])
    >>> df.round(1).to_dict("index")
    {'3 px (0.00088 diag)': {'a': 50.0, 'b': 100.0, 'mean': 75.0}}
    """
    per_class = np.asarray(per_class, dtype=np.float64)
    mean = np.asarray(mean, dtype=np.float64)
    per_size = radii_per_size(radii)
    if per_class.shape != (len(thresholds), len(class_names)) or mean.shape != (len(thresholds),):
        raise ValueError(
            f"per_class {per_class.shape} and mean {mean.shape} do not fit {len(thresholds)} thresholds "
            f"and {len(class_names)} classes"
        )
    index = [threshold_label(th, [rs[t] for rs in per_size]) for t, th in enumerate(thresholds)]
    frame = pd.DataFrame(
        100.0 * per_class, index=pd.Index(index, name="threshold"), columns=list(class_names)
    )
    frame["mean"] = 100.0 * mean
    frame.attrs.update(label=label, thresholds=list(thresholds), radius_px=per_size)
    return frame


def table_v_text(
    per_class: np.ndarray,
    mean: np.ndarray,
    thresholds: Sequence[float],
    radii: Sequence[int] | Sequence[Sequence[int]],
    label: str | None = None,
    image_sizes: Sequence[tuple[int, int]] | None = None,
    n_images: int | None = None,
    class_names: Sequence[str] = CLASS_NAMES,
    decimals: int = 1,
    iou: np.ndarray | None = None,
    miou: float | None = None,
) -> str:
    """Fixed-width text table in Table V layout, with a title and the convention line.

    Args:
        per_class: (T, C) F in [0, 1].
        mean: (T,) class mean in [0, 1].
        thresholds: the T thresholds.
        radii: radius per threshold, or one such sequence per image size.
        label: the method (model) name shown in the title.
        image_sizes: the distinct (H, W) sizes, aligned with ``radii``.
        n_images: number of images averaged.
        class_names: the C class names.
        decimals: decimals of the percentages.
        iou: optional (C,) per-class IoU in [0, 1] (NaN allowed), shown as a last row with ``miou``.
        miou: the mean IoU for that row.

    Returns:
        Multi-line text.

    >>> print(table_v_text(np.array([[0.5, 1.0]]), np.array([0.75]), [0.00088], [3], "m", [(1024, 2048)], 1,
    ...                    class_names=["road", "sky"]))  # doctest: +ELLIPSIS
    Boundary F-score (%), GALD Table V layout: m
    threshold              road   sky  mean
    3 px (0.00088 diag)    50.0 100.0  75.0
    G-SCNN boundary F: ...
    """
    frame = table_v_frame(per_class, mean, thresholds, radii, label, class_names)
    if len(class_names) > MAX_WIDE_CLASSES:
        return (
            _tall_text(frame, iou, miou, decimals, len(class_names))
            + "\n"
            + convention_text(thresholds, radii, image_sizes, n_images, num_classes=len(class_names))
        )
    # The paper's abbreviations are Cityscapes' column heads; other label sets keep their own names.
    short = tuple(class_names) == tuple(CLASS_NAMES)
    headers = [paper_header(name) if short else name for name in class_names] + ["mean"]
    width = max(decimals + 5, *(len(h) for h in headers))
    first = max(len("threshold"), *(len(i) for i in frame.index)) + 2
    lines = [
        "Boundary F-score (%), GALD Table V layout" + (f": {label}" if label else ""),
        "threshold".ljust(first) + " ".join(h.rjust(width) for h in headers),
    ]

    def cells(values) -> str:
        return " ".join("-".rjust(width) if np.isnan(v) else f"{v:{width}.{decimals}f}" for v in values)

    for name, row in frame.iterrows():
        lines.append(str(name).ljust(first) + cells(row.to_numpy()))
    if iou is not None:
        values = 100.0 * np.append(np.asarray(iou, dtype=np.float64), np.nan if miou is None else miou)
        lines.append("IoU".ljust(first) + cells(values))
    lines.append(convention_text(thresholds, radii, image_sizes, n_images, num_classes=len(class_names)))
    return "\n".join(lines)


def _tall_text(frame: pd.DataFrame, iou, miou, decimals: int, k: int) -> str:
    """Table V turned by a quarter (one row per class, one column per threshold, then IoU): the layout
    for label sets of more than :data:`MAX_WIDE_CLASSES` classes, which would not fit a terminal."""
    tall = frame.T
    if iou is not None:
        tall["IoU"] = 100.0 * np.append(np.asarray(iou, dtype=np.float64), np.nan if miou is None else miou)
    heads = [str(c).split(" (")[0] for c in tall.columns]
    width = max(decimals + 5, *(len(h) for h in heads))
    first = max(len("class"), *(len(str(i)) for i in tall.index)) + 2
    lines = [
        f"Boundary F-score (%), GALD Table V layout with classes as rows ({k} classes)"
        + (f": {frame.attrs['label']}" if frame.attrs.get("label") else ""),
        "class".ljust(first) + " ".join(h.rjust(width) for h in heads),
    ]
    for name, row in tall.iterrows():
        cells = ("-".rjust(width) if np.isnan(v) else f"{v:{width}.{decimals}f}" for v in row.to_numpy())
        lines.append(str(name).ljust(first) + " ".join(cells))
    return "\n".join(lines)


# LaTeX specials, and the non-ASCII symbols of the convention line that pdflatex does not know.
_LATEX = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "|": r"\textbar{}",
    "<": r"$<$",
    ">": r"$>$",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "√": r"$\surd$",
    "²": r"$^2$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "–": "--",
}


def _latex_escape(text: str) -> str:
    return "".join(_LATEX.get(char, char) for char in text)


def table_v_latex(frame: pd.DataFrame, decimals: int = 1, caption: str | None = None) -> str:
    """LaTeX (booktabs) tabular of a :func:`table_v_frame` frame, written without jinja2.

    Args:
        frame: from :func:`table_v_frame`.
        decimals: decimals of the percentages.
        caption: optional caption; the table is then wrapped in a ``table`` environment.

    Returns:
        LaTeX source.

    >>> df = table_v_frame(np.array([[0.5]]), np.array([0.5]), [3], [3], class_names=["road"])
    >>> print(table_v_latex(df))
    \\begin{tabular}{lrr}
    \\toprule
    threshold & road & mean \\\\
    \\midrule
    3 px & 50.0 & 50.0 \\\\
    \\bottomrule
    \\end{tabular}
    """
    cols = ["threshold", *(str(c) for c in frame.columns)]
    lines = [
        r"\begin{tabular}{l" + "r" * len(frame.columns) + "}",
        r"\toprule",
        " & ".join(_latex_escape(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    for name, row in frame.iterrows():
        cells = ["--" if np.isnan(v) else f"{v:.{decimals}f}" for v in row.to_numpy()]
        lines.append(" & ".join([_latex_escape(str(name)), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption is not None:
        lines = [
            r"\begin{table}",
            r"\centering",
            *lines,
            rf"\caption{{{_latex_escape(caption)}}}",
            r"\end{table}",
        ]
    return "\n".join(lines)


def table_v_csv(frame: pd.DataFrame, decimals: int = 2) -> str:
    """CSV text of a :func:`table_v_frame` frame (percentages rounded to ``decimals``).

    Args:
        frame: from :func:`table_v_frame`.
        decimals: decimals of the percentages.

    Returns:
        CSV with a ``threshold`` column then the class columns and ``mean``.

    >>> df = table_v_frame(np.array([[0.5]]), np.array([0.5]), [3], [3], class_names=["road"])
    >>> print(table_v_csv(df), end="")
    threshold,road,mean
    3 px,50.0,50.0
    """
    return frame.round(decimals).to_csv(lineterminator="\n")


EXPORT_INDEX = ("source", "model", "tolerance", "threshold")
"""Row labels of an export frame: where a row comes from, the model, Table V's tolerance, its own radius."""


def _check_export_frame(frame: pd.DataFrame) -> None:
    if list(frame.index.names) != list(EXPORT_INDEX):
        raise ValueError(f"frame: rows must be labelled {EXPORT_INDEX}, not {tuple(frame.index.names)}")


def export_csv(frame: pd.DataFrame, decimals: int = 2) -> str:
    """Paper-ready CSV: one column each for source, model, tolerance and radius, then the values.

    Args:
        frame: rows labelled :data:`EXPORT_INDEX` (only the rows to export), value columns in %.
        decimals: decimals of the percentages.

    Returns:
        CSV text; class columns carry Table V's abbreviations.

    >>> idx = pd.MultiIndex.from_tuples([("paper", "GALD", "3 px", "3 px")], names=EXPORT_INDEX)
    >>> print(export_csv(pd.DataFrame({"mean": [74.04], "sidewalk": [69.1]}, index=idx)), end="")
    source,model,tolerance,threshold,mean,s.walk
    paper,GALD,3 px,3 px,74.04,69.1
    """
    _check_export_frame(frame)
    out = frame.round(decimals).rename(columns=paper_header)
    return out.to_csv(lineterminator="\n")


def export_latex(frame: pd.DataFrame, decimals: int = 1, caption: str | None = None) -> str:
    """Paper-ready LaTeX: one booktabs table per tolerance, rows the models, Table V's class headers.

    A row's own radius is printed in an ``r`` column only where the rows of one tolerance differ (runs at
    other image sizes); the source is printed only where the rows come from more than one.

    Args:
        frame: rows labelled :data:`EXPORT_INDEX` (only the rows to export), value columns in %.
        decimals: decimals of the percentages.
        caption: the convention text, appended to each table's caption.

    >>> idx = pd.MultiIndex.from_tuples([("paper", "GALD", "3 px", "3 px")], names=EXPORT_INDEX)
    >>> print(export_latex(pd.DataFrame({"mean": [74.04]}, index=idx)))  # doctest: +ELLIPSIS
    \\begin{table}
    ...
    Method & mean \\\\
    \\midrule
    GALD & 74.0 \\\\
    ...
    \\caption{Boundary F-score (\\%) at 3 px.}
    \\end{table}
    """
    _check_export_frame(frame)
    if frame.empty:
        return "% Boundary F-score: no rows were chosen for export.\n"
    headers = [paper_header(str(c)) for c in frame.columns]
    tables = []
    for tolerance, rows in frame.groupby(level="tolerance", sort=False):
        several_sources = rows.index.get_level_values("source").nunique() > 1
        radii = rows.index.get_level_values("threshold")
        with_radius = radii.nunique() > 1
        cols = ["Method", *(["r"] if with_radius else []), *headers]
        lines = [
            r"\begin{table}",
            r"\centering",
            r"\begin{tabular}{l" + "l" * with_radius + "r" * len(headers) + "}",
            r"\toprule",
            " & ".join(_latex_escape(c) for c in cols) + r" \\",
            r"\midrule",
        ]
        for (source, model, _, radius), row in rows.iterrows():
            method = f"{model} ({source})" if several_sources else str(model)
            cells = ["--" if np.isnan(v) else f"{v:.{decimals}f}" for v in row.to_numpy(dtype=float)]
            first = [_latex_escape(method), *([_latex_escape(str(radius))] if with_radius else [])]
            lines.append(" & ".join([*first, *cells]) + r" \\")
        text = f"Boundary F-score (%) at {tolerance}." + (f" {caption}" if caption else "")
        lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{_latex_escape(text)}}}", r"\end{table}"]
        tables.append("\n".join(lines))
    return "\n\n".join(tables)
