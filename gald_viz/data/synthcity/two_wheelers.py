"""Bicycles and motorcycles in side view, ridden (their rider is the class ``rider``) or parked."""

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, circle
from gald_viz.data.synthcity.palettes import CLOTH, PAINT, SKIN, pick

_BICYCLE_JOINTS = {
    "rear": (-0.56, 0.34),
    "bb": (0.0, 0.3),
    "seat": (-0.15, 0.92),
    "head": (0.42, 0.88),
    "front": (0.56, 0.34),
    "bar": (0.4, 1.05),
}
"""Frame joints (u, v) in metres with the bicycle heading right: rear and front hubs, bottom bracket..."""

_BICYCLE_TUBES = [
    ("rear", "bb"),
    ("bb", "seat"),
    ("seat", "rear"),
    ("bb", "head"),
    ("seat", "head"),
    ("head", "front"),
    ("head", "bar"),
]

Contact = tuple[tuple[float, float], tuple[float, float], tuple[float, float]]
"""Where a rider touches the machine: seat, handlebar and pedal (u, v), heading right."""


def _draw_bicycle(cv: Canvas, r: np.random.Generator, x: float, z: float, d: float, cls: int) -> Contact:
    scale = cv.f / z
    wr, wb = 0.34, 0.56
    frame = pick(r, PAINT, 20)
    tyre_px = max(1.5 * cv.s, 0.06 * scale)
    for cu in (-wb, wb):
        cv.ring(cv.billboard(x, z, d * cu, wr), wr * scale, tyre_px, (25, 25, 25), "rubber", cls)
    joints = _BICYCLE_JOINTS
    segs = [
        cv.billboard(x, z, [d * joints[a][0], d * joints[b][0]], [joints[a][1], joints[b][1]])
        for a, b in _BICYCLE_TUBES
    ]
    cv.lines(np.array(segs), max(1.5 * cv.s, 0.045 * scale), frame, "metal", cls)
    return (-0.15, 0.95), (0.4, 1.05), (0.05, 0.3)


def _draw_motorcycle(cv: Canvas, r: np.random.Generator, x: float, z: float, d: float, cls: int) -> Contact:
    scale = cv.f / z
    wr, wb = 0.32, 0.7
    body = pick(r, PAINT, 20)
    polys = []
    for cu in (-wb, wb):
        u, v = circle(d * cu, wr, wr, 12)
        polys.append(cv.billboard(x, z, u, v))
    cv.fill(polys, (30, 30, 32), "rubber", cls)
    u = np.array([-0.75, -0.2, 0.35, 0.62, 0.5, -0.3])
    v = np.array([0.55, 0.85, 0.92, 0.72, 0.38, 0.35])
    cv.fill([cv.billboard(x, z, d * u, v)], body, "metal", cls)
    bars = cv.billboard(x, z, [d * 0.5, d * 0.55], [0.85, 1.1])[None]
    cv.lines(bars, max(1.5 * cv.s, 0.05 * scale), (40, 40, 40), "metal", cls)
    return (-0.25, 0.9), (0.5, 1.05), (0.1, 0.45)


def _draw_rider(
    cv: Canvas, r: np.random.Generator, x: float, z: float, d: float, contact: Contact, motorcyclist: bool
) -> None:
    """A rider sitting on the seat, one leg to the pedal, one arm to the handlebar."""
    cls = TRAIN_ID["rider"]
    seat, bar, pedal = contact
    hip = (seat[0], seat[1] + 0.05)
    shoulder = (seat[0] + 0.2, seat[1] + 0.62)
    cloth, legs = pick(r, CLOTH, 20), pick(r, CLOTH, 20)
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
    hu, hv = circle(d * (shoulder[0] + 0.05), shoulder[1] + 0.16, 0.13 if motorcyclist else 0.11)
    head = pick(r, PAINT) if motorcyclist or r.random() < 0.5 else pick(r, SKIN)
    cv.fill([cv.billboard(x, z, hu, hv)], head, "plain", cls)


_MACHINES = {"bicycle": _draw_bicycle, "motorcycle": _draw_motorcycle}


def draw_two_wheeler(cv: Canvas, r: np.random.Generator, kind: str, x: float, z: float, ridden: bool) -> None:
    """A bicycle or motorcycle at (x, z) heading left or right, with a rider when ``ridden``."""
    d = 1.0 if r.random() < 0.5 else -1.0  # heading
    contact = _MACHINES[kind](cv, r, x, z, d, TRAIN_ID[kind])
    if ridden:
        _draw_rider(cv, r, x, z, d, contact, motorcyclist=kind == "motorcycle")
