"""Cars, trucks, buses and trams (Cityscapes ``train``) as boxes with wheels, windows and lamps."""

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, box_faces, circle
from gald_viz.data.synthcity.palettes import GLASS, PAINT, pick, shade

_WHEEL_RADIUS = {"car": 0.32, "truck": 0.5, "bus": 0.5, "train": 0.4}
_TYRE = (25, 25, 28)


def draw_vehicle(
    cv: Canvas,
    r: np.random.Generator,
    kind: str,
    x0: float,
    x1: float,
    z0: float,
    z1: float,
    across: bool = False,
) -> None:
    """A vehicle occupying x0..x1 by z0..z1 on the ground, driving along the street or ``across`` it."""
    cls = TRAIN_ID[kind]
    paint = pick(r, PAINT, 16)
    glass = pick(r, GLASS, 10)
    # Every entry draws its height, whatever the kind: the scene's RNG stream depends on it.
    height, clear = {
        "car": (r.uniform(1.4, 1.6), 0.25),
        "truck": (r.uniform(3.2, 3.9), 0.8),
        "bus": (r.uniform(3.0, 3.3), 0.35),
        "train": (r.uniform(3.3, 3.6), 0.4),
    }[kind]
    body_top = 0.95 if kind == "car" else height
    wheel_r = _WHEEL_RADIUS[kind]
    for face_kind, face in box_faces(x0, x1, z0, z1):
        long_face = (face_kind == "side") != across
        lit = 1.0 if face_kind == "end" else 0.8
        cv.fill([cv.face_rect(face, 0.0, face.length, clear, body_top)], shade(paint, lit), "metal", cls)
        if long_face:
            polys = []
            for cu in (wheel_r * 1.6, face.length - wheel_r * 1.6):
                u, v = circle(cu, wheel_r, wheel_r, 12)
                polys.append(cv.face_pts(face, u, v))
            cv.fill(polys, _TYRE, "rubber", cls)
            if kind in ("bus", "train"):
                step = r.uniform(1.2, 2.2)
                wins = [
                    cv.face_rect(face, u, u + step * 0.8, height * 0.4, height * 0.8)
                    for u in np.arange(0.6, face.length - step, step)
                ]
                cv.fill(wins, glass, "glass", None, disjoint=True)
            elif kind == "truck":
                cv.fill([cv.face_rect(face, 0.0, 2.2, clear, height * 0.75)], pick(r, PAINT), "metal", cls)
        else:
            _draw_end(cv, r, face, cls, clear, body_top, height, glass, kind)
    if body_top < cv.cam_h:  # seen from above: the bonnet and boot of a car
        top = cv.project([x0, x1, x1, x0], body_top, [z0, z0, z1, z1])
        cv.fill([top], shade(paint, 1.05), "metal", cls)
    if kind == "car":
        _draw_cabin(cv, x0, x1, z0, z1, across, body_top, height, paint, glass, cls)
    elif kind == "train":
        mid = (x0 + x1) / 2 if not across else x0 + 6.0
        zz = z0 + 5.0 if not across else (z0 + z1) / 2
        arm = [cv.project([mid - 0.4, mid, mid + 0.4], [height, height + 1.1, height], zz)]
        cv.lines(np.array(arm), max(1.5 * cv.s, cv.px(0.05, zz)), (40, 40, 40), "metal", cls)


def _draw_end(cv: Canvas, r: np.random.Generator, face, cls, clear, body_top, height, glass, kind) -> None:
    """The front or back: two tyres below the body, two lamps and (except on cars) a windscreen."""
    w = face.length
    for cu in (0.15, w - 0.15):
        cv.fill([cv.face_rect(face, cu - 0.13, cu + 0.13, 0.0, clear + 0.1)], _TYRE, "rubber", cls)
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
        cv.fill([cv.face_rect(face, 0.15, w - 0.15, height * 0.55, height * 0.85)], glass, "glass", None)


def _draw_cabin(cv: Canvas, x0, x1, z0, z1, across: bool, body_top, height, paint, glass, cls) -> None:
    """A car's cabin: a narrower, shorter box on top of the body, glazed, with a roof."""
    inset = (z1 - z0) * 0.22 if not across else 0.12
    cx0, cx1 = (x0 + 0.12, x1 - 0.12) if not across else (x0 + (x1 - x0) * 0.22, x1 - (x1 - x0) * 0.3)
    cz0, cz1 = (z0 + inset, z1 - inset * 0.8) if not across else (z0 + inset, z1 - inset)
    for _, face in box_faces(cx0, cx1, cz0, cz1):
        cv.fill([cv.face_rect(face, 0.0, face.length, body_top, height)], paint, "metal", cls)
        cv.fill(
            [cv.face_rect(face, 0.1, face.length - 0.1, body_top + 0.05, height - 0.06)], glass, "glass", None
        )
    if height < cv.cam_h:
        roof = cv.project([cx0, cx1, cx1, cx0], height, [cz0, cz0, cz1, cz1])
        cv.fill([roof], shade(paint, 1.1), "metal", cls)


def draw_vehicle_across(
    cv: Canvas, r: np.random.Generator, kind: str, x0: float, x1: float, z0: float, z1: float
) -> None:
    """A vehicle on the crossing street, seen from the side."""
    draw_vehicle(cv, r, kind, x0, x1, z0, z1, across=True)
