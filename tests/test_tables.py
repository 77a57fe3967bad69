"""gald_viz.tables exports and gald_viz.viz.table_v selection: paper-ready, one tolerance at a time."""

import numpy as np
import pandas as pd
import pytest

from gald_viz.data.labels import CLASS_NAMES
from gald_viz.published import table_v as published
from gald_viz.tables import EXPORT_INDEX, PAPER_ABBREVIATIONS, export_csv, export_latex, paper_header
from gald_viz.viz import table_v as tv


def test_every_class_has_one_distinct_paper_abbreviation():
    assert list(PAPER_ABBREVIATIONS) == list(CLASS_NAMES)
    assert len(set(PAPER_ABBREVIATIONS.values())) == len(CLASS_NAMES)
    assert [paper_header(c) for c in ("sidewalk", "traffic sign", "vegetation", "motorcycle", "mean")] == [
        "s.walk",
        "t-sign",
        "veg",
        "motor",
        "mean",
    ]


def frame(rows):
    index = pd.MultiIndex.from_tuples([r[:4] for r in rows], names=list(EXPORT_INDEX))
    return pd.DataFrame([r[4:] for r in rows], index=index, columns=["mean", "traffic light"])


def test_csv_has_one_column_per_label_and_the_paper_headers():
    f = frame(
        [
            ("run a", "m1", "3 px", "1 px (0.00088 diag)", 50.004, 40.0),
            ("paper", "GALD", "3 px", "3 px", 74.0, np.nan),
        ]
    )
    assert export_csv(f).splitlines() == [
        "source,model,tolerance,threshold,mean,t-light",
        "run a,m1,3 px,1 px (0.00088 diag),50.0,40.0",
        "paper,GALD,3 px,3 px,74.0,",
    ]
    with pytest.raises(ValueError, match="rows must be labelled"):
        export_csv(f.droplevel("tolerance"))


def test_latex_is_one_table_per_tolerance_with_radius_and_source_only_when_they_vary():
    f = frame(
        [
            ("run a", "m1", "3 px", "1 px", 50.0, 40.0),
            ("paper", "GALD", "3 px", "3 px", 74.04, 75.0),
            ("paper", "GALD", "5 px", "5 px", 80.0, 81.0),
        ]
    )
    tables = export_latex(f, caption="Convention text.").split("\n\n")
    assert len(tables) == 2
    first, second = (t.splitlines() for t in tables)
    assert first[2] == r"\begin{tabular}{llrr}"
    assert first[4] == r"Method & r & mean & t-light \\"
    assert first[6:8] == [r"m1 (run a) & 1 px & 50.0 & 40.0 \\", r"GALD (paper) & 3 px & 74.0 & 75.0 \\"]
    assert first[-2] == r"\caption{Boundary F-score (\%) at 3 px. Convention text.}"
    assert second[2] == r"\begin{tabular}{lrr}" and second[6] == r"GALD & 80.0 & 81.0 \\"


def test_export_frame_keeps_the_chosen_blocks_and_names_the_tolerance():
    pub = tv.published_rows()
    shown = tv.select(pub, classes=["road"], sort_by="mean", ascending=False, tolerance=1)
    out = tv.export_frame(shown, [(tv.PUBLISHED, "G-SCNN"), (tv.PUBLISHED, "GALD (LDv2)")])
    assert list(out.index.get_level_values("model")) == ["GALD (LDv2)", "G-SCNN"]  # shown (sorted) order
    assert set(out.index.get_level_values("tolerance")) == {"0.001875 diag (5 px at 1024×2048)"}
    paper = published().set_index(["method", "threshold_px"])
    assert out["mean"].tolist() == [paper.loc[("GALD (LDv2)", 5), "mean"], paper.loc[("G-SCNN", 5), "mean"]]
    csv = export_csv(out).splitlines()
    assert len(csv) == 3 and csv[0] == "source,model,tolerance,threshold,mean,road"
