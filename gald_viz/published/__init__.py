"""The GALD paper's published numbers (Li et al., IEEE TIP 2021), as printed there.

Copied from the project's reference tables so the app can show them as "published" rows beside a
user's own measurements. All are Cityscapes val, single scale. Table V (boundary F, %) was measured on
ResNet-101 models at 1024×2048, so its 3/5/9/12 px equal the diagonal fractions
0.00088/0.001875/0.00375/0.005.

>>> table_v()["method"].unique().tolist()
['Deeplabv3+', 'G-SCNN', 'GALD (LDv1)', 'GALD (LDv2)']
>>> float(table_i().query("ga == 'aspp' and ld == 'ldv2'")["miou_val"].iloc[0])
80.8
"""

from importlib import resources

import pandas as pd

PROVENANCE = "published: GALD paper (IEEE TIP 2021), Cityscapes val, single scale"


def _read(name: str) -> pd.DataFrame:
    with resources.files(__package__).joinpath(name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f)


def table_v() -> pd.DataFrame:
    """Table V: boundary F-score (%) per class; one row per method and threshold (3/5/9/12 px)."""
    return _read("gald_paper_table5_boundary_f.csv")


def table_i() -> pd.DataFrame:
    """Table I (a), (b), (d): mIoU (%) of GA heads with and without LD, ResNet-50."""
    return _read("gald_paper_table1_ablation.csv")


def table_iv() -> pd.DataFrame:
    """Table IV: time per 1×3×512×512 image on one V100 and parameter counts."""
    return _read("gald_paper_table4_cost.csv")
