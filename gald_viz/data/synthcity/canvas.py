"""The SynthCity camera: pinhole projection of a metre-scale world and fixed-point raster drawing.

Every draw call writes the colour raster and the label raster with the same non-antialiased OpenCV
call, so the label is exact, occlusions included (later calls paint over earlier ones).
"""

from dataclasses import dataclass

import cv2
import numpy as np

from gald_viz.data.labels import CLASS_NAMES
from gald_viz.data.synthcity.palettes import TEX_CODE

TRAIN_ID = {name: train_id for train_id, name in enumerate(CLASS_NAMES)}
"""Cityscapes class name -> trainId, the values the label raster holds."""

SHIFT = 4
"""OpenCV fixed-point vertices: 1/16 px, so thin far objects keep their sub-pixel position."""
_ONE = 1 << SHIFT


@dataclass(frozen=True)
class Face:
    """A vertical rectangle in the world: u runs along (dx, dz) from (ox, oz), v is the height Y."""

    ox: float
    oz: float
    dx: float
    dz: float
    length: float


def box_faces(x0: float, x1: float, z0: float, z1: float) -> list[tuple[str, Face]]:
    """Visible vertical faces of an axis-aligned box seen from x = 0: the side facing the road
    (when the box is to one side) and the near end."""
    faces = []
    if x0 > 0:
        faces.append(("side", Face(x0, z0, 0.0, 1.0, z1 - z0)))
    elif x1 < 0:
        faces.append(("side", Face(x1, z0, 0.0, 1.0, z1 - z0)))
    faces.append(("end", Face(x0, z0, 1.0, 0.0, x1 - x0)))
    return faces


def circle(cx: float, cy: float, r: float, n: int = 14) -> tuple[np.ndarray, np.ndarray]:
    """An n-gon approximating a circle: its u (or x) and v (or y) coordinates."""
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return cx + r * np.cos(a), cy + r * np.sin(a)


def _rgb(rgb) -> tuple[int, int, int]:
    return tuple(min(255, max(0, int(c))) for c in rgb)


def fixed(points) -> list[np.ndarray]:
    """Polygons (an (N, k, 2) array or a list of (k, 2) arrays) as OpenCV fixed-point vertices."""
    if isinstance(points, np.ndarray) and points.ndim == 3:
        return list(np.rint(points * _ONE).astype(np.int32))
    return [np.rint(np.asarray(p) * _ONE).astype(np.int32) for p in points]


class Canvas:
    """A pinhole camera and the two rasters every draw call writes.

    ``rgbc`` holds RGB plus a texture-preset code per pixel; ``label`` holds trainIds.
    """

    def __init__(self, rng: np.random.Generator, height: int, width: int) -> None:
        self.h, self.w = height, width
        self.s = width / 2048.0  # pixel sizes quoted "at 1024x2048" scale with this
        self.f = width * rng.uniform(1.02, 1.15)
        self.yh = height * rng.uniform(0.40, 0.47)
        self.xv = width * rng.uniform(0.44, 0.56)
        self.cam_h = rng.uniform(1.3, 1.7)
        self.rgbc = np.empty((height, width, 4), np.uint8)
        self.label = np.empty((height, width), np.uint8)

    # -- projection ---------------------------------------------------------------------------
    def project(self, x, y, z) -> np.ndarray:
        """World points (metres; x right, y up, z forward) to pixel coordinates, shape (..., 2)."""
        inv = self.f / np.maximum(np.asarray(z, np.float64), 0.3)
        px = self.xv + np.asarray(x, np.float64) * inv
        py = self.yh + (self.cam_h - np.asarray(y, np.float64)) * inv
        if px.shape != py.shape:
            px, py = np.broadcast_arrays(px, py)
        return np.stack((px, py), axis=-1)

    def visible(self, x0: float, x1: float, z0: float, z1: float) -> bool:
        """Whether anything between x0..x1 and depths z0..z1 can fall inside the image columns."""
        xs = [self.xv + self.f * x / max(z, 0.3) for x in (x0, x1) for z in (z0, z1)]
        return max(xs) >= -2 and min(xs) <= self.w + 2

    def ground(self, x0: float, x1: float, z0: float, z1: float) -> np.ndarray:
        """The ground rectangle x0..x1 by z0..z1 as a pixel quadrilateral."""
        return self.project([x0, x1, x1, x0], 0.0, [z0, z0, z1, z1])

    def face_pts(self, face: Face, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u = np.asarray(u, np.float64)
        return self.project(face.ox + u * face.dx, v, face.oz + u * face.dz)

    def face_rect(self, face: Face, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
        return self.face_pts(face, [u0, u1, u1, u0], [v0, v0, v1, v1])

    def billboard(self, x: float, z: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Points of a figure standing at (x, z), facing the camera (u right, v up, metres)."""
        return self.project(x + np.asarray(u, np.float64), v, z)

    def px(self, metres: float, z: float) -> float:
        """How many pixels ``metres`` span at depth ``z``."""
        return metres * self.f / max(z, 0.3)

    # -- drawing ------------------------------------------------------------------------------
    def fill(self, polys, rgb, tex: str, label: int | None, disjoint: bool = False) -> None:
        """Fill polygons in colour, and in the label unless ``label`` is None (surface paint).

        One ``cv2.fillPoly`` call fills its polygons with the even-odd rule, so overlapping shapes
        are drawn one call each; ``disjoint=True`` batches shapes known not to overlap (windows).
        """
        pts = fixed(polys)
        colour = (*_rgb(rgb), TEX_CODE[tex])
        groups = [pts] if disjoint else [[p] for p in pts]
        for group in groups:
            cv2.fillPoly(self.rgbc, group, colour, cv2.LINE_8, SHIFT)
            if label is not None:
                cv2.fillPoly(self.label, group, int(label), cv2.LINE_8, SHIFT)

    def lines(self, segments: np.ndarray, thickness_px: float, rgb, tex: str, label: int | None) -> None:
        """Draw (N, 2, 2) pixel segments; thickness is rounded to whole pixels (at least 1)."""
        if len(segments) == 0:
            return
        t = max(1, round(thickness_px))
        pts = fixed(np.asarray(segments))
        cv2.polylines(self.rgbc, pts, False, (*_rgb(rgb), TEX_CODE[tex]), t, cv2.LINE_8, SHIFT)
        if label is not None:
            cv2.polylines(self.label, pts, False, int(label), t, cv2.LINE_8, SHIFT)

    def ring(self, center: np.ndarray, radius_px: float, thickness_px: float, rgb, tex: str, label) -> None:
        """A circle outline (a wheel) around a pixel centre."""
        c = tuple(int(v) for v in np.rint(np.asarray(center) * _ONE))
        r = max(1, round(radius_px * _ONE))
        t = max(1, round(thickness_px))
        cv2.circle(self.rgbc, c, r, (*_rgb(rgb), TEX_CODE[tex]), t, cv2.LINE_8, SHIFT)
        if label is not None:
            cv2.circle(self.label, c, r, int(label), t, cv2.LINE_8, SHIFT)
