"""The model contract: what every network the app runs declares (docs/DESIGN.md contracts 1 and 2).

:class:`SegmentationModel` is the base class of the zoo's :class:`~gald_viz.models.gald.GALDNet` and of
:class:`~gald_viz.models.official.OfficialGALDNet`. Inference, analysis and the feature hooks read these
attributes directly; a model type that sets all of them works everywhere in the app. ``model(x)`` returns
the main logits N×K×h×w at ``output_stride`` (not upsampled).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from torch import nn

#: Tile side of the official GALD-Net sliding-window evaluation, and its step ceil(832·2/3) = 555.
OFFICIAL_TILE = 832
OFFICIAL_STRIDE = math.ceil(OFFICIAL_TILE * 2 / 3)
#: Default :attr:`Evaluation.max_whole_pixels`: a whole 1024×2048 forward of a ResNet-50/101 model needs
#: several GB, so such models slide over larger inputs and memory stays bounded.
WHOLE_PIXELS_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class TapInfo:
    """One named intermediate of a model (an entry of ``model.feature_info``).

    Attributes:
        name: tap name used by the app (``"ga"``, ``"ldv2.affinity"``…).
        module: dotted path of the module whose forward output is recorded.
        channels: channels of the recorded tensor (k² for ``ldv2.affinity``, K for logits).
        stride: input pixels per feature cell.
        meaning: one line for people (GALD notation).
    """

    name: str
    module: str
    channels: int
    stride: int
    meaning: str


@dataclass(frozen=True)
class Evaluation:
    """How ``inference.predict(mode="auto")`` runs the model.

    Attributes:
        mode: ``"whole"`` (one forward per image) or ``"slide"`` (tiles averaged, the official evaluation).
        tile: tile side in model-input pixels when sliding.
        stride: step between tiles.
        max_whole_pixels: a ``"whole"`` model still slides over model inputs with more pixels than this
            (its memory bound; None: never).
    """

    mode: Literal["whole", "slide"]
    tile: int = OFFICIAL_TILE
    stride: int = OFFICIAL_STRIDE
    max_whole_pixels: int | None = WHOLE_PIXELS_LIMIT


class SegmentationModel(nn.Module):
    """Base class of every model: the attributes inference, analysis and the hooks rely on.

    Subclasses set each of them, as class attributes or in ``__init__``:

    Attributes:
        arch: architecture name (a zoo name or an ``official_gald_*`` name).
        options: JSON-able options the model was built from (enough to rebuild it).
        num_classes: K.
        preset: key of ``inference.PRESETS`` (how images become model input).
        input_scale: ``inference`` resizes images by this factor before the forward.
        min_input_size: smallest input side the model takes; ``inference`` pads smaller images.
        output_stride: input pixels per logit cell (8).
        logit_geometry: ``"cell_centres"`` (cell j sits on input pixel ``output_stride``·j) or
            ``"stretch"`` (``align_corners=True`` to the input size, as the official scripts).
        feature_info: the taps, in forward order (contract 2).
        ld_kind: ``"none"``, ``"ldv1"`` or ``"ldv2"``.
        ldv2_kernel: LDv2 window k (None without LDv2).
        ldv2_dilation: LDv2 dilation r (None without LDv2).
        evaluation: how ``mode="auto"`` runs it (whole image or sliding window, tile and stride).
        checkpoint_info: provenance set by ``checkpoints.load_model`` (empty for in-memory models).
    """

    arch: str
    options: dict[str, Any]
    num_classes: int
    preset: str
    input_scale: float
    min_input_size: int
    output_stride: int
    logit_geometry: Literal["cell_centres", "stretch"]
    feature_info: list[TapInfo]
    ld_kind: str
    ldv2_kernel: int | None
    ldv2_dilation: int | None
    evaluation: Evaluation
    checkpoint_info: MappingProxyType | dict[str, Any] = MappingProxyType({})
