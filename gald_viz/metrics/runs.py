"""Tables of a stored run: the results store's arrays reduced by :mod:`gald_viz.metrics.reduce`.

``store`` is a :class:`gald_viz.store.ResultsStore` (or anything with its ``run``, ``images`` and
``arrays`` methods). Every frame's values are fractions in [0, 1].
"""

import numpy as np
import pandas as pd

from gald_viz.metrics import reduce

__all__ = ["table_v", "f_vs_tolerance", "per_image"]

_TABLE_V_STATS = ("boundary_f", "tp", "fp", "fn")


def table_v(store, run_id: str) -> pd.DataFrame:
    """Table V of the paper for one run: boundary F per class and threshold, plus IoU.

    Boundary F per class = mean over all stored images of the per-image F (absent from GT and
    prediction counts as 1, G-SCNN); ``mean`` = unweighted mean over classes. IoU per class =
    TP / (TP + FP + FN) of the summed counts over images (cityscapesScripts), NaN where a class has
    no GT and no prediction, left out of ``mean``.

    Returns:
        Rows: one per threshold (``metric == "boundary_f"``), then ``metric == "iou"``. Columns:
        ``metric``, ``threshold``, ``radius_px``, the class names, ``mean``. ``frame.attrs`` holds
        ``run`` (provenance dict) and ``n_images``.
    """
    info = store.run(run_id)
    names = list(info["class_names"])
    _, arrays = store.arrays(run_id, _TABLE_V_STATS)
    if arrays:
        t = reduce.table_v(arrays)
        per_class, mean, iou, miou = t.per_class_f, t.mean_f, t.iou, t.miou
    else:  # a run without images yet
        per_class = np.full((len(info["thresholds"]), len(names)), np.nan)
        mean, iou, miou = per_class.mean(axis=1), np.full(len(names), np.nan), np.nan
    rows = [
        {
            "metric": "boundary_f",
            "threshold": th,
            "radius_px": r,
            **dict(zip(names, per_class[k], strict=True)),
        }
        | {"mean": float(mean[k])}
        for k, (th, r) in enumerate(zip(info["thresholds"], info["radii_px"], strict=True))
    ]
    rows.append(
        {"metric": "iou", "threshold": np.nan, "radius_px": np.nan, **dict(zip(names, iou, strict=True))}
        | {"mean": float(miou)}
    )
    frame = pd.DataFrame(rows)
    frame.attrs = {"run": info, "n_images": int(info["n_done"])}
    return frame


def f_vs_tolerance(store, run_id: str) -> pd.DataFrame:
    """Boundary F against a fixed tolerance radius in pixels (not scaled with the image size).

    Returns:
        One row per radius: ``radius_px``, the class names (mean over images of the per-image F, as
        Table V), ``mean`` (class mean). Empty when the run stored no curve.
    """
    names = list(store.run(run_id)["class_names"])
    _, arrays = store.arrays(run_id, ("tolerance_radii", "tolerance_f"))
    if "tolerance_f" not in arrays:
        return pd.DataFrame(columns=["radius_px", *names, "mean"])
    radii, per_class, mean = reduce.tolerance_curve(arrays)
    frame = pd.DataFrame(per_class, columns=names)
    frame.insert(0, "radius_px", radii)
    frame["mean"] = mean
    return frame


def per_image(store, run_id: str, *, sort_by: str = "miou") -> pd.DataFrame:
    """Per-image scores, worst first.

    ``miou`` is the mean IoU over the classes present in the image's GT or prediction (non-ignored
    pixels); ``F@<threshold>`` is the mean boundary F over those same classes (absent classes score a
    trivial 1 and would hide bad images). ``gt_all_ignore`` flags images whose ground truth is all
    ignore (no score means anything there). Sorted ascending by ``sort_by``, NaN last.
    """
    thresholds = store.run(run_id)["thresholds"]
    frame = store.images(run_id)
    images, arrays = store.arrays(run_id, _TABLE_V_STATS)
    if images:
        columns = pd.DataFrame(reduce.image_rows(arrays, thresholds), index=images)
        columns["gt_all_ignore"] = reduce.gt_all_ignore(arrays)
        frame = frame.merge(columns, left_on="image", right_index=True, how="left")
    else:
        frame = frame.assign(miou=np.nan, **{f"F@{th:g}": np.nan for th in thresholds}, gt_all_ignore=False)
    return frame.sort_values(sort_by, na_position="last", kind="stable").reset_index(drop=True)
