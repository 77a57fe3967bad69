"""GALD model zoo: dilated ResNet backbones, GA heads, LDv1/LDv2 and their assembly (GALD, IEEE TIP 2021)."""

from gald_viz.models.contract import Evaluation, SegmentationModel, TapInfo
from gald_viz.models.gald import GALDNet
from gald_viz.models.registry import GA_HEADS, LD_MODULES
from gald_viz.models.zoo import DEFAULT_OPTIONS, MODEL_NAMES, UnknownModelError, build_model

__all__ = [
    "DEFAULT_OPTIONS",
    "GA_HEADS",
    "LD_MODULES",
    "MODEL_NAMES",
    "Evaluation",
    "GALDNet",
    "SegmentationModel",
    "TapInfo",
    "UnknownModelError",
    "build_model",
]
