"""One SynthCity scene painted onto a canvas, far to near, so nearer things occlude farther ones."""

import cv2
import numpy as np

from gald_viz.data.labels import IGNORE_INDEX
from gald_viz.data.synthcity.canvas import Canvas
from gald_viz.data.synthcity.drawers import thing_drawer
from gald_viz.data.synthcity.layout import Street
from gald_viz.data.synthcity.structures import draw_backdrop, draw_sides
from gald_viz.data.synthcity.surfaces import draw_ground, draw_shadows, draw_sky


def paint_scene(rng: np.random.Generator, cv: Canvas) -> None:
    """Lay out a street and paint all of it; every step draws from ``rng`` in turn."""
    street = Street(rng)
    draw_sky(cv, rng)
    draw_ground(cv, rng, street)
    street.place_things(rng)
    draw_shadows(cv, rng, street)
    draw_backdrop(cv, rng, street)
    # Traffic on the crossing street is drawn before the side buildings, which may hide it.
    draw_things(cv, rng, street, ("vehicle_across",))
    draw_sides(cv, rng, street)
    draw_things(cv, rng, street, ("vehicle", "person", "two_wheeler", "pole", "tree"))
    draw_ego(cv, rng)


def draw_things(cv: Canvas, rng: np.random.Generator, street: Street, kinds: tuple[str, ...]) -> None:
    """Draw the placed things of the given kinds, far to near."""
    for thing in sorted(street.things, key=lambda t: -t.z):
        if thing.kind in kinds:
            thing_drawer(thing.kind)(cv, rng, *thing.args)


def draw_ego(cv: Canvas, r: np.random.Generator) -> None:
    """The ego vehicle's bonnet and a rectification border are void (255), as in Cityscapes."""
    pts = cv2.ellipse2Poly((cv.w // 2, int(cv.h * 1.22)), (int(cv.w * 0.62), int(cv.h * 0.3)), 0, 180, 360, 5)
    hood = np.array([45, 45, 50]) + r.normal(0, 5, 3)
    cv.fill([pts.astype(np.float64)], hood, "glass", IGNORE_INDEX)
    b = max(1, round(2 * cv.s))
    cv.label[:b] = cv.label[-b:] = IGNORE_INDEX
    cv.label[:, :b] = cv.label[:, -b:] = IGNORE_INDEX
