"""The Home page's view: what gald-viz shows, the data and models in use, the device, the page guide."""

from dataclasses import dataclass

import pandas as pd
import torch

from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.views.pages import HOME, PAGES, PageInfo

INTRO = (
    "Look inside **GALD** segmentation networks — *Global Aggregation then Local Distribution for Scene "
    "Parsing* (Li et al., IEEE TIP 2021). A global-aggregation head (ASPP, PSP, non-local, CGNL) gives every "
    "pixel context from the whole image, and tends to over-smooth small objects and boundaries. **Local "
    "distribution** hands that context back per position: LDv1 with a learned mask M (Eq. 1–3), LDv2 with "
    "a softmax over a dilated k×k window (Eq. 6–8). This app shows where that fixes — or breaks — the "
    "GA-only model."
)
MODELS_CAPTION = (
    "GA model = global aggregation only (the baseline); GALD model = the same with local distribution. "
    "Pick other bundled models or a checkpoint file in the sidebar."
)
CLOSING = (
    "Every panel exports a PNG and a PDF in the paper's figure layout. The URL keeps the view: copy it to "
    "share the page, image, models, clicked pixel and threshold."
)


@dataclass
class HomeView:
    """Everything the Home page shows, top to bottom.

    Attributes:
        intro: what GALD is and what the app shows (Markdown).
        data: the data source and current image (Markdown).
        device: the device and CPU threads (Markdown).
        models: one row per model in use.
        models_caption: what GA and GALD model mean.
        guide: the other pages, each with its description.
        closing: exports and shareable URLs.
    """

    intro: str
    data: str
    device: str
    models: pd.DataFrame
    models_caption: str
    guide: tuple[PageInfo, ...]
    closing: str


def device_text(device: str) -> str:
    """The device line: CUDA with the GPU's name, or CPU; and the CPU threads."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return (
        f"**Device:** {device.upper()}" + (f" ({gpu})" if device == "cuda" else "") + "  \n"
        f"**CPU threads:** {torch.get_num_threads()}" + ("" if gpu else " · no GPU found")
    )


def home_view(
    source_text: str,
    image_count: int,
    sample: Sample,
    device: str,
    models: pd.DataFrame,
    label_set: LabelSet = CITYSCAPES,
) -> HomeView:
    """Build the Home page from the sidebar's choices.

    Args:
        source_text: the data's provenance.
        image_count: how many images the source lists.
        sample: the current image.
        device: "cpu" or "cuda".
        models: the models table (one row per model in use).
        label_set: the classes in use (named when they are not Cityscapes').
    """
    h, w = sample.image.shape[:2]
    data = (
        f"**Data:** `{source_text}` — {image_count} image(s)  \n"
        f"**Image:** `{sample.name}`, {w}×{h} px, "
        + ("with ground truth" if sample.label is not None else "**no ground truth** (metrics hidden)")
    )
    if not label_set.is_cityscapes:
        data += f"  \n**Classes:** {label_set.describe()}: {', '.join(label_set.class_names[:8])}"
        data += " …" if label_set.num_classes > 8 else ""
    return HomeView(
        intro=INTRO,
        data=data,
        device=device_text(device),
        models=models,
        models_caption=MODELS_CAPTION,
        guide=tuple(p for p in PAGES if p is not HOME),
        closing=CLOSING,
    )
