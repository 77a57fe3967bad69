"""Home: what gald-viz shows, the data and models in use, the device, and a guide to the pages."""

import streamlit as st
import torch

from gald_viz.ui.page import page_setup
from gald_viz.ui.widgets import models_table, page_link

settings = page_setup("home")

st.title("gald-viz")
st.markdown(
    "Look inside **GALD** segmentation networks — *Global Aggregation then Local Distribution for Scene "
    "Parsing* (Li et al., IEEE TIP 2021). A global-aggregation head (ASPP, PSP, non-local, CGNL) gives every "
    "pixel context from the whole image, and tends to over-smooth small objects and boundaries. **Local "
    "distribution** hands that context back per position: LDv1 with a learned mask M (Eq. 1–3), LDv2 with "
    "a softmax over a dilated k×k window (Eq. 6–8). This app shows where that fixes — or breaks — the "
    "GA-only model."
)

st.subheader("In use")
h, w = settings.sample.image.shape[:2]
data_col, device_col = st.columns([3, 2])
data_col.markdown(
    f"**Data:** `{settings.source_text}` — {len(settings.names)} image(s)  \n"
    f"**Image:** `{settings.sample.name}`, {w}×{h} px, "
    + ("with ground truth" if settings.sample.label is not None else "**no ground truth** (metrics hidden)")
)
gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
device_col.markdown(
    f"**Device:** {settings.device.upper()}" + (f" ({gpu})" if settings.device == "cuda" else "") + "  \n"
    f"**CPU threads:** {torch.get_num_threads()}" + ("" if gpu else " · no GPU found")
)
st.dataframe(models_table(settings.ga, settings.gald), width="stretch")
st.caption(
    "GA model = global aggregation only (the baseline); GALD model = the same with local distribution. "
    "Pick other bundled models or a checkpoint file in the sidebar."
)

st.subheader("Pages")
guide = [
    (
        "pages/ga_vs_gald.py",
        "Compare",
        ":material/compare:",
        "image, ground truth and both predictions with linked zoom; error "
        "maps, the four-way map (GALD fixes / breaks), per-image mIoU and boundary F at 3/5/9/12 px, and the "
        "GALD model's FCN → GA → GALD stage predictions (Fig. 8).",
    ),
    (
        "pages/local_distribution.py",
        "Local distribution",
        ":material/my_location:",
        "click a pixel: the LDv2 k×k weights at "
        "their dilated sampling positions, their entropy and same-class share; GA outputs and LDv1 masks "
        "(Fig. 7, 9).",
    ),
    (
        "pages/boundary_f.py",
        "Boundary F-scores",
        ":material/border_style:",
        "Table V layout from the results store next to the "
        "paper's published rows; per-image worst-first; F against tolerance; CSV and LaTeX export.",
    ),
]
for path, label, icon, text in guide:
    link_col, text_col = st.columns([1, 4])
    with link_col:
        page_link(path, label, icon)
    text_col.markdown(text)
st.caption(
    "Every panel exports a PNG and a PDF in the paper's figure layout. The URL keeps the view: copy it to "
    "share the page, image, models, clicked pixel and threshold."
)
