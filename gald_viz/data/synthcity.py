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
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, colorize, to_label_ids
from gald_viz.data.sample import Sample, check_index

SPLIT_CODES = {"train": 1, "val": 2, "test": 3}
"""Each split draws from its own RNG stream: ``default_rng([seed, SPLIT_CODES[split], index])``."""

_C = {name: train_id for train_id, name in enumerate(CLASS_NAMES)}

# Texture presets: (low-, mid-, high-frequency noise amplitude in grey levels). The preset index is
# painted into a fourth canvas channel so textures follow the drawn geometry at no per-object cost.
_TEXTURES = {
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
_TEX_CODE = {name: code for code, name in enumerate(_TEXTURES)}
_SHIFT = 4  # OpenCV fixed-point vertices: 1/16 px, so thin far objects keep their sub-pixel position
_ONE = 1 << _SHIFT

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


@dataclass(frozen=True)
class _Face:
    """A vertical rectangle in the world: u runs along (dx, dz) from (ox, oz), v is the height Y."""

    ox: float
    oz: float
    dx: float
    dz: float
    length: float


class _Canvas:
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
        return self.project([x0, x1, x1, x0], 0.0, [z0, z0, z1, z1])

    def face_pts(self, face: _Face, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        u = np.asarray(u, np.float64)
        return self.project(face.ox + u * face.dx, v, face.oz + u * face.dz)

    def face_rect(self, face: _Face, u0: float, u1: float, v0: float, v1: float) -> np.ndarray:
        return self.face_pts(face, [u0, u1, u1, u0], [v0, v0, v1, v1])

    def billboard(self, x: float, z: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Points of a figure standing at (x, z), facing the camera (u right, v up, metres)."""
        return self.project(x + np.asarray(u, np.float64), v, z)

    def px(self, metres: float, z: float) -> float:
        return metres * self.f / max(z, 0.3)

    # -- drawing ------------------------------------------------------------------------------
    @staticmethod
    def _fixed(points) -> list[np.ndarray]:
        """Polygons (an (N, k, 2) array or a list of (k, 2) arrays) as OpenCV fixed-point vertices."""
        if isinstance(points, np.ndarray) and points.ndim == 3:
            return list(np.rint(points * _ONE).astype(np.int32))
        return [np.rint(np.asarray(p) * _ONE).astype(np.int32) for p in points]

    def fill(self, polys, rgb, tex: str, label: int | None, disjoint: bool = False) -> None:
        """Fill polygons in colour, and in the label unless ``label`` is None (surface paint).

        One ``cv2.fillPoly`` call fills its polygons with the even-odd rule, so overlapping shapes
        are drawn one call each; ``disjoint=True`` batches shapes known not to overlap (windows).
        """
        pts = self._fixed(polys)
        colour = (*_rgb(rgb), _TEX_CODE[tex])
        groups = [pts] if disjoint else [[p] for p in pts]
        for group in groups:
            cv2.fillPoly(self.rgbc, group, colour, cv2.LINE_8, _SHIFT)
            if label is not None:
                cv2.fillPoly(self.label, group, int(label), cv2.LINE_8, _SHIFT)

    def lines(self, segments: np.ndarray, thickness_px: float, rgb, tex: str, label: int | None) -> None:
        """Draw (N, 2, 2) pixel segments; thickness is rounded to whole pixels (at least 1)."""
        if len(segments) == 0:
            return
        t = max(1, round(thickness_px))
        pts = self._fixed(np.asarray(segments))
        cv2.polylines(self.rgbc, pts, False, (*_rgb(rgb), _TEX_CODE[tex]), t, cv2.LINE_8, _SHIFT)
        if label is not None:
            cv2.polylines(self.label, pts, False, int(label), t, cv2.LINE_8, _SHIFT)

    def ring(self, center: np.ndarray, radius_px: float, thickness_px: float, rgb, tex: str, label) -> None:
        c = tuple(int(v) for v in np.rint(np.asarray(center) * _ONE))
        r = max(1, round(radius_px * _ONE))
        t = max(1, round(thickness_px))
        cv2.circle(self.rgbc, c, r, (*_rgb(rgb), _TEX_CODE[tex]), t, cv2.LINE_8, _SHIFT)
        if label is not None:
            cv2.circle(self.label, c, r, int(label), t, cv2.LINE_8, _SHIFT)


def _rgb(rgb) -> tuple[int, int, int]:
    return tuple(min(255, max(0, int(c))) for c in rgb)


def _shade(rgb, k: float) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float64) * k, 0, 255)


def _pick(rng: np.random.Generator, palette: list[tuple[int, int, int]], spread: float = 18.0) -> np.ndarray:
    base = np.asarray(palette[rng.integers(len(palette))], np.float64)
    return np.clip(base + rng.normal(0.0, spread, 3), 0, 255)


def _circle(cx: float, cy: float, r: float, n: int = 14) -> tuple[np.ndarray, np.ndarray]:
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return cx + r * np.cos(a), cy + r * np.sin(a)


# Colour ranges deliberately overlap between classes (greys for road, wall, pole, building; greens
# for vegetation and terrain; any hue for vehicles and clothes) so shape and context carry the label.
_ASPHALT = [(70, 70, 75), (90, 88, 92), (105, 100, 108), (60, 62, 70), (120, 118, 115)]
_PAVING = [(150, 145, 140), (170, 160, 150), (140, 120, 115), (125, 125, 130), (180, 175, 165)]
_FACADE = [
    (200, 190, 170),
    (170, 90, 70),
    (150, 150, 150),
    (220, 215, 205),
    (120, 100, 80),
    (190, 160, 120),
    (110, 115, 125),
    (230, 200, 160),
]
_CONCRETE = [(150, 150, 145), (175, 170, 160), (120, 115, 110), (160, 140, 120), (100, 105, 110)]
_GREEN = [(60, 95, 40), (45, 80, 35), (85, 115, 50), (70, 90, 60), (100, 120, 55)]
_TERRAIN = [(120, 140, 70), (140, 150, 90), (150, 130, 90), (110, 130, 60), (160, 150, 110)]
_PAINT = [
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
_CLOTH = [
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
_SKIN = [(230, 190, 160), (190, 140, 110), (120, 85, 60), (240, 205, 180)]
_GLASS = [(40, 50, 60), (70, 90, 110), (110, 130, 150), (30, 35, 40), (140, 160, 175)]


class _Scene:
    """Lays out one street and paints it onto a :class:`_Canvas`, far to near."""

    def __init__(self, rng: np.random.Generator, cv: _Canvas) -> None:
        self.rng, self.cv = rng, cv
        r = rng
        self.road_l = -r.uniform(2.0, 7.5)
        self.road_r = r.uniform(3.0, 8.5)
        self.walk_l = self.road_l - r.uniform(2.0, 5.0)
        self.walk_r = self.road_r + r.uniform(2.0, 5.0)
        self.verge_l = self.walk_l - (r.uniform(1.5, 6.0) if r.random() < 0.45 else 0.0)
        self.verge_r = self.walk_r + (r.uniform(1.5, 6.0) if r.random() < 0.45 else 0.0)
        self.junction = r.random() < 0.65
        self.z_end = r.uniform(70.0, 180.0) if self.junction else r.uniform(220.0, 400.0)
        self.z_cross = self.z_end - r.uniform(14.0, 20.0)  # near edge of the crossing street
        self.z_side_end = self.z_cross - r.uniform(2.0, 4.0) if self.junction else self.z_end
        self.sun_right = r.random() < 0.5
        self.objects: list[tuple[float, object]] = []
        self.lanes: dict[float, list[tuple[float, float]]] = {}
        self.vehicle_shadows: list[tuple[float, float, float, float]] = []

    # -- stuff --------------------------------------------------------------------------------
    def sky(self) -> None:
        cv, r = self.cv, self.rng
        if r.random() < 0.35:  # overcast
            top = np.array([175, 180, 190]) + r.normal(0, 15, 3)
            bottom = top + r.uniform(10, 40)
        else:
            top = np.array([70, 120, 190]) + r.normal(0, 20, 3)
            bottom = np.array([190, 210, 230]) + r.normal(0, 12, 3)
        t = np.clip(np.linspace(0.0, 1.0, cv.h) * cv.h / max(cv.yh, 1.0), 0, 1)[:, None]
        column = np.empty((cv.h, 4), np.uint8)
        column[:, :3] = np.clip(top * (1 - t) + bottom * t, 0, 255)
        column[:, 3] = _TEX_CODE["sky"]
        # One 32-bit store per pixel: the four canvas bytes are written together.
        cv.rgbc.view(np.uint32)[:, :, 0] = column.view(np.uint32)
        cv.label[:] = _C["sky"]

    def ground(self) -> None:
        cv, r = self.cv, self.rng
        far = self.z_end + 400.0
        terrain = _pick(r, _TERRAIN)
        cv.fill([cv.ground(-4000, 4000, 3.0, far)], terrain, "grass", _C["terrain"])
        self.asphalt = _pick(r, _ASPHALT, 8)
        self.paving = _pick(r, _PAVING, 10)
        z_road_end = self.z_end if self.junction else far
        if self.junction:
            cv.fill(
                [cv.ground(-3000, 3000, self.z_cross - 4.0, self.z_end + 4.0)],
                self.paving,
                "paving",
                _C["sidewalk"],
            )
            cv.fill([cv.ground(-3000, 3000, self.z_cross, self.z_end)], self.asphalt, "asphalt", _C["road"])
        for side in (-1, 1):
            walk, verge = (self.walk_l, self.verge_l) if side < 0 else (self.walk_r, self.verge_r)
            road = self.road_l if side < 0 else self.road_r
            if verge != walk:
                cv.fill(
                    [cv.ground(walk, verge, 1.0, self.z_side_end)], _pick(r, _TERRAIN), "grass", _C["terrain"]
                )
            cv.fill([cv.ground(road, walk, 1.0, self.z_side_end)], self.paving, "paving", _C["sidewalk"])
            curb = road + side * 0.25
            cv.fill(
                [cv.ground(road, curb, 1.0, self.z_side_end)],
                _shade(self.paving, 1.2),
                "concrete",
                _C["sidewalk"],
            )
            self._tiles(road, walk)
        cv.fill([cv.ground(self.road_l, self.road_r, 1.0, z_road_end)], self.asphalt, "asphalt", _C["road"])
        self._markings(z_road_end)

    def _tiles(self, x0: float, x1: float) -> None:
        """Paving joints: a sidewalk cue that is texture, not colour."""
        cv, r = self.cv, self.rng
        step = r.uniform(0.5, 1.2)
        xs = np.arange(min(x0, x1), max(x0, x1), step)
        zs = np.arange(2.0, min(self.z_side_end, 80.0), step)
        segs = [cv.project([x, x], 0.0, [2.0, self.z_side_end]) for x in xs]
        segs += [cv.project([x0, x1], 0.0, [z, z]) for z in zs]
        cv.lines(np.array(segs), 1.2 * cv.s, _shade(self.paving, 0.75), "paving", None)

    def _markings(self, z_road_end: float) -> None:
        cv, r = self.cv, self.rng
        white = np.array([225, 225, 215]) + r.normal(0, 10, 3)
        width = self.road_r - self.road_l
        n_lanes = max(1, int(width / r.uniform(3.0, 3.8)))
        lane_w = width / n_lanes
        self.lane_centres = [self.road_l + lane_w * (i + 0.5) for i in range(n_lanes)]
        dash, gap = r.uniform(2.5, 4.0), r.uniform(5.0, 9.0)
        polys = []
        for i in range(1, n_lanes):
            x = self.road_l + lane_w * i
            for z in np.arange(2.0 + r.uniform(0, gap), min(z_road_end, 150.0), dash + gap):
                polys.append(cv.ground(x - 0.07, x + 0.07, z, z + dash))
        for edge in (self.road_l + 0.35, self.road_r - 0.35):
            polys.append(cv.ground(edge - 0.06, edge + 0.06, 2.0, z_road_end))
        cv.fill(polys, white, "paving", None, disjoint=True)
        if r.random() < 0.5:  # zebra crossing
            z0 = r.uniform(12.0, 40.0)
            stripes = [
                cv.ground(x, x + 0.5, z0, z0 + 3.0)
                for x in np.arange(self.road_l + 0.5, self.road_r - 0.5, 1.0)
            ]
            cv.fill(stripes, white, "paving", None, disjoint=True)
        self.tram_rails = r.random() < 0.45
        if self.tram_rails:
            x = self.lane_centres[0]
            rails = [cv.project([x + d, x + d], 0.0, [2.0, z_road_end]) for d in (-0.72, 0.72)]
            cv.lines(np.array(rails), 2.0 * cv.s, _shade(self.asphalt, 1.35), "metal", None)

    def shadows(self) -> None:
        """Cast shadows darken whatever is on the ground: no class is defined by brightness."""
        cv, r = self.cv, self.rng
        shade = np.full((cv.h, cv.w), 255, np.uint8)
        side = 1 if self.sun_right else -1
        facade = self.verge_r if side > 0 else self.verge_l
        reach = r.uniform(3.0, 12.0)
        z = 2.0
        while z < self.z_side_end:
            length = r.uniform(8.0, 30.0)
            if r.random() < 0.6:
                poly = cv.ground(
                    facade, facade - side * reach * r.uniform(0.6, 1.4), z, min(z + length, self.z_side_end)
                )
                cv2.fillPoly(shade, cv._fixed([poly]), int(r.uniform(120, 180)), cv2.LINE_8, _SHIFT)
            z += length
        for x0, x1, z0, z1 in self.vehicle_shadows:
            cv2.fillPoly(shade, cv._fixed([cv.ground(x0, x1, z0, z1)]), 70, cv2.LINE_8, _SHIFT)
        top = max(0, int(cv.yh) - 1)
        alpha = np.full((cv.h - top, cv.w), 255, np.uint8)
        shade4 = cv2.merge([shade[top:]] * 3 + [alpha])
        cv.rgbc[top:] = cv2.multiply(cv.rgbc[top:], shade4, scale=1 / 255)

    # -- side structures ----------------------------------------------------------------------
    def sides(self) -> None:
        """Buildings, walls, fences, vegetation and open terrain along both kerbs, far to near."""
        r = self.rng
        items = []
        for side in (-1, 1):
            z = 2.0
            x_front = abs(self.verge_l if side < 0 else self.verge_r)
            while z < self.z_side_end:
                length = min(r.uniform(8.0, 40.0), self.z_side_end - z)
                kind = r.choice(
                    ["building", "vegetation", "wall", "fence", "terrain"], p=[0.42, 0.18, 0.15, 0.14, 0.11]
                )
                items.append((z, side, x_front, length, str(kind)))
                z += length + (r.uniform(2.0, 8.0) if r.random() < 0.2 else 0.0)
        for z, side, x_front, length, kind in sorted(items, key=lambda it: -it[0]):
            self._segment(z, side, x_front, length, kind)

    def _box(self, x0: float, x1: float, z0: float, z1: float) -> list[tuple[str, _Face]]:
        """Visible vertical faces of an axis-aligned box seen from x = 0: the side facing the road
        (when the box is to one side) and the near end."""
        faces = []
        if x0 > 0:
            faces.append(("side", _Face(x0, z0, 0.0, 1.0, z1 - z0)))
        elif x1 < 0:
            faces.append(("side", _Face(x1, z0, 0.0, 1.0, z1 - z0)))
        faces.append(("end", _Face(x0, z0, 1.0, 0.0, x1 - x0)))
        return faces

    def _building(self, x0: float, x1: float, z0: float, z1: float, height: float) -> None:
        cv, r = self.cv, self.rng
        base = _pick(r, _FACADE, 14)
        tex = "brick" if r.random() < 0.3 else "plaster"
        glass = _pick(r, _GLASS, 12)
        floor_h, col_w = r.uniform(2.9, 3.8), r.uniform(1.8, 3.6)
        win_w, win_h = col_w * r.uniform(0.35, 0.7), floor_h * r.uniform(0.35, 0.6)
        shop = r.random() < 0.5
        for kind, face in self._box(x0, x1, z0, z1):
            lit = 1.0 if (kind == "side") == ((face.ox > 0) == self.sun_right) else 0.72
            cv.fill(
                [cv.face_rect(face, 0.0, face.length, 0.0, height)], _shade(base, lit), tex, _C["building"]
            )
            if face.length < 1.0:
                continue
            us = np.arange(col_w * 0.5, face.length - win_w, col_w)
            vs = np.arange(floor_h * (1.3 if shop else 0.35), height - win_h - 0.3, floor_h)
            if len(us) and len(vs):
                uu, vv = np.meshgrid(us, vs)
                uu, vv = uu.ravel(), vv.ravel()
                u = np.stack([uu, uu + win_w, uu + win_w, uu], 1)
                v = np.stack([vv, vv, vv + win_h, vv + win_h], 1)
                pts = cv.face_pts(face, u, v)
                pick = r.random(len(pts)) < 0.3
                cv.fill(pts[~pick], _shade(glass, lit), "glass", None, disjoint=True)
                if pick.any():
                    cv.fill(pts[pick], _shade(glass, lit * 1.5), "glass", None, disjoint=True)
            if shop:
                doors = [cv.face_rect(face, u, u + col_w * 0.8, 0.2, floor_h * 0.85) for u in us[::2]]
                if doors:
                    cv.fill(doors, _shade(_pick(r, _GLASS), lit), "glass", None, disjoint=True)

    def _vegetation(self, face: _Face, height: float, n_blobs: int) -> None:
        """A vertical mass of foliage with a ragged top, plus leafy blobs that keep its label."""
        cv, r = self.cv, self.rng
        green = _pick(r, _GREEN, 14)
        u = np.linspace(0.0, face.length, 24)
        top = height * (0.7 + 0.3 * r.random(24))
        pts = cv.face_pts(face, np.concatenate([u, u[::-1]]), np.concatenate([top, np.zeros(24)]))
        cv.fill([pts], green, "leaves", _C["vegetation"])
        blobs = []
        for _ in range(n_blobs):
            cu, cvv, rad = r.uniform(0, face.length), r.uniform(0.3, 0.8) * height, r.uniform(0.5, 2.0)
            bu, bv = _circle(cu, cvv, rad, 10)
            blobs.append(cv.face_pts(face, np.clip(bu, 0, face.length), np.clip(bv, 0.0, cvv)))
        cv.fill(blobs, _shade(green, r.uniform(0.7, 1.3)), "leaves", _C["vegetation"])

    def _segment(self, z: float, side: int, x_front: float, length: float, kind: str) -> None:
        cv, r = self.cv, self.rng
        z1 = z + length
        near, far = x_front, x_front + r.uniform(12.0, 25.0)
        x0, x1 = (near, far) if side > 0 else (-far, -near)
        if not cv.visible(x0, x1, z, z1):
            return
        if kind == "building":
            self._building(x0, x1, z, z1, r.uniform(6.0, 30.0))
            return
        behind = x_front + r.uniform(2.0, 12.0)
        back_face = _Face(side * behind, z, 0.0, 1.0, length)
        if kind in ("terrain", "fence"):
            gx = (x_front, behind) if side > 0 else (-behind, -x_front)
            cv.fill([cv.ground(gx[0], gx[1], z, z1)], _pick(r, _TERRAIN), "grass", _C["terrain"])
        if kind == "vegetation":
            self._vegetation(_Face(side * x_front, z, 0.0, 1.0, length), r.uniform(2.0, 10.0), 6)
            return
        if r.random() < 0.5:
            self._vegetation(back_face, r.uniform(4.0, 12.0), 4)
        else:
            bx = (behind, behind + 15.0) if side > 0 else (-behind - 15.0, -behind)
            self._building(bx[0], bx[1], z, z1, r.uniform(6.0, 25.0))
        if kind == "wall":
            self._wall(_Face(side * x_front, z, 0.0, 1.0, length), r.uniform(1.0, 3.2))
        elif kind == "fence":
            self._fence(_Face(side * x_front, z, 0.0, 1.0, length), r.uniform(1.0, 2.2))

    def _wall(self, face: _Face, height: float) -> None:
        cv, r = self.cv, self.rng
        colour = _pick(r, _CONCRETE, 14)
        cv.fill([cv.face_rect(face, 0.0, face.length, 0.0, height)], colour, "concrete", _C["wall"])
        step = r.uniform(0.3, 0.8)
        joints = [cv.face_pts(face, [0.0, face.length], [v, v]) for v in np.arange(step, height, step)]
        if joints:
            cv.lines(np.array(joints), 1.0 * cv.s, _shade(colour, 0.8), "concrete", None)
        cv.fill(
            [cv.face_rect(face, 0.0, face.length, height - 0.15, height)],
            _shade(colour, 1.15),
            "concrete",
            _C["wall"],
        )

    def _fence(self, face: _Face, height: float) -> None:
        """A fence is labelled as its whole panel (as in Cityscapes) and drawn as a lattice."""
        cv, r = self.cv, self.rng
        panel = cv.face_rect(face, 0.0, face.length, 0.0, height)
        if r.random() < 0.5:  # wooden boards
            wood = _pick(r, [(140, 100, 60), (110, 80, 55), (170, 140, 100), (90, 90, 85)], 12)
            cv.fill([panel], wood, "wood", _C["fence"])
            step = r.uniform(0.12, 0.25)
            gaps = [cv.face_pts(face, [u, u], [0.0, height]) for u in np.arange(step, face.length, step)]
            cv.lines(np.array(gaps), 1.0 * cv.s, _shade(wood, 0.55), "wood", None)
            return
        metal = _pick(r, [(60, 70, 60), (130, 130, 135), (40, 40, 45), (160, 160, 150)], 12)
        cv.fill([panel], _pick(r, _GREEN + _CONCRETE, 20) * 0.7, "leaves", _C["fence"])
        step = r.uniform(0.15, 0.35)
        segs = [cv.face_pts(face, [u, u], [0.0, height]) for u in np.arange(0.0, face.length, step)]
        segs += [cv.face_pts(face, [0.0, face.length], [v, v]) for v in np.arange(0.05, height, step * 1.5)]
        z_mid = face.oz + face.length / 2
        cv.lines(np.array(segs), max(1.0, cv.px(0.03, z_mid)), metal, "metal", None)
        posts = [
            cv.face_rect(face, u, u + 0.08, 0.0, height + 0.05) for u in np.arange(0.0, face.length, 2.5)
        ]
        cv.fill(posts, metal, "metal", _C["fence"], disjoint=True)

    def backdrop(self) -> None:
        """The far end of the street: a row of facades or trees across the view."""
        cv, r = self.cv, self.rng
        x = (-cv.xv - 2) * self.z_end / cv.f - 10.0
        x_stop = (cv.w - cv.xv + 2) * self.z_end / cv.f
        while x < x_stop:
            width = r.uniform(10.0, 40.0)
            if r.random() < 0.7:
                self._building(x, x + width, self.z_end, self.z_end + 15.0, r.uniform(8.0, 35.0))
            else:
                self._vegetation(_Face(x, self.z_end, 1.0, 0.0, width), r.uniform(4.0, 14.0), 3)
            x += width

    # -- things -------------------------------------------------------------------------------
    def _free(self, lane: float, z0: float, z1: float) -> bool:
        taken = self.lanes.setdefault(round(lane, 2), [])
        if any(z0 < b + 1.0 and a - 1.0 < z1 for a, b in taken):
            return False
        taken.append((z0, z1))
        return True

    def place_things(self) -> None:
        """Choose every object; each is drawn later in depth order."""
        r = self.rng
        lanes = list(self.lane_centres)
        parking = [self.road_l + 1.1, self.road_r - 1.1]

        def vehicle(kind: str, x_choices: list[float], z_range: tuple[float, float], tries: int = 6) -> None:
            dims = {
                "car": (r.uniform(3.9, 4.9), r.uniform(1.65, 1.9)),
                "truck": (r.uniform(6.5, 10.0), 2.5),
                "bus": (r.uniform(11.0, 13.0), 2.55),
                "train": (r.uniform(24.0, 32.0), 2.4),
            }[kind]
            length, width = dims
            for _ in range(tries):
                x = x_choices[r.integers(len(x_choices))]
                if kind == "train" and self.tram_rails:
                    x = self.lane_centres[0]
                z0 = r.uniform(*z_range)
                if self._free(x, z0, z0 + length):
                    self.vehicle_shadows.append(
                        (x - width / 2 - 0.2, x + width / 2 + 0.4, z0 - 0.4, z0 + length + 0.3)
                    )
                    self.objects.append(
                        (z0, ("vehicle", kind, x - width / 2, x + width / 2, z0, z0 + length))
                    )
                    return

        for _ in range(r.integers(2, 10)):
            vehicle("car", lanes + parking, (7.0, 90.0))
        if r.random() < 0.55:
            vehicle("truck", lanes, (10.0, 80.0))
        if r.random() < 0.55:
            vehicle("bus", lanes, (10.0, 70.0))
        if r.random() < 0.5 or self.tram_rails:
            vehicle("train", lanes, (12.0, 60.0))
        if self.junction:
            for _ in range(r.integers(0, 3)):
                kind = str(r.choice(["car", "car", "bus", "train", "truck"]))
                length = {"car": 4.5, "truck": 9.0, "bus": 12.0, "train": 28.0}[kind]
                x0 = r.uniform(-length - 10.0, 10.0)
                z0 = self.z_cross + r.uniform(1.0, 8.0)
                self.objects.append((z0, ("vehicle_across", kind, x0, x0 + length, z0, z0 + 2.5)))

        walks = [(self.walk_l + 0.4, self.road_l - 0.5), (self.road_r + 0.5, self.walk_r - 0.4)]
        for _ in range(r.integers(1, 12)):
            lo, hi = walks[r.integers(2)]
            self.objects.append((z := r.uniform(8.0, 60.0), ("person", r.uniform(lo, hi), z)))
        if r.random() < 0.3:  # pedestrians on the road (crossing)
            for _ in range(r.integers(1, 4)):
                self.objects.append(
                    (z := r.uniform(10.0, 40.0), ("person", r.uniform(self.road_l, self.road_r), z))
                )
        for kind, p in (("bicycle", 0.6), ("motorcycle", 0.55)):
            if r.random() < p:
                for _ in range(r.integers(1, 3)):
                    x = r.uniform(self.road_l + 0.5, self.road_r - 0.5)
                    self.objects.append((z := r.uniform(9.0, 45.0), ("two_wheeler", kind, x, z, True)))
            if r.random() < 0.3:  # parked, no rider
                lo, hi = walks[r.integers(2)]
                self.objects.append(
                    (z := r.uniform(9.0, 40.0), ("two_wheeler", kind, r.uniform(lo, hi), z, False))
                )

        kerbs = [self.road_l - 0.6, self.road_r + 0.6]
        for _ in range(r.integers(3, 10)):
            # Poles 2-8 px wide at 2048 px width: 0.15 m poles placed where 0.15 m projects to that range.
            self.objects.append((z := r.uniform(40.0, 130.0), ("pole", kerbs[r.integers(2)], z)))
        if self.junction and r.random() < 0.8:
            for x in kerbs:
                self.objects.append((self.z_cross - 1.0, ("pole", x, self.z_cross - 1.0)))
        if r.random() < 0.5:
            side = kerbs[r.integers(2)]
            for z in np.arange(r.uniform(8.0, 20.0), 80.0, r.uniform(8.0, 15.0)):
                self.objects.append((float(z), ("tree", side + np.sign(side) * 0.5, float(z))))

    def things(self, kinds: tuple[str, ...]) -> None:
        """Draw the placed objects of the given kinds, far to near."""
        for _, obj in sorted(self.objects, key=lambda item: -item[0]):
            if obj[0] in kinds:
                getattr(self, "_" + obj[0])(*obj[1:])

    def _vehicle(self, kind: str, x0: float, x1: float, z0: float, z1: float, across: bool = False) -> None:
        cv, r = self.cv, self.rng
        cls = _C[kind]
        paint = _pick(r, _PAINT, 16)
        glass = _pick(r, _GLASS, 10)
        height, clear = {
            "car": (r.uniform(1.4, 1.6), 0.25),
            "truck": (r.uniform(3.2, 3.9), 0.8),
            "bus": (r.uniform(3.0, 3.3), 0.35),
            "train": (r.uniform(3.3, 3.6), 0.4),
        }[kind]
        body_top = 0.95 if kind == "car" else height
        wheel_r = {"car": 0.32, "truck": 0.5, "bus": 0.5, "train": 0.4}[kind]
        tyre = (25, 25, 28)
        for face_kind, face in self._box(x0, x1, z0, z1):
            long_face = (face_kind == "side") != across
            lit = 1.0 if face_kind == "end" else 0.8
            cv.fill([cv.face_rect(face, 0.0, face.length, clear, body_top)], _shade(paint, lit), "metal", cls)
            if long_face:
                polys = []
                for cu in (wheel_r * 1.6, face.length - wheel_r * 1.6):
                    u, v = _circle(cu, wheel_r, wheel_r, 12)
                    polys.append(cv.face_pts(face, u, v))
                cv.fill(polys, tyre, "rubber", cls)
                if kind in ("bus", "train"):
                    step = r.uniform(1.2, 2.2)
                    wins = [
                        cv.face_rect(face, u, u + step * 0.8, height * 0.4, height * 0.8)
                        for u in np.arange(0.6, face.length - step, step)
                    ]
                    cv.fill(wins, glass, "glass", None, disjoint=True)
                elif kind == "truck":
                    cv.fill(
                        [cv.face_rect(face, 0.0, 2.2, clear, height * 0.75)], _pick(r, _PAINT), "metal", cls
                    )
            else:
                w = face.length
                for cu in (0.15, w - 0.15):
                    cv.fill([cv.face_rect(face, cu - 0.13, cu + 0.13, 0.0, clear + 0.1)], tyre, "rubber", cls)
                lamp = (210, 30, 30) if r.random() < 0.6 else (235, 235, 200)
                cv.fill(
                    [
                        cv.face_rect(face, 0.05, 0.3, body_top * 0.55, body_top * 0.7),
                        cv.face_rect(face, w - 0.3, w - 0.05, body_top * 0.55, body_top * 0.7),
                    ],
                    lamp,
                    "plain",
                    cls,
                )
                if kind != "car":
                    cv.fill(
                        [cv.face_rect(face, 0.15, w - 0.15, height * 0.55, height * 0.85)],
                        glass,
                        "glass",
                        None,
                    )
        if body_top < cv.cam_h:  # seen from above: the bonnet and boot of a car
            top = cv.project([x0, x1, x1, x0], body_top, [z0, z0, z1, z1])
            cv.fill([top], _shade(paint, 1.05), "metal", cls)
        if kind == "car":  # cabin: a narrower, shorter box on top of the body
            inset = (z1 - z0) * 0.22 if not across else 0.12
            cx0, cx1 = (x0 + 0.12, x1 - 0.12) if not across else (x0 + (x1 - x0) * 0.22, x1 - (x1 - x0) * 0.3)
            cz0, cz1 = (z0 + inset, z1 - inset * 0.8) if not across else (z0 + inset, z1 - inset)
            for _, face in self._box(cx0, cx1, cz0, cz1):
                cv.fill([cv.face_rect(face, 0.0, face.length, body_top, height)], paint, "metal", cls)
                cv.fill(
                    [cv.face_rect(face, 0.1, face.length - 0.1, body_top + 0.05, height - 0.06)],
                    glass,
                    "glass",
                    None,
                )
            if height < cv.cam_h:
                roof = cv.project([cx0, cx1, cx1, cx0], height, [cz0, cz0, cz1, cz1])
                cv.fill([roof], _shade(paint, 1.1), "metal", cls)
        elif kind == "train":
            mid = (x0 + x1) / 2 if not across else x0 + 6.0
            zz = z0 + 5.0 if not across else (z0 + z1) / 2
            arm = [cv.project([mid - 0.4, mid, mid + 0.4], [height, height + 1.1, height], zz)]
            cv.lines(np.array(arm), max(1.5 * cv.s, cv.px(0.05, zz)), (40, 40, 40), "metal", cls)

    def _vehicle_across(self, kind: str, x0: float, x1: float, z0: float, z1: float) -> None:
        self._vehicle(kind, x0, x1, z0, z1, across=True)

    def _person(self, x: float, z: float) -> None:
        cv, r = self.cv, self.rng
        h = r.uniform(1.55, 1.95)
        stride = r.uniform(-0.25, 0.25)
        cls = _C["person"]
        legs = _pick(r, _CLOTH, 20)
        top = _pick(r, _CLOTH, 20)
        skin, hair = (
            _pick(r, _SKIN, 10),
            _pick(r, [(30, 25, 20), (90, 60, 30), (200, 170, 90), (120, 120, 120)]),
        )
        hip, shoulder = 0.52 * h, 0.82 * h
        polys = [
            cv.billboard(x, z, [-0.16 + d, -0.02 + d, -0.02, -0.16], [0.0, 0.0, hip, hip])
            for d in (stride, 0)
        ]
        polys += [
            cv.billboard(x, z, [0.02, 0.16, 0.16 + d, 0.02 + d], [hip, hip, 0.0, 0.0]) for d in (-stride,)
        ]
        cv.fill(polys, legs, "cloth", cls)
        torso = cv.billboard(x, z, [-0.19, 0.19, 0.22, -0.22], [hip - 0.05, hip - 0.05, shoulder, shoulder])
        arms = [
            cv.billboard(
                x, z, [a, a + s * 0.09, a + s * 0.09 + d, a + d], [shoulder, shoulder, hip - 0.08, hip - 0.08]
            )
            for a, s, d in ((-0.22, -1, -stride * 0.5), (0.22, 1, stride * 0.5))
        ]
        cv.fill([torso, *arms], top, "cloth", cls)
        hu, hv = _circle(0.0, shoulder + 0.13, 0.11)
        cv.fill([cv.billboard(x, z, hu, hv)], skin, "plain", cls)
        hu, hv = _circle(0.0, shoulder + 0.17, 0.105)
        cv.fill([cv.billboard(x, z, hu, np.maximum(hv, shoulder + 0.16))], hair, "cloth", cls)
        if r.random() < 0.25:  # bag
            cv.fill(
                [cv.billboard(x, z, [0.2, 0.42, 0.42, 0.2], [hip - 0.1, hip - 0.1, hip + 0.25, hip + 0.25])],
                _pick(r, _CLOTH),
                "cloth",
                cls,
            )

    def _two_wheeler(self, kind: str, x: float, z: float, ridden: bool) -> None:
        """A bicycle or motorcycle in side view; its rider is the separate class ``rider``."""
        cv, r = self.cv, self.rng
        cls = _C[kind]
        d = 1.0 if r.random() < 0.5 else -1.0  # heading
        scale = cv.f / z
        if kind == "bicycle":
            wr, wb = 0.34, 0.56
            frame = _pick(r, _PAINT, 20)
            tyre_px = max(1.5 * cv.s, 0.06 * scale)
            for cu in (-wb, wb):
                cv.ring(cv.billboard(x, z, d * cu, wr), wr * scale, tyre_px, (25, 25, 25), "rubber", cls)
            joints = {
                "rear": (-wb, wr),
                "bb": (0.0, 0.3),
                "seat": (-0.15, 0.92),
                "head": (0.42, 0.88),
                "front": (wb, wr),
                "bar": (0.4, 1.05),
            }
            pairs = [
                ("rear", "bb"),
                ("bb", "seat"),
                ("seat", "rear"),
                ("bb", "head"),
                ("seat", "head"),
                ("head", "front"),
                ("head", "bar"),
            ]
            segs = [
                cv.billboard(x, z, [d * joints[a][0], d * joints[b][0]], [joints[a][1], joints[b][1]])
                for a, b in pairs
            ]
            cv.lines(np.array(segs), max(1.5 * cv.s, 0.045 * scale), frame, "metal", cls)
            seat, bar, pedal = (-0.15, 0.95), (0.4, 1.05), (0.05, 0.3)
        else:
            wr, wb = 0.32, 0.7
            body = _pick(r, _PAINT, 20)
            polys = []
            for cu in (-wb, wb):
                u, v = _circle(d * cu, wr, wr, 12)
                polys.append(cv.billboard(x, z, u, v))
            cv.fill(polys, (30, 30, 32), "rubber", cls)
            u = np.array([-0.75, -0.2, 0.35, 0.62, 0.5, -0.3])
            v = np.array([0.55, 0.85, 0.92, 0.72, 0.38, 0.35])
            cv.fill([cv.billboard(x, z, d * u, v)], body, "metal", cls)
            bars = cv.billboard(x, z, [d * 0.5, d * 0.55], [0.85, 1.1])[None]
            cv.lines(bars, max(1.5 * cv.s, 0.05 * scale), (40, 40, 40), "metal", cls)
            seat, bar, pedal = (-0.25, 0.9), (0.5, 1.05), (0.1, 0.45)
        if not ridden:
            return
        cls = _C["rider"]
        hip = (seat[0], seat[1] + 0.05)
        shoulder = (seat[0] + 0.2, seat[1] + 0.62)
        cloth, legs = _pick(r, _CLOTH, 20), _pick(r, _CLOTH, 20)
        leg = cv.billboard(
            x,
            z,
            d * np.array([hip[0] - 0.08, hip[0] + 0.1, pedal[0] + 0.07, pedal[0] - 0.07]),
            [hip[1] + 0.05, hip[1] + 0.05, pedal[1], pedal[1]],
        )
        cv.fill([leg], legs, "cloth", cls)
        torso = cv.billboard(
            x,
            z,
            d * np.array([hip[0] - 0.12, hip[0] + 0.12, shoulder[0] + 0.12, shoulder[0] - 0.12]),
            [hip[1], hip[1], shoulder[1], shoulder[1]],
        )
        arm = cv.billboard(
            x,
            z,
            d * np.array([shoulder[0], shoulder[0] + 0.08, bar[0], bar[0] - 0.06]),
            [shoulder[1], shoulder[1] - 0.08, bar[1] - 0.04, bar[1] + 0.04],
        )
        cv.fill([torso, arm], cloth, "cloth", cls)
        hu, hv = _circle(d * (shoulder[0] + 0.05), shoulder[1] + 0.16, 0.13 if kind == "motorcycle" else 0.11)
        helmet = _pick(r, _PAINT) if kind == "motorcycle" or r.random() < 0.5 else _pick(r, _SKIN)
        cv.fill([cv.billboard(x, z, hu, hv)], helmet, "plain", cls)

    def _pole(self, x: float, z: float) -> None:
        """A pole 2-8 px wide at 2048 px, with traffic signs and/or traffic lights."""
        cv, r = self.cv, self.rng
        grey = _pick(r, [(120, 120, 120), (90, 95, 90), (160, 160, 155), (60, 65, 60)], 12)
        width_px = float(np.clip(cv.px(0.15, z), 2.0 * cv.s, 8.0 * cv.s))
        half = width_px / 2 / (cv.f / z)
        height = r.uniform(3.5, 8.0)
        cls = _C["pole"]
        cv.fill(
            [cv.billboard(x, z, [-half, half, half, -half], [0.0, 0.0, height, height])], grey, "metal", cls
        )
        toward_road = -np.sign(x)
        if r.random() < 0.35 and height > 5.0:  # mast arm over the road with a hanging light
            reach = r.uniform(2.0, 5.0)
            arm = cv.billboard(x, z, [0.0, toward_road * reach], [height - 0.2, height - 0.2])[None]
            cv.lines(arm, width_px * 0.8, grey, "metal", cls)
            self._traffic_light(x + toward_road * reach, z, height - 1.3)
        if r.random() < 0.5:
            self._traffic_light(x + toward_road * (half + 0.17), z, r.uniform(2.4, min(height, 4.0) - 0.9))
        if r.random() < 0.75:
            y = min(height - 0.7, r.uniform(2.4, 3.6))
            self._sign(x, z, y)
            if r.random() < 0.35:
                self._sign(x, z, y - 1.3)

    def _traffic_light(self, x: float, z: float, y0: float) -> None:
        """A signal head with a back plate (both labelled traffic light, as in Cityscapes)."""
        cv, r = self.cv, self.rng
        cls = _C["traffic light"]
        w, h = 0.42, 1.1
        house = _pick(r, [(30, 32, 30), (45, 60, 40), (200, 170, 40), (70, 70, 70)], 8)
        plate = [-w * 0.8, w * 0.8, w * 0.8, -w * 0.8], [y0 - 0.08, y0 - 0.08, y0 + h + 0.08, y0 + h + 0.08]
        cv.fill([cv.billboard(x, z, *plate)], _shade(house, 0.7), "metal", cls)
        cv.fill(
            [cv.billboard(x, z, [-w / 2, w / 2, w / 2, -w / 2], [y0, y0, y0 + h, y0 + h])],
            house,
            "metal",
            cls,
        )
        lit = r.integers(3)
        for i, colour in enumerate([(40, 220, 80), (240, 190, 40), (240, 50, 40)]):
            u, v = _circle(0.0, y0 + 0.2 + i * 0.35, 0.13, 10)
            cv.fill([cv.billboard(x, z, u, v)], colour if i == lit else (35, 35, 35), "plain", cls)

    def _sign(self, x: float, z: float, y: float) -> None:
        cv, r = self.cv, self.rng
        cls = _C["traffic sign"]
        shape = r.integers(4)
        size = r.uniform(0.75, 1.2)
        if shape == 0:  # round
            u, v = _circle(0.0, y, size / 2, 16)
            rim, inner = (200, 30, 30), (235, 235, 235)
        elif shape == 1:  # triangle
            u, v = (
                np.array([-size / 2, size / 2, 0.0]),
                np.array([y - size * 0.4, y - size * 0.4, y + size * 0.5]),
            )
            rim, inner = (200, 30, 30), (235, 235, 220)
        elif shape == 2:  # square
            u, v = np.array([-1, 1, 1, -1]) * size / 2, y + np.array([-1, -1, 1, 1]) * size / 2
            rim, inner = (235, 235, 235), (30, 80, 170)
        else:  # direction board
            u, v = (
                np.array([-1.3, 1.3, 1.3, -1.3]) * size / 2,
                y + np.array([-0.6, -0.6, 0.6, 0.6]) * size / 2,
            )
            rim, inner = (235, 235, 235), (30, 110, 60) if r.random() < 0.5 else (30, 70, 160)
        cv.fill([cv.billboard(x, z, u, v)], _pick(r, [rim], 12), "plain", cls)
        cv.fill([cv.billboard(x, z, u * 0.75, y + (v - y) * 0.75)], _pick(r, [inner], 12), "plain", cls)

    def _tree(self, x: float, z: float) -> None:
        cv, r = self.cv, self.rng
        cls = _C["vegetation"]
        trunk = r.uniform(0.2, 0.4)
        crown_y, crown_r = r.uniform(3.0, 5.0), r.uniform(1.5, 3.0)
        cv.fill(
            [
                cv.billboard(
                    x, z, [-trunk / 2, trunk / 2, trunk / 2, -trunk / 2], [0.0, 0.0, crown_y, crown_y]
                )
            ],
            _pick(r, [(80, 60, 40), (60, 50, 40), (100, 90, 70)], 10),
            "wood",
            cls,
        )
        green = _pick(r, _GREEN, 14)
        blobs = []
        for _ in range(5):
            u, v = _circle(
                r.normal(0, crown_r * 0.4),
                crown_y + r.normal(0, crown_r * 0.3),
                crown_r * r.uniform(0.5, 0.9),
            )
            blobs.append(cv.billboard(x, z, u, v))
        cv.fill(blobs, green, "leaves", cls)

    def ego(self) -> None:
        """The ego vehicle's bonnet and a rectification border are void (255), as in Cityscapes."""
        cv, r = self.cv, self.rng
        pts = cv2.ellipse2Poly(
            (cv.w // 2, int(cv.h * 1.22)), (int(cv.w * 0.62), int(cv.h * 0.3)), 0, 180, 360, 5
        )
        hood = np.array([45, 45, 50]) + r.normal(0, 5, 3)
        cv.fill([pts.astype(np.float64)], hood, "glass", IGNORE_INDEX)
        b = max(1, round(2 * cv.s))
        cv.label[:b] = cv.label[-b:] = IGNORE_INDEX
        cv.label[:, :b] = cv.label[:, -b:] = IGNORE_INDEX


def _compose(rng: np.random.Generator, cv: _Canvas) -> np.ndarray:
    """Turn the canvas into a camera image: textures, blur, sensor noise, per-scene colour and gamma."""
    h, w = cv.h, cv.w
    amps = np.array(list(_TEXTURES.values()), np.float32) * rng.uniform(0.7, 1.3, (len(_TEXTURES), 1))
    luts = np.zeros((3, 256), np.float32)
    luts[:, : len(_TEXTURES)] = amps.T
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


def sample_name(index: int, seed: int = 0) -> str:
    """Cityscapes-style stem ``city_seq_frame``: the seed is the sequence, the index the frame.

    >>> sample_name(42, seed=7)
    'synthcity_000007_000042'
    """
    return f"synthcity_{seed:06d}_{index:06d}"


def _check_args(split: str, height: int, width: int) -> None:
    if split not in SPLIT_CODES:
        raise ValueError(f"split={split!r}: SynthCity splits are {sorted(SPLIT_CODES)}")
    if height < 64 or width < 64:
        raise ValueError(f"height={height}, width={width}: SynthCity renders images of at least 64x64")


def generate(
    index: int, split: str = "train", seed: int = 0, height: int = 1024, width: int = 2048
) -> Sample:
    """Render one SynthCity scene.

    Args:
        index: frame number (any non-negative int; the training generator is endless).
        split: ``"train"``, ``"val"`` or ``"test"``; each split has its own RNG stream.
        seed: data set seed (the Cityscapes-style sequence number in the name).
        height: image height in pixels; geometry scales with it.
        width: image width in pixels.

    Returns:
        A Sample with an H×W×3 uint8 RGB image, an exact H×W uint8 trainId label (255 = ignore)
        and the name ``synthcity_{seed:06d}_{index:06d}``. The same arguments give identical pixels.
    """
    _check_args(split, height, width)
    if index < 0 or seed < 0:
        raise ValueError(f"index={index}, seed={seed}: SynthCity index and seed must be >= 0")
    rng = np.random.default_rng([seed, SPLIT_CODES[split], index])
    cv = _Canvas(rng, height, width)
    scene = _Scene(rng, cv)
    scene.sky()
    scene.ground()
    scene.place_things()
    scene.shadows()
    scene.backdrop()
    # Traffic on the crossing street is drawn before the side buildings, which may hide it.
    scene.things(("vehicle_across",))
    scene.sides()
    scene.things(("vehicle", "person", "two_wheeler", "pole", "tree"))
    scene.ego()
    image = _compose(rng, cv)
    return Sample(image=image, label=cv.label, name=sample_name(index, seed))


class SynthCity:
    """SynthCity as a source: ``count`` scenes of one split, rendered on access.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        count: number of scenes.
        seed: data set seed.
        height: image height.
        width: image width.
    """

    def __init__(
        self, split: str = "val", count: int = 50, seed: int = 0, height: int = 1024, width: int = 2048
    ):
        _check_args(split, height, width)
        if count < 0:
            raise ValueError(f"count={count}: must be >= 0")
        self.split, self.count, self.seed, self.height, self.width = split, count, seed, height, width
        self.names = [sample_name(i, seed) for i in range(count)]

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> Sample:
        return generate(check_index(index, self.count), self.split, self.seed, self.height, self.width)

    def describe(self) -> str:
        return f"synthcity:{self.split} seed={self.seed} {self.height}x{self.width} count={self.count}"


def class_stats(labels) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count per class and number of label maps containing each class.

    >>> px, imgs = class_stats([np.array([[0, 0], [13, 255]], np.uint8)])
    >>> int(px[0]), int(px[13]), int(imgs[13]), int(imgs[1])
    (2, 1, 1, 0)
    """
    pixels = np.zeros(NUM_CLASSES, np.int64)
    images = np.zeros(NUM_CLASSES, np.int64)
    for label in labels:
        counts = np.bincount(label.ravel(), minlength=256)[:NUM_CLASSES]
        pixels += counts
        images += counts > 0
    return pixels, images


def format_stats(pixels: np.ndarray, images: np.ndarray, n_images: int) -> str:
    """A table of pixel frequency (share of labelled pixels) and images containing each class."""
    total = max(int(pixels.sum()), 1)
    rows = [f"{'class':<14} {'pixel %':>8} {'images':>7} {'of':>4}"]
    for name, px, im in zip(CLASS_NAMES, pixels, images, strict=True):
        rows.append(f"{name:<14} {100.0 * px / total:8.3f} {int(im):7d} {n_images:4d}")
    rows.append(f"classes present in at least one image: {int((images > 0).sum())}/{NUM_CLASSES}")
    return "\n".join(rows)


def _written(out: Path, split: str, count: int, seed: int, height: int, width: int):
    """Write each scene in the Cityscapes layout under ``out`` and yield its label."""
    # Check the arguments before any folder is made: a refused command leaves nothing behind.
    source = SynthCity(split, count, seed, height, width)
    img_dir = out / "leftImg8bit" / split / "synthcity"
    gt_dir = out / "gtFine" / split / "synthcity"
    for folder in (img_dir, gt_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"--out {out}: cannot create {folder} ({err.strerror})") from err
    for sample in source:
        stem = sample.name
        colour = cv2.cvtColor(colorize(sample.label), cv2.COLOR_RGB2BGR)
        for path, array in (
            (img_dir / f"{stem}_leftImg8bit.png", cv2.cvtColor(sample.image, cv2.COLOR_RGB2BGR)),
            (gt_dir / f"{stem}_gtFine_labelIds.png", to_label_ids(sample.label)),
            (gt_dir / f"{stem}_gtFine_color.png", colour),
        ):
            if not cv2.imwrite(str(path), array):
                raise ValueError(f"--out {out}: could not write {path}")
        yield sample.label


def write_split(
    out: Path, split: str, count: int, seed: int = 0, height: int = 1024, width: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Write ``count`` scenes in the Cityscapes layout under ``out``.

    Files: ``leftImg8bit/{split}/synthcity/NAME_leftImg8bit.png`` and, in ``gtFine/{split}/synthcity/``,
    ``NAME_gtFine_labelIds.png`` (Cityscapes labelIds via cityscapesScripts' table) and
    ``NAME_gtFine_color.png``.

    Returns:
        ``class_stats`` of the written labels: (pixels per class, images containing each class).
    """
    return class_stats(_written(Path(out), split, count, seed, height, width))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gald_viz.data.synthcity",
        description="Write SynthCity scenes in the Cityscapes folder layout (leftImg8bit/, gtFine/).",
    )
    parser.add_argument("--out", type=Path, required=True, help="output root (like $CITYSCAPES_DATASET)")
    parser.add_argument("--split", choices=sorted(SPLIT_CODES), default="val")
    parser.add_argument("--count", type=int, required=True, help="number of scenes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--stats", action="store_true", help="print class pixel frequency and image counts")
    args = parser.parse_args(argv)
    try:
        pixels, images = write_split(args.out, args.split, args.count, args.seed, args.height, args.width)
    except ValueError as err:
        parser.error(str(err))
    print(
        f"wrote {args.count} {args.split} scenes ({args.height}x{args.width}, seed {args.seed}) to {args.out}"
    )
    if args.stats:
        print(format_stats(pixels, images, args.count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
