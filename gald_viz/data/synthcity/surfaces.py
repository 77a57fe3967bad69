"""The large flat stuff of a SynthCity scene: sky, terrain, road, sidewalks, markings, cast shadows."""

import cv2
import numpy as np

from gald_viz.data.synthcity.canvas import SHIFT, TRAIN_ID, Canvas, fixed
from gald_viz.data.synthcity.layout import Street
from gald_viz.data.synthcity.palettes import ASPHALT, PAVING, TERRAIN, TEX_CODE, pick, shade


def draw_sky(cv: Canvas, r: np.random.Generator) -> None:
    """A vertical gradient, overcast or blue, over the whole canvas (labelled sky everywhere)."""
    if r.random() < 0.35:  # overcast
        top = np.array([175, 180, 190]) + r.normal(0, 15, 3)
        bottom = top + r.uniform(10, 40)
    else:
        top = np.array([70, 120, 190]) + r.normal(0, 20, 3)
        bottom = np.array([190, 210, 230]) + r.normal(0, 12, 3)
    t = np.clip(np.linspace(0.0, 1.0, cv.h) * cv.h / max(cv.yh, 1.0), 0, 1)[:, None]
    column = np.empty((cv.h, 4), np.uint8)
    column[:, :3] = np.clip(top * (1 - t) + bottom * t, 0, 255)
    column[:, 3] = TEX_CODE["sky"]
    # One 32-bit store per pixel: the four canvas bytes are written together.
    cv.rgbc.view(np.uint32)[:, :, 0] = column.view(np.uint32)
    cv.label[:] = TRAIN_ID["sky"]


def draw_ground(cv: Canvas, r: np.random.Generator, st: Street) -> None:
    """Terrain to the horizon, the crossing street, verges, sidewalks with kerbs, the road, markings."""
    far = st.z_end + 400.0
    terrain = pick(r, TERRAIN)
    cv.fill([cv.ground(-4000, 4000, 3.0, far)], terrain, "grass", TRAIN_ID["terrain"])
    asphalt = pick(r, ASPHALT, 8)
    paving = pick(r, PAVING, 10)
    z_road_end = st.z_end if st.junction else far
    if st.junction:
        cv.fill(
            [cv.ground(-3000, 3000, st.z_cross - 4.0, st.z_end + 4.0)], paving, "paving", TRAIN_ID["sidewalk"]
        )
        cv.fill([cv.ground(-3000, 3000, st.z_cross, st.z_end)], asphalt, "asphalt", TRAIN_ID["road"])
    for side in (-1, 1):
        walk, verge = (st.walk_l, st.verge_l) if side < 0 else (st.walk_r, st.verge_r)
        road = st.road_l if side < 0 else st.road_r
        if verge != walk:
            cv.fill(
                [cv.ground(walk, verge, 1.0, st.z_side_end)], pick(r, TERRAIN), "grass", TRAIN_ID["terrain"]
            )
        cv.fill([cv.ground(road, walk, 1.0, st.z_side_end)], paving, "paving", TRAIN_ID["sidewalk"])
        curb = road + side * 0.25
        cv.fill(
            [cv.ground(road, curb, 1.0, st.z_side_end)], shade(paving, 1.2), "concrete", TRAIN_ID["sidewalk"]
        )
        _draw_tiles(cv, r, st, road, walk, paving)
    cv.fill([cv.ground(st.road_l, st.road_r, 1.0, z_road_end)], asphalt, "asphalt", TRAIN_ID["road"])
    draw_markings(cv, r, st, z_road_end, asphalt)


def _draw_tiles(cv: Canvas, r: np.random.Generator, st: Street, x0: float, x1: float, paving) -> None:
    """Paving joints: a sidewalk cue that is texture, not colour."""
    step = r.uniform(0.5, 1.2)
    xs = np.arange(min(x0, x1), max(x0, x1), step)
    zs = np.arange(2.0, min(st.z_side_end, 80.0), step)
    segs = [cv.project([x, x], 0.0, [2.0, st.z_side_end]) for x in xs]
    segs += [cv.project([x0, x1], 0.0, [z, z]) for z in zs]
    cv.lines(np.array(segs), 1.2 * cv.s, shade(paving, 0.75), "paving", None)


def draw_markings(cv: Canvas, r: np.random.Generator, st: Street, z_road_end: float, asphalt) -> None:
    """Lane lines, edge lines, maybe a zebra crossing and tram rails (paint: road in the label).

    Chooses the lanes (``st.lane_centres``) and whether the street has tram rails (``st.tram_rails``).
    """
    white = np.array([225, 225, 215]) + r.normal(0, 10, 3)
    width = st.road_r - st.road_l
    n_lanes = max(1, int(width / r.uniform(3.0, 3.8)))
    lane_w = width / n_lanes
    st.lane_centres = [st.road_l + lane_w * (i + 0.5) for i in range(n_lanes)]
    dash, gap = r.uniform(2.5, 4.0), r.uniform(5.0, 9.0)
    polys = []
    for i in range(1, n_lanes):
        x = st.road_l + lane_w * i
        for z in np.arange(2.0 + r.uniform(0, gap), min(z_road_end, 150.0), dash + gap):
            polys.append(cv.ground(x - 0.07, x + 0.07, z, z + dash))
    for edge in (st.road_l + 0.35, st.road_r - 0.35):
        polys.append(cv.ground(edge - 0.06, edge + 0.06, 2.0, z_road_end))
    cv.fill(polys, white, "paving", None, disjoint=True)
    if r.random() < 0.5:  # zebra crossing
        z0 = r.uniform(12.0, 40.0)
        stripes = [
            cv.ground(x, x + 0.5, z0, z0 + 3.0) for x in np.arange(st.road_l + 0.5, st.road_r - 0.5, 1.0)
        ]
        cv.fill(stripes, white, "paving", None, disjoint=True)
    st.tram_rails = r.random() < 0.45
    if st.tram_rails:
        x = st.lane_centres[0]
        rails = [cv.project([x + d, x + d], 0.0, [2.0, z_road_end]) for d in (-0.72, 0.72)]
        cv.lines(np.array(rails), 2.0 * cv.s, shade(asphalt, 1.35), "metal", None)


def draw_shadows(cv: Canvas, r: np.random.Generator, st: Street) -> None:
    """Cast shadows darken whatever is on the ground: no class is defined by brightness."""
    mask = np.full((cv.h, cv.w), 255, np.uint8)
    side = 1 if st.sun_right else -1
    facade = st.verge_r if side > 0 else st.verge_l
    reach = r.uniform(3.0, 12.0)
    z = 2.0
    while z < st.z_side_end:
        length = r.uniform(8.0, 30.0)
        if r.random() < 0.6:
            poly = cv.ground(
                facade, facade - side * reach * r.uniform(0.6, 1.4), z, min(z + length, st.z_side_end)
            )
            cv2.fillPoly(mask, fixed([poly]), int(r.uniform(120, 180)), cv2.LINE_8, SHIFT)
        z += length
    for x0, x1, z0, z1 in st.vehicle_shadows:
        cv2.fillPoly(mask, fixed([cv.ground(x0, x1, z0, z1)]), 70, cv2.LINE_8, SHIFT)
    top = max(0, int(cv.yh) - 1)
    alpha = np.full((cv.h - top, cv.w), 255, np.uint8)
    shade4 = cv2.merge([mask[top:]] * 3 + [alpha])
    cv.rgbc[top:] = cv2.multiply(cv.rgbc[top:], shade4, scale=1 / 255)
