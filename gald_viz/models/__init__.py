"""GALD model zoo: dilated ResNet backbones, GA heads, LDv1/LDv2 and their assembly (GALD, IEEE TIP 2021)."""

from gald_viz.models.gald import GA_HEADS, GALDNet
from gald_viz.models.zoo import DEFAULT_OPTIONS, MODEL_NAMES, UnknownModelError, build_model

__all__ = ["DEFAULT_OPTIONS", "GA_HEADS", "GALDNet", "MODEL_NAMES", "UnknownModelError", "build_model"]
