"""The shared sidebar: data source, image, the two models, device and overlay opacity.

Each control is a small ``*_ui()`` function returning plain values (as in Streamlit's self-driving
demo); :func:`render_sidebar` resolves them into loaded objects. Bad input (a missing folder, a broken
upload, a checkpoint that does not fit) shows ``st.error`` naming the file and the problem, and the app
falls back to the built-in data or the bundled model, so it stays usable.
"""

import os
from dataclasses import dataclass, replace

import streamlit as st
import torch

from gald_viz.checkpoints import check_labels, list_bundled
from gald_viz.data.cityscapes import ENCODINGS
from gald_viz.data.images import read_image, read_label_map
from gald_viz.data.label_encoding import decode_label_map, upload_encoding_text
from gald_viz.data.label_set import CITYSCAPES, LabelSet
from gald_viz.data.sample import Sample
from gald_viz.data.sources import open_source
from gald_viz.data.spec import CityscapesSpec, DataSpec, FolderSpec, SynthCitySpec
from gald_viz.inference import resolve_device
from gald_viz.roots import confine
from gald_viz.ui import cache
from gald_viz.ui.labels import label_set_ui, labels_key, load_label_set
from gald_viz.ui.state import (
    DEFAULT_GA_MODEL,
    DEFAULT_GALD_MODEL,
    DEFAULT_PAIR_REASON,
    OTHER_CHECKPOINT,
    SOURCES,
)

ENCODING_LABELS = {
    "auto": "automatic (file names)",
    "trainId": "trainIds",
    "labelId": "labelIds (Cityscapes)",
}
"""How the sidebar names the label encodings of :class:`~gald_viz.data.cityscapes.FolderPairs`."""
SYNTHCITY_JOB_SPEC = SynthCitySpec(split="val")
"""The spec jobs and the command line use for the built-in scenes (SynthCity val at Cityscapes' 1024×2048,
so pixel radii match the paper's 3/5/9/12 px; seed 0; ``--limit`` picks N)."""


@dataclass
class Settings:
    """What the sidebar resolved to; every page works from this.

    Attributes:
        data_spec: the spec evaluation jobs open for these images (``synthcity:val``,
            ``cityscapes:val:ROOT``, ``folders:IMAGES,LABELS``); None for an uploaded image.
        source_text: the data's provenance (``describe()`` of the source).
        names: the image names of the source.
        sample: the current image, its label map (or None) and name.
        image_key: the cache key of the current image.
        ga, gald: the GA-only and the GALD model.
        device: "cpu" or "cuda".
        opacity: overlay opacity in [0, 1].
        link_data: the source shown, as the URL's ``data=`` names it (``synthcity:val:count=20``,
            ``upload``; :mod:`gald_viz.ui.state`).
        label_set: the classes of the data and both models (Cityscapes unless the sidebar names a file).
        link_labels: the label set file as the URL's ``labels=`` names it ("" for Cityscapes).
    """

    data_spec: DataSpec | None
    source_text: str
    names: list[str]
    sample: Sample
    image_key: str
    ga: cache.LoadedModel
    gald: cache.LoadedModel
    device: str
    opacity: float
    link_data: str = ""
    label_set: LabelSet = CITYSCAPES
    link_labels: str = ""

    def key(self, *models: cache.LoadedModel, **view) -> cache.CacheKey:
        """The cache key of a result on the current image from ``models`` under the ``view`` settings."""
        return cache.result_key(self.image_key, *models, **view)


@st.cache_resource(max_entries=8, show_spinner=False)
def _opened(spec_text: str, stamp: str, labels: str = "", _label_set: LabelSet = CITYSCAPES):
    """Open a data source once per spec text and label set (the readers list files; images load on demand).

    ``stamp`` (the folders' modification times) is only part of the cache key: a changed folder is
    listed again. ``labels`` (:func:`gald_viz.ui.labels.labels_key`) names ``_label_set`` in the key.
    """
    return open_source(spec_text, label_set=_label_set)


