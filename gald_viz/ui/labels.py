"""The sidebar's label set: a JSON or CSV file inside the app's roots, or Cityscapes' 19 classes.

The field holds a path (``docs/label_sets.md`` has the format); empty means the built-in Cityscapes set.
The path is confined by :mod:`gald_viz.roots` like every other path the app opens, and the file is read
once per path and modification time. A file that cannot be used is reported with ``st.error`` naming it
and the problem, and the app goes on with Cityscapes' classes.
"""

import streamlit as st

from gald_viz.data.label_files import read_label_set
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.roots import confine
from gald_viz.ui import cache

LABELS_KEY = "sb.labels"
"""Session key (and widget key) of the label set file field."""


@st.cache_data(max_entries=8, show_spinner=False)
def _read(path: str, stamp: str) -> LabelSet:
    """The label set of a (confined) file, once per path and modification time (``stamp``)."""
    return read_label_set(path)


def label_set_ui() -> str:
    """The label set field: a file path, or empty for Cityscapes."""
    return st.text_input(
        "Label set file",
        key=LABELS_KEY,
        help="A .json or .csv file naming the classes, colours and ids (docs/label_sets.md); "
        "empty: the 19 Cityscapes classes",
        persist_state="session",
    ).strip()


def load_label_set(text: str) -> LabelSet:
    """The set a field names; on a path outside the roots or a bad file, say why and use Cityscapes."""
    if not text:
        return CITYSCAPES
    try:
        path = str(confine(text, "Label set file"))
        return _read(path, cache.path_key(path))
    except ValueError as err:
        st.error(f"{err}. Using the 19 Cityscapes classes instead.")
        return CITYSCAPES


def labels_key(label_set: LabelSet) -> str:
    """What cache keys of images add for a label set ("" for Cityscapes, so its keys stay as they were)."""
    return "" if label_set.is_cityscapes else f"@labels={label_set.name}:{label_set.sha256[:16]}"
