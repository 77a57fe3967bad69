"""Boundary F tables in GALD's Table V layout for the app: stored runs, live results and published rows.

GALD (Li et al., IEEE TIP 2021) Table V lists boundary F (%) per class at 3/5/9/12 px (the G-SCNN
thresholds 0.00088/0.001875/0.00375/0.005 of the diagonal at 1024×2048) for Deeplabv3+, G-SCNN and GALD.
Here every row is (source, model, threshold) and the columns are the 19 classes and their mean, in %,
so runs from the results store, live results of the current image and the paper's numbers sit side by
side, each labelled with where it comes from.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gald_viz.data.label_set import CITYSCAPES
from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, PAPER_IMAGE_SIZE, PAPER_RADII_PX
from gald_viz.metrics.reduce import TableV
from gald_viz.published import table_v as published_table_v
from gald_viz.tables import EXPORT_INDEX, table_v_frame

PUBLISHED = "published: GALD paper, Cityscapes val, ResNet-101"
INDEX = ("source", "model", "threshold")
COLUMNS = ["mean", *CITYSCAPES.class_names]
"""The class mean first (always in view), then the classes in Table V's order (Cityscapes'; another
label set's tables have its own classes, :func:`columns`)."""


def columns(class_names: Sequence[str]) -> list[str]:
    """The columns of a table of these classes: ``mean``, then the classes."""
    return ["mean", *class_names]


def published_rows() -> pd.DataFrame:
    """The paper's Table V (Deeplabv3+, G-SCNN, GALD LDv1/LDv2) in this module's layout."""
    pub = published_table_v()
    frame = pd.DataFrame(
        {
            "source": PUBLISHED,
            "model": pub["method"],
            "threshold": [f"{int(px)} px" for px in pub["threshold_px"]],
            **{c: pub[c].astype(float) for c in COLUMNS},
        }
    )
    return frame.set_index(list(INDEX))


def store_rows(
    table: pd.DataFrame, *, source: str, model: str, class_names: Sequence[str] = CITYSCAPES.class_names
) -> pd.DataFrame:
    """Rows of one stored run, from :func:`gald_viz.metrics.runs.table_v` (fractions) to %, radii labelled."""
    f = table[table["metric"] == "boundary_f"]
    frame = table_v_frame(
        f[list(class_names)].to_numpy(float),
        f["mean"].to_numpy(float),
        list(f["threshold"]),
        [int(r) for r in f["radius_px"]],
        class_names=class_names,
    )
    return _labelled(frame, source, model, class_names)


def live_rows(
    table: TableV,
    thresholds: Sequence[float],
    radii: Sequence[int],
    *,
    source: str,
    model: str,
    class_names: Sequence[str] = CITYSCAPES.class_names,
) -> pd.DataFrame:
    """Rows of a live result: Table V's reduction of the current image(s) (fractions) to %."""
    frame = table_v_frame(
        table.per_class_f, table.mean_f, list(thresholds), list(radii), class_names=class_names
    )
    return _labelled(frame, source, model, class_names)


def _labelled(frame: pd.DataFrame, source: str, model: str, class_names: Sequence[str]) -> pd.DataFrame:
    out = frame.reset_index()
    out.insert(0, "model", model)
    out.insert(0, "source", source)
    return out.set_index(list(INDEX))[columns(class_names)]


def combine(
    frames: Sequence[pd.DataFrame], class_names: Sequence[str] = CITYSCAPES.class_names
) -> pd.DataFrame:
    """Stack row blocks into one table (rows model × threshold, columns classes + mean)."""
    if not frames:
        return pd.DataFrame(
            columns=columns(class_names), index=pd.MultiIndex.from_tuples([], names=list(INDEX))
        )
    return pd.concat(frames)


def tolerance_label(position: int) -> str:
    """Table V's tolerance at a position in a block (thresholds are matched in order, as in the paper).

    >>> tolerance_label(0)
    '0.00088 diag (3 px at 1024×2048)'
    """
    if position >= len(DEFAULT_THRESHOLDS):
        return f"threshold {position + 1}"
    h, w = PAPER_IMAGE_SIZE
    return f"{DEFAULT_THRESHOLDS[position]:g} diag ({PAPER_RADII_PX[position]} px at {h}×{w})"