def _source(spec: DataSpec, stamp: str = "", label_set: LabelSet = CITYSCAPES):
    """The open source of a spec (cached by its canonical text and the label set)."""
    return _opened(str(spec), stamp, labels_key(label_set), label_set)


def synthcity_spec(count: int) -> SynthCitySpec:
    """The spec of the built-in data: SynthCity val at 1024×2048, ``count`` scenes."""
    return replace(SYNTHCITY_JOB_SPEC, count=count)


def data_source_ui() -> tuple[str, DataSpec | None]:
    """The chosen source kind and its spec for :func:`gald_viz.data.sources.open_source` (None: upload).

    The fields of the other kinds keep what was typed (``persist_state``) while they are hidden.
    """
    kind = st.selectbox("Data source", SOURCES, key="sb.source")
    if kind == SOURCES[1]:
        root = st.text_input(
            "Cityscapes root",
            key="sb.cityscapes_root",
            help="Defaults to $CITYSCAPES_DATASET",
            persist_state="session",
        ).strip()
        return kind, CityscapesSpec(split="val", root=root or None)
    if kind == SOURCES[2]:
        images = st.text_input("Images folder", key="sb.images_dir", persist_state="session").strip()
        labels = st.text_input(
            "Labels folder",
            key="sb.labels_dir",
            help="trainId or labelId PNGs, same names",
            persist_state="session",
        ).strip()
        encoding = st.selectbox(
            "Label encoding",
            ENCODINGS,
            key="sb.label_encoding",
            format_func=ENCODING_LABELS.get,
            help="How the label PNGs store classes; 'from file names' reads *_trainIds / *_labelIds names",
            persist_state="session",
        )
        # Not parsed here: an empty field must reach _load_data, which reports it and falls back.
        return kind, FolderSpec(images, labels, encoding)
    if kind == SOURCES[3]:
        return kind, None
    count = st.number_input(
        "SynthCity val images",
        min_value=1,
        max_value=500,
        step=1,
        key="sb.synthcity_count",
        persist_state="session",
    )
    return kind, synthcity_spec(int(count))


def upload_ui() -> tuple[object | None, object | None]:
    """The uploaded image and optional label map (Streamlit UploadedFile objects, or None)."""
    image = st.file_uploader(
        "Image", type=["png", "jpg", "jpeg", "bmp", "tif", "tiff", "webp"], key="sb.upload"
    )
    label = st.file_uploader("Label map (optional)", type=["png", "tif", "tiff"], key="sb.upload_label")
    return image, label


def _step_image(names: list[str], step: int) -> None:
    current = st.session_state.get("sb.image")
    i = names.index(current) if current in names else 0
    st.session_state["sb.image"] = names[(i + step) % len(names)]


def image_picker_ui(names: list[str]) -> str:
    """Pick an image by name, or step with previous/next."""
    if st.session_state.get("sb.image") not in names:
        st.session_state["sb.image"] = names[0]
    st.selectbox("Image", names, key="sb.image")
    prev_col, next_col = st.columns(2)
    prev_col.button("◀ previous", key="sb.prev", on_click=_step_image, args=(names, -1), width="stretch")
    next_col.button("next ▶", key="sb.next", on_click=_step_image, args=(names, 1), width="stretch")
    return st.session_state["sb.image"]


def model_picker_ui(role: str, label: str, bundled: list[str]) -> str:
    """A model picker: a bundled name, or a checkpoint path typed into a field."""
    options = [*bundled, OTHER_CHECKPOINT]
    key = f"sb.{role}_model"
    current = st.session_state.get(key)
    if current not in options:
        # A name that is not bundled (e.g. from a URL) is a path: show it in the path field.
        st.session_state[f"sb.{role}_path"] = current or ""
        st.session_state[key] = OTHER_CHECKPOINT
    choice = st.selectbox(label, options, key=key)
    if choice != OTHER_CHECKPOINT:
        return choice
    return st.text_input(f"{label}: checkpoint path", key=f"sb.{role}_path").strip()


