"""The finishing pass: a painted canvas becomes a camera image (textures, blur, sensor noise, and a
per-scene colour gain and gamma), so appearance varies without touching the label."""

import cv2
import numpy as np

from gald_viz.data.synthcity.canvas import Canvas
from gald_viz.data.synthcity.palettes import TEXTURES

_HF_TILES: dict[tuple[int, int], np.ndarray] = {}


def _hf_tile(height: int, width: int) -> np.ndarray:
    """Sensor-noise field larger than the image; each scene views it at a random offset.

    It has its own fixed seed, so scenes stay deterministic whatever order they are rendered in.
    """
    key = (height, width)
    if key not in _HF_TILES:
        rng = np.random.default_rng([20211, height, width])
        _HF_TILES[key] = rng.standard_normal((height + 127, width + 127), dtype=np.float32)
    return _HF_TILES[key]


def finish(rng: np.random.Generator, cv: Canvas) -> np.ndarray:
    """Turn the canvas into a camera image: textures, blur, sensor noise, per-scene colour and gamma."""
    h, w = cv.h, cv.w
    amps = np.array(list(TEXTURES.values()), np.float32) * rng.uniform(0.7, 1.3, (len(TEXTURES), 1))
    luts = np.zeros((3, 256), np.float32)
    luts[:, : len(TEXTURES)] = amps.T
    luts[2] += rng.uniform(1.0, 4.0)  # sensor noise everywhere

    # Low- and mid-frequency texture is smooth, so it is computed at half resolution and upsampled.
    hh, hw = (h + 1) // 2, (w + 1) // 2

    def field(cell: int) -> np.ndarray:
        small = rng.standard_normal((hh // cell + 2, hw // cell + 2), dtype=np.float32)
        return cv2.resize(small, (hw, hh), interpolation=cv2.INTER_LINEAR)

    tile = _hf_tile(h, w)
    oy, ox = rng.integers(tile.shape[0] - h + 1), rng.integers(tile.shape[1] - w + 1)
    code = cv2.extractChannel(cv.rgbc, 3)
    code_half = code[::2, ::2]
    t = cv2.multiply(cv2.LUT(code_half, luts[0]), field(max(4, h // 24)))
    t = cv2.add(t, cv2.multiply(cv2.LUT(code_half, luts[1]), field(max(1, h // 400))))
    t = cv2.resize(t, (w, h), interpolation=cv2.INTER_LINEAR)
    t = cv2.add(t, cv2.multiply(cv2.LUT(code, luts[2]), tile[oy : oy + h, ox : ox + w]))
    img = cv2.add(cv2.cvtColor(cv.rgbc, cv2.COLOR_RGBA2RGB), cv2.merge([t, t, t]), dtype=cv2.CV_8U)
    sigma = rng.uniform(0.4, 0.9) * max(cv.s, 0.5)
    img = cv2.GaussianBlur(img, (3, 3), sigma)
    gain = rng.uniform(0.9, 1.1, 3) * rng.uniform(0.75, 1.15)
    gamma = rng.uniform(0.8, 1.25)
    x = np.arange(256) / 255.0
    lut = np.clip(255.0 * (x[:, None] ** gamma) * gain[None, :], 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut.reshape(256, 1, 3))
