"""SynthCity's appearance data: texture presets and the colour ranges objects draw from.

Colour ranges deliberately overlap between classes (greys for road, wall, pole, building; greens for
vegetation and terrain; any hue for vehicles and clothes) so shape and context carry the label, not
colour.
"""

import numpy as np

TEXTURES = {
    "plain": (3, 2, 2),
    "sky": (12, 1, 1),
    "asphalt": (8, 6, 7),
    "paving": (6, 5, 6),
    "plaster": (8, 4, 4),
    "brick": (6, 9, 7),
    "glass": (10, 2, 2),
    "concrete": (7, 6, 7),
    "leaves": (10, 22, 12),
    "grass": (9, 13, 9),
    "metal": (4, 2, 2),
    "cloth": (3, 4, 4),
    "wood": (5, 7, 6),
    "rubber": (2, 2, 3),
}
"""Texture presets: (low-, mid-, high-frequency noise amplitude in grey levels).

The preset's code (its position here) is painted into a fourth canvas channel, so textures follow the
drawn geometry at no per-object cost; :mod:`.finish` turns the codes into noise.
"""

TEX_CODE = {name: code for code, name in enumerate(TEXTURES)}

ASPHALT = [(70, 70, 75), (90, 88, 92), (105, 100, 108), (60, 62, 70), (120, 118, 115)]
PAVING = [(150, 145, 140), (170, 160, 150), (140, 120, 115), (125, 125, 130), (180, 175, 165)]
FACADE = [
    (200, 190, 170),
    (170, 90, 70),
    (150, 150, 150),
    (220, 215, 205),
    (120, 100, 80),
    (190, 160, 120),
    (110, 115, 125),
    (230, 200, 160),
]
CONCRETE = [(150, 150, 145), (175, 170, 160), (120, 115, 110), (160, 140, 120), (100, 105, 110)]
GREEN = [(60, 95, 40), (45, 80, 35), (85, 115, 50), (70, 90, 60), (100, 120, 55)]
TERRAIN = [(120, 140, 70), (140, 150, 90), (150, 130, 90), (110, 130, 60), (160, 150, 110)]
PAINT = [
    (200, 30, 30),
    (30, 60, 160),
    (230, 230, 230),
    (20, 20, 25),
    (150, 150, 155),
    (60, 120, 60),
    (200, 180, 40),
    (120, 30, 40),
    (80, 80, 90),
    (180, 190, 200),
]
CLOTH = [
    (30, 30, 40),
    (200, 40, 40),
    (40, 60, 140),
    (220, 220, 210),
    (90, 70, 50),
    (60, 110, 60),
    (140, 140, 150),
    (230, 180, 50),
    (150, 60, 120),
]
SKIN = [(230, 190, 160), (190, 140, 110), (120, 85, 60), (240, 205, 180)]
GLASS = [(40, 50, 60), (70, 90, 110), (110, 130, 150), (30, 35, 40), (140, 160, 175)]
HAIR = [(30, 25, 20), (90, 60, 30), (200, 170, 90), (120, 120, 120)]
POLE_GREY = [(120, 120, 120), (90, 95, 90), (160, 160, 155), (60, 65, 60)]
SIGNAL_HOUSING = [(30, 32, 30), (45, 60, 40), (200, 170, 40), (70, 70, 70)]
BARK = [(80, 60, 40), (60, 50, 40), (100, 90, 70)]
FENCE_WOOD = [(140, 100, 60), (110, 80, 55), (170, 140, 100), (90, 90, 85)]
FENCE_METAL = [(60, 70, 60), (130, 130, 135), (40, 40, 45), (160, 160, 150)]


def shade(rgb, k: float) -> np.ndarray:
    """``rgb`` scaled by ``k`` (lighting), clipped to 0..255."""
    return np.clip(np.asarray(rgb, np.float64) * k, 0, 255)


def pick(rng: np.random.Generator, palette: list[tuple[int, int, int]], spread: float = 18.0) -> np.ndarray:
    """A random palette entry jittered by normal noise of ``spread`` grey levels per channel."""
    base = np.asarray(palette[rng.integers(len(palette))], np.float64)
    return np.clip(base + rng.normal(0.0, spread, 3), 0, 255)