def _gpu_name() -> str | None:
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def device_ui() -> str:
    """Device choice: "auto", "cpu" or "cuda" (labels show the GPU's name when there is one)."""
    gpu = _gpu_name()
    labels = {
        "auto": f"auto ({gpu or 'CPU'})",
        "cpu": "CPU",
        "cuda": f"CUDA ({gpu})" if gpu else "CUDA (none found)",
    }
    return st.selectbox("Device", list(labels), format_func=labels.__getitem__, key="sb.device")


def opacity_ui() -> float:
    """Opacity of label overlays."""
    return float(st.slider("Overlay opacity", 0.0, 1.0, step=0.05, key="sb.opacity"))


def _resolve_device(choice: str) -> str:
    try:
        return resolve_device(choice).type
    except ValueError as err:
        st.warning(f"{err} Using the CPU instead.")
        return "cpu"


def _label_ids_to_train(ids, name: str, label_set: LabelSet = CITYSCAPES):
    """Uploaded label ids as trainIds, by the file name convention or unambiguous values, else refused."""
    return decode_label_map(ids, name, label_set=label_set)[0]


def _uploaded_sample(image_file, label_file, label_set: LabelSet = CITYSCAPES) -> Sample:
    image = read_image(image_file.getvalue(), name=image_file.name)
    label = None
    if label_file is not None:
        label = _label_ids_to_train(
            read_label_map(label_file.getvalue(), name=label_file.name), label_file.name, label_set
        )
        if label.shape != image.shape[:2]:
            st.error(
                f"{label_file.name}: the label map is {label.shape[1]}×{label.shape[0]} px but the image "
                f"{image_file.name} is {image.shape[1]}×{image.shape[0]} px; the image is shown unlabelled."
            )
            label = None
    return Sample(image=image, label=label, name=image_file.name)


def confined_spec(spec: DataSpec) -> DataSpec:
    """``spec`` after checking that every folder it reads lies under the app's roots.

    Raises:
        PathNotAllowedError: a folder is outside :func:`gald_viz.roots.allowed_roots`.
    """
    if isinstance(spec, CityscapesSpec):
        root = spec.root or os.environ.get("CITYSCAPES_DATASET", "")
        if root:  # no root at all: the reader says so
            confine(root, "Cityscapes root")
    elif isinstance(spec, FolderSpec):
        for folder, what in ((spec.images, "Images folder"), (spec.labels, "Labels folder")):
            if folder:  # an empty field: the spec itself is refused, saying what is missing
                confine(folder, what)
    return spec


def _folder_stamp(spec: DataSpec) -> str:
    """Modification times of the folders a (confined) source reads, so a changed folder is listed again."""
    if isinstance(spec, CityscapesSpec):
        root = spec.root or os.environ.get("CITYSCAPES_DATASET", "")
        return cache.path_key(root) if root else ""
    if isinstance(spec, FolderSpec):
        return "|".join(cache.path_key(p) for p in (spec.images, spec.labels))
    return ""


def _load_data(
    kind: str, spec: DataSpec | None, default_spec: DataSpec, label_set: LabelSet = CITYSCAPES
) -> tuple[DataSpec | None, str, list[str], Sample, str, LabelSet]:
    """Resolve the source and the current image; on bad input, say why and use SynthCity.

    SynthCity draws the Cityscapes classes, so falling back to it falls back to them too.

    Returns:
        (spec or None for an upload, provenance text, image names, current sample, image cache key,
        the label set in use).
    """
    note = "" if label_set.is_cityscapes else " with the Cityscapes classes"
    fallback = f"SynthCity{note}"
    if kind == SOURCES[3]:
        image_file, label_file = upload_ui()
        if image_file is not None:
            try:
                s = _uploaded_sample(image_file, label_file, label_set)
                key = "upload/" + cache.bytes_key(image_file.getvalue())
                if label_file is not None:
                    key += "+" + cache.bytes_key(label_file.getvalue())
                key += labels_key(label_set)
                labels = f", labels: {upload_encoding_text(label_file.name, label_set)}" if label_file else ""
                return None, f"upload {image_file.name}{labels}", [s.name], s, key, label_set
            except ValueError as err:
                st.error(f"{err}. Showing {fallback} instead.")
        else:
            st.info("Upload an image (a label map is optional). Showing SynthCity until then.")
        spec = default_spec
    try:
        src = _source(spec, _folder_stamp(confined_spec(spec)), label_set)
        if len(src) == 0:
            raise ValueError(f"source {str(spec)!r}: no images found")
    except ValueError as err:
        st.error(f"{err}. Showing {fallback} instead.")
        spec, src, label_set = default_spec, _source(default_spec), CITYSCAPES
    names = list(src.names)
    name = image_picker_ui(names)
    try:
        s = cache.sample(_cache_text(spec, src), names.index(name), src)
    except ValueError as err:
        st.error(f"{err}. Showing the first SynthCity image{note} instead.")
        spec, src, label_set = default_spec, _source(default_spec), CITYSCAPES
        names = list(src.names)
        s = cache.sample(_cache_text(spec, src), 0, src)
    key = cache.image_key(_cache_text(spec, src), s.name)
    return spec, src.describe(), names, s, key, label_set