def tolerance_positions(frame: pd.DataFrame) -> np.ndarray:
    """Each row's position among its block's thresholds (0 = Table V's first tolerance)."""
    if frame.empty:
        return np.zeros(0, dtype=int)
    return frame.groupby(level=["source", "model"], sort=False).cumcount().to_numpy()


def select(
    frame: pd.DataFrame,
    *,
    classes: Sequence[str],
    sort_by: str | None,
    ascending: bool,
    tolerance: int | None = None,
) -> pd.DataFrame:
    """Keep ``mean`` and the chosen class columns; keep one tolerance or all; sort within one tolerance.

    With ``tolerance`` (a position, 0 = 3 px at 1024×2048) only those rows are kept and sorted by
    ``sort_by``. Without it every row is kept and the blocks (source, model) are ordered by their
    ``sort_by`` value at the first tolerance, each block's rows staying together, so tolerances never mix.

    >>> f = published_rows()
    >>> list(select(f, classes=["road"], sort_by="mean", ascending=False).columns)
    ['mean', 'road']
    >>> select(f, classes=[], sort_by="mean", ascending=False, tolerance=0).index[0][1]
    'GALD (LDv2)'
    """
    cols = ["mean", *(c for c in frame.columns if c != "mean" and c in classes)]
    out = frame[cols].assign(_position=tolerance_positions(frame))
    if tolerance is not None:
        out = out[out["_position"] == tolerance]
        if sort_by:
            out = out.sort_values(sort_by, ascending=ascending, kind="stable", na_position="last")
    elif sort_by and not out.empty:
        first = out[out["_position"] == 0][sort_by].droplevel("threshold")
        order = first.sort_values(ascending=ascending, kind="stable", na_position="last").index
        out = pd.concat([out.xs(g, level=("source", "model"), drop_level=False) for g in order])
    positions = out.pop("_position").to_numpy()
    out.attrs = {"positions": tuple(int(p) for p in positions)}
    return out


def export_frame(shown: pd.DataFrame, groups: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """The rows of the chosen (source, model) blocks, labelled for export with Table V's tolerance.

    Rows keep the shown order and columns; the index becomes ``source, model, tolerance, threshold``
    (:data:`gald_viz.tables.EXPORT_INDEX`). ``shown`` comes from :func:`select`, which records each
    row's tolerance position in ``attrs["positions"]``.
    """
    positions = np.asarray(shown.attrs["positions"])
    keep = np.array([key[:2] in set(groups) for key in shown.index], dtype=bool)
    out = shown[keep].copy()
    labels = [tolerance_label(p) for p in positions[keep]]
    out.index = pd.MultiIndex.from_tuples(
        [(s, m, t, th) for (s, m, th), t in zip(out.index, labels, strict=True)], names=list(EXPORT_INDEX)
    )
    return out


def row_groups(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (source, model) blocks of a table, in order."""
    return list(dict.fromkeys(frame.index.droplevel("threshold")))


def difference(frame: pd.DataFrame, a: tuple[str, str], b: tuple[str, str]) -> pd.DataFrame:
    """B − A per class and threshold (percentage points), thresholds matched by their order.

    Rows are labelled with both thresholds when their pixel radii differ (e.g. runs at other sizes).
    """
    fa, fb = frame.xs(a, level=("source", "model")), frame.xs(b, level=("source", "model"))
    n = min(len(fa), len(fb))
    labels = [ta if ta == tb else f"{ta} vs {tb}" for ta, tb in zip(fa.index[:n], fb.index[:n], strict=True)]
    delta = fb.iloc[:n].to_numpy() - fa.iloc[:n].to_numpy()
    return pd.DataFrame(delta, index=pd.Index(labels, name="threshold"), columns=fa.columns)


def flat(frame: pd.DataFrame) -> pd.DataFrame:
    """One-level row labels ``source | model | threshold`` for CSV and LaTeX export."""
    out = frame.copy()
    out.index = pd.Index([" | ".join(map(str, key)) for key in frame.index], name="threshold")
    return out
