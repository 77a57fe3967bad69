"""SynthCity: procedural street scenes with exact Cityscapes trainId labels.

GALD (Li et al., IEEE TIP 2021) argues that global aggregation over-smooths small and thin objects
that sit next to large regions, and that local distribution repairs them. SynthCity is gald-viz's
embedded data set built to show exactly that: large stuff (road in perspective, sidewalks, buildings,
walls, fences, vegetation, terrain, sky) beside poles 2-8 px wide with traffic signs and lights,
persons, riders on bicycles and motorcycles, and cars, trucks, buses and trams scaled by distance.

Every scene is a small 3-D world seen by a pinhole camera: objects are placed in metres and
projected, so sizes shrink towards the vanishing point and geometry scales with the image size.
Image and label are drawn by the same non-antialiased OpenCV calls, painted far to near, so the
label is exact, occlusions included. Appearance (colour jitter, lighting, noise textures, shadows,
blur, sensor noise) varies per scene and shares colour ranges across classes, so colour alone does
not give the label away. Each scene depends only on ``(seed, split, index)``.

Modules: ``source`` (``generate``, ``SynthCity``), ``scene`` (the painting order), ``layout`` (where
everything goes), ``canvas`` (camera and rasters), ``surfaces`` (sky, ground, markings, shadows),
``structures`` (buildings, walls, fences, vegetation), ``drawers`` (the registry of thing drawers:
``vehicles``, ``people``, ``two_wheelers``, ``poles``, ``trees``), ``palettes`` (colours, textures),
``finish`` (canvas to camera image), ``stats`` and ``cli`` (``python -m gald_viz.data.synthcity``).
"""

from gald_viz.data.synthcity.cli import main, write_split
from gald_viz.data.synthcity.source import SPLIT_CODES, SynthCity, generate, sample_name
from gald_viz.data.synthcity.stats import class_stats, format_stats

__all__ = [
    "SPLIT_CODES",
    "SynthCity",
    "class_stats",
    "format_stats",
    "generate",
    "main",
    "sample_name",
    "write_split",
]
