"""What lines a SynthCity street: buildings, walls, fences, vegetation and open terrain along both
kerbs, and the row of facades or trees that closes the view.

Each kerb segment kind (:data:`.layout.SEGMENT_KINDS`) has its drawer in :data:`SEGMENT_DRAWERS`.
"""

from collections.abc import Callable

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, Face, box_faces, circle
from gald_viz.data.synthcity.layout import Segment, Street
from gald_viz.data.synthcity.palettes import (
    CONCRETE,
    FACADE,
    FENCE_METAL,
    FENCE_WOOD,
    GLASS,
    GREEN,
    TERRAIN,
    pick,
    shade,
)


def draw_building(
    cv: Canvas,
    r: np.random.Generator,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    height: float,
    sun_right: bool,
) -> None:
    """A block with a window grid (and, half the time, a shop floor with doors) on its visible faces."""
    base = pick(r, FACADE, 14)
    tex = "brick" if r.random() < 0.3 else "plaster"
    glass = pick(r, GLASS, 12)
    floor_h, col_w = r.uniform(2.9, 3.8), r.uniform(1.8, 3.6)
    win_w, win_h = col_w * r.uniform(0.35, 0.7), floor_h * r.uniform(0.35, 0.6)
    shop = r.random() < 0.5
    for kind, face in box_faces(x0, x1, z0, z1):
        lit = 1.0 if (kind == "side") == ((face.ox > 0) == sun_right) else 0.72
        cv.fill(
            [cv.face_rect(face, 0.0, face.length, 0.0, height)], shade(base, lit), tex, TRAIN_ID["building"]
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
            lit_windows = r.random(len(pts)) < 0.3
            cv.fill(pts[~lit_windows], shade(glass, lit), "glass", None, disjoint=True)
            if lit_windows.any():
                cv.fill(pts[lit_windows], shade(glass, lit * 1.5), "glass", None, disjoint=True)
        if shop:
            doors = [cv.face_rect(face, u, u + col_w * 0.8, 0.2, floor_h * 0.85) for u in us[::2]]
            if doors:
                cv.fill(doors, shade(pick(r, GLASS), lit), "glass", None, disjoint=True)


def draw_vegetation(cv: Canvas, r: np.random.Generator, face: Face, height: float, n_blobs: int) -> None:
    """A vertical mass of foliage with a ragged top, plus leafy blobs that keep its label."""
    green = pick(r, GREEN, 14)
    u = np.linspace(0.0, face.length, 24)
    top = height * (0.7 + 0.3 * r.random(24))
    pts = cv.face_pts(face, np.concatenate([u, u[::-1]]), np.concatenate([top, np.zeros(24)]))
    cv.fill([pts], green, "leaves", TRAIN_ID["vegetation"])
    blobs = []
    for _ in range(n_blobs):
        cu, cvv, rad = r.uniform(0, face.length), r.uniform(0.3, 0.8) * height, r.uniform(0.5, 2.0)
        bu, bv = circle(cu, cvv, rad, 10)
        blobs.append(cv.face_pts(face, np.clip(bu, 0, face.length), np.clip(bv, 0.0, cvv)))
    cv.fill(blobs, shade(green, r.uniform(0.7, 1.3)), "leaves", TRAIN_ID["vegetation"])


def draw_wall(cv: Canvas, r: np.random.Generator, face: Face, height: float) -> None:
    """A concrete wall with horizontal joints and a lighter coping."""
    colour = pick(r, CONCRETE, 14)
    cv.fill([cv.face_rect(face, 0.0, face.length, 0.0, height)], colour, "concrete", TRAIN_ID["wall"])
    step = r.uniform(0.3, 0.8)
    joints = [cv.face_pts(face, [0.0, face.length], [v, v]) for v in np.arange(step, height, step)]
    if joints:
        cv.lines(np.array(joints), 1.0 * cv.s, shade(colour, 0.8), "concrete", None)
    cv.fill(
        [cv.face_rect(face, 0.0, face.length, height - 0.15, height)],
        shade(colour, 1.15),
        "concrete",
        TRAIN_ID["wall"],
    )


def draw_fence(cv: Canvas, r: np.random.Generator, face: Face, height: float) -> None:
    """A fence is labelled as its whole panel (as in Cityscapes) and drawn as a lattice."""
    panel = cv.face_rect(face, 0.0, face.length, 0.0, height)
    if r.random() < 0.5:  # wooden boards
        wood = pick(r, FENCE_WOOD, 12)
        cv.fill([panel], wood, "wood", TRAIN_ID["fence"])
        step = r.uniform(0.12, 0.25)
        gaps = [cv.face_pts(face, [u, u], [0.0, height]) for u in np.arange(step, face.length, step)]
        cv.lines(np.array(gaps), 1.0 * cv.s, shade(wood, 0.55), "wood", None)
        return
    metal = pick(r, FENCE_METAL, 12)
    cv.fill([panel], pick(r, GREEN + CONCRETE, 20) * 0.7, "leaves", TRAIN_ID["fence"])
    step = r.uniform(0.15, 0.35)
    segs = [cv.face_pts(face, [u, u], [0.0, height]) for u in np.arange(0.0, face.length, step)]
    segs += [cv.face_pts(face, [0.0, face.length], [v, v]) for v in np.arange(0.05, height, step * 1.5)]
    z_mid = face.oz + face.length / 2
    cv.lines(np.array(segs), max(1.0, cv.px(0.03, z_mid)), metal, "metal", None)
    posts = [cv.face_rect(face, u, u + 0.08, 0.0, height + 0.05) for u in np.arange(0.0, face.length, 2.5)]
    cv.fill(posts, metal, "metal", TRAIN_ID["fence"], disjoint=True)


# -- kerb segments --------------------------------------------------------------------------------
# A segment drawer gets the segment, the x extent a building there would take, and the sun's side.
# Every segment but a building first draws how far behind the kerb its backing stands.


def _front(seg: Segment) -> Face:
    return Face(seg.side * seg.x_front, seg.z, 0.0, 1.0, seg.length)


def _behind(r: np.random.Generator, seg: Segment) -> float:
    return seg.x_front + r.uniform(2.0, 12.0)


def _open_ground(cv: Canvas, r: np.random.Generator, seg: Segment, behind: float) -> None:
    gx = (seg.x_front, behind) if seg.side > 0 else (-behind, -seg.x_front)
    cv.fill(
        [cv.ground(gx[0], gx[1], seg.z, seg.z + seg.length)], pick(r, TERRAIN), "grass", TRAIN_ID["terrain"]
    )


def _backing(cv: Canvas, r: np.random.Generator, seg: Segment, behind: float, sun_right: bool) -> None:
    """Foliage or a building behind a low segment."""
    if r.random() < 0.5:
        draw_vegetation(cv, r, Face(seg.side * behind, seg.z, 0.0, 1.0, seg.length), r.uniform(4.0, 12.0), 4)
    else:
        bx = (behind, behind + 15.0) if seg.side > 0 else (-behind - 15.0, -behind)
        draw_building(cv, r, bx[0], bx[1], seg.z, seg.z + seg.length, r.uniform(6.0, 25.0), sun_right)


def _building_segment(
    cv: Canvas, r: np.random.Generator, seg: Segment, x: tuple[float, float], sun_right: bool
) -> None:
    draw_building(cv, r, x[0], x[1], seg.z, seg.z + seg.length, r.uniform(6.0, 30.0), sun_right)


def _vegetation_segment(
    cv: Canvas, r: np.random.Generator, seg: Segment, x: tuple[float, float], sun_right: bool
) -> None:
    _behind(r, seg)  # drawn and unused, as for every non-building segment: it keeps the RNG stream
    draw_vegetation(cv, r, _front(seg), r.uniform(2.0, 10.0), 6)


def _terrain_segment(
    cv: Canvas, r: np.random.Generator, seg: Segment, x: tuple[float, float], sun_right: bool
) -> None:
    behind = _behind(r, seg)
    _open_ground(cv, r, seg, behind)
    _backing(cv, r, seg, behind, sun_right)


def _wall_segment(
    cv: Canvas, r: np.random.Generator, seg: Segment, x: tuple[float, float], sun_right: bool
) -> None:
    _backing(cv, r, seg, _behind(r, seg), sun_right)
    draw_wall(cv, r, _front(seg), r.uniform(1.0, 3.2))


def _fence_segment(
    cv: Canvas, r: np.random.Generator, seg: Segment, x: tuple[float, float], sun_right: bool
) -> None:
    behind = _behind(r, seg)
    _open_ground(cv, r, seg, behind)
    _backing(cv, r, seg, behind, sun_right)
    draw_fence(cv, r, _front(seg), r.uniform(1.0, 2.2))


SegmentDrawer = Callable[[Canvas, np.random.Generator, Segment, tuple[float, float], bool], None]

SEGMENT_DRAWERS: dict[str, SegmentDrawer] = {
    "building": _building_segment,
    "vegetation": _vegetation_segment,
    "wall": _wall_segment,
    "fence": _fence_segment,
    "terrain": _terrain_segment,
}
"""Kerb segment kind -> its drawer; the keys are :data:`.layout.SEGMENT_KINDS`."""


def draw_sides(cv: Canvas, r: np.random.Generator, st: Street) -> None:
    """Both sides of the street, far to near; segments outside the image columns are skipped."""
    for seg in st.segments(r):
        near, far = seg.x_front, seg.x_front + r.uniform(12.0, 25.0)
        x = (near, far) if seg.side > 0 else (-far, -near)
        if cv.visible(x[0], x[1], seg.z, seg.z + seg.length):
            SEGMENT_DRAWERS[seg.kind](cv, r, seg, x, st.sun_right)


def draw_backdrop(cv: Canvas, r: np.random.Generator, st: Street) -> None:
    """The far end of the street: a row of facades or trees across the view."""
    x = (-cv.xv - 2) * st.z_end / cv.f - 10.0
    x_stop = (cv.w - cv.xv + 2) * st.z_end / cv.f
    while x < x_stop:
        width = r.uniform(10.0, 40.0)
        if r.random() < 0.7:
            draw_building(cv, r, x, x + width, st.z_end, st.z_end + 15.0, r.uniform(8.0, 35.0), st.sun_right)
        else:
            draw_vegetation(cv, r, Face(x, st.z_end, 1.0, 0.0, width), r.uniform(4.0, 14.0), 3)
        x += width