def _cache_text(spec: DataSpec, src) -> str:
    """What identifies a source's images in cache keys.

    SynthCity scenes do not depend on how many are listed, so they are keyed by the job spec, not
    the count; other sources by their provenance text (folders, encoding).
    """
    return str(SYNTHCITY_JOB_SPEC) if isinstance(spec, SynthCitySpec) else src.describe()


def _load_model(
    picked: str, fallback: str, device: str, label: str, label_set: LabelSet = CITYSCAPES
) -> cache.LoadedModel:
    """Load the picked model; on failure say why and fall back to the default, then to any bundled one.

    A model whose classes differ from ``label_set``'s is refused like a broken file. When nothing loads
    (no bundled checkpoints at all, or none of the label set's classes), the page stops with an error
    instead of crashing.
    """
    candidates = [picked, fallback, *list_bundled()]
    problems = []
    for name in dict.fromkeys(candidates):
        try:
            if not name:
                raise ValueError(f"{label}: type a checkpoint path")
            if name not in list_bundled():
                confine(name, f"{label} checkpoint")
            stamp = "" if name in list_bundled() else cache.path_key(name)
            loaded = cache.loaded_model(name, device, stamp)
            check_labels(loaded.model, label_set, f"{label} {name!r}")
        except ValueError as err:
            problems.append(str(err))
            continue
        if problems:
            st.error(f"{problems[0]}. Using {name} instead.")
        return loaded
    st.error(f"{label}: no model could be loaded ({'; '.join(problems)}).")
    st.stop()


def render_sidebar() -> Settings:
    """Draw the shared sidebar and resolve it into data, models and display settings."""
    with st.sidebar:
        st.header("Data")
        kind, spec = data_source_ui()
        labels_text = label_set_ui()
        label_set = load_label_set(labels_text)
        default_spec = synthcity_spec(int(st.session_state["sb.synthcity_count"]))
        spec, source_text, names, s, key, label_set = _load_data(kind, spec, default_spec, label_set)
        st.header("Models")
        bundled = list(list_bundled())
        ga_pick = model_picker_ui("ga", "GA model", bundled)
        gald_pick = model_picker_ui("gald", "GALD model", bundled)
        if (ga_pick, gald_pick) == (DEFAULT_GA_MODEL, DEFAULT_GALD_MODEL):
            st.caption(f"The default pair: {DEFAULT_PAIR_REASON}.")
        device = _resolve_device(device_ui())
        opacity = opacity_ui()
    ga = _load_model(ga_pick, DEFAULT_GA_MODEL, device, "GA model", label_set)
    gald = _load_model(gald_pick, DEFAULT_GALD_MODEL, device, "GALD model", label_set)
    return Settings(
        data_spec=SYNTHCITY_JOB_SPEC if isinstance(spec, SynthCitySpec) else spec,
        source_text=source_text,
        names=names,
        sample=s,
        image_key=key,
        ga=ga,
        gald=gald,
        device=device,
        opacity=opacity,
        link_data="upload" if spec is None else str(spec),
        label_set=label_set,
        link_labels="" if label_set.is_cityscapes else labels_text,
    )
