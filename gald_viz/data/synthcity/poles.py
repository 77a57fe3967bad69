"""Poles mostly 8-30 px wide at 2048 px, with traffic lights and traffic signs on them: the thin objects
GALD's local distribution is meant to repair next to large regions."""

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, circle
from gald_viz.data.synthcity.palettes import POLE_GREY, SIGNAL_HOUSING, pick, shade


def draw_pole(cv: Canvas, r: np.random.Generator, x: float, z: float, width: float) -> None:
    """A pole ``width`` metres thick at (x, z), maybe with a mast arm over the road, a traffic light and
    one or two signs."""
    grey = pick(r, POLE_GREY, 12)
    width_px = float(np.clip(cv.px(width, z), 2.0 * cv.s, 48.0 * cv.s))
    half = width_px / 2 / (cv.f / z)
    height = r.uniform(3.5, 8.0)
    cls = TRAIN_ID["pole"]
    cv.fill([cv.billboard(x, z, [-half, half, half, -half], [0.0, 0.0, height, height])], grey, "metal", cls)
    toward_road = -np.sign(x)
    if r.random() < 0.1 and height > 5.0:  # mast arm over the road with a hanging light
        reach = r.uniform(2.0, 5.0)
        arm = cv.billboard(x, z, [0.0, toward_road * reach], [height - 0.2, height - 0.2])[None]
        cv.lines(arm, width_px * 0.8, grey, "metal", cls)
        draw_traffic_light(cv, r, x + toward_road * reach, z, height - 1.3)
    if r.random() < 0.12:
        draw_traffic_light(cv, r, x + toward_road * (half + 0.17), z, r.uniform(2.4, min(height, 4.0) - 0.9))
    if r.random() < 0.45:
        y = min(height - 0.7, r.uniform(2.4, 3.6))
        draw_sign(cv, r, x, z, y)
        if r.random() < 0.25:
            draw_sign(cv, r, x, z, y - 1.3)


def draw_traffic_light(cv: Canvas, r: np.random.Generator, x: float, z: float, y0: float) -> None:
    """A signal head with a back plate (both labelled traffic light, as in Cityscapes)."""
    cls = TRAIN_ID["traffic light"]
    w, h = 0.42, 1.1
    house = pick(r, SIGNAL_HOUSING, 8)
    plate = [-w * 0.8, w * 0.8, w * 0.8, -w * 0.8], [y0 - 0.08, y0 - 0.08, y0 + h + 0.08, y0 + h + 0.08]
    cv.fill([cv.billboard(x, z, *plate)], shade(house, 0.7), "metal", cls)
    cv.fill(
        [cv.billboard(x, z, [-w / 2, w / 2, w / 2, -w / 2], [y0, y0, y0 + h, y0 + h])], house, "metal", cls
    )
    lit = r.integers(3)
    for i, colour in enumerate([(40, 220, 80), (240, 190, 40), (240, 50, 40)]):
        u, v = circle(0.0, y0 + 0.2 + i * 0.35, 0.13, 10)
        cv.fill([cv.billboard(x, z, u, v)], colour if i == lit else (35, 35, 35), "plain", cls)


def draw_sign(cv: Canvas, r: np.random.Generator, x: float, z: float, y: float) -> None:
    """A round, triangular, square or direction sign centred at height y: a rim and an inner face."""
    cls = TRAIN_ID["traffic sign"]
    shape = r.integers(4)
    size = r.uniform(0.55, 0.9)
    if shape == 0:  # round
        u, v = circle(0.0, y, size / 2, 16)
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
    cv.fill([cv.billboard(x, z, u, v)], pick(r, [rim], 12), "plain", cls)
    cv.fill([cv.billboard(x, z, u * 0.75, y + (v - y) * 0.75)], pick(r, [inner], 12), "plain", cls)
