"""Pedestrians (Cityscapes ``person``): a walking figure facing the camera, sometimes with a bag."""

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, circle
from gald_viz.data.synthcity.palettes import CLOTH, HAIR, SKIN, pick


def draw_person(cv: Canvas, r: np.random.Generator, x: float, z: float) -> None:
    """A person 1.55-1.95 m tall standing at (x, z), legs apart by a random stride."""
    h = r.uniform(1.55, 1.95)
    stride = r.uniform(-0.25, 0.25)
    cls = TRAIN_ID["person"]
    legs = pick(r, CLOTH, 20)
    top = pick(r, CLOTH, 20)
    skin, hair = pick(r, SKIN, 10), pick(r, HAIR)
    hip, shoulder = 0.52 * h, 0.82 * h
    polys = [
        cv.billboard(x, z, [-0.16 + d, -0.02 + d, -0.02, -0.16], [0.0, 0.0, hip, hip]) for d in (stride, 0)
    ]
    polys.append(cv.billboard(x, z, [0.02, 0.16, 0.16 - stride, 0.02 - stride], [hip, hip, 0.0, 0.0]))
    cv.fill(polys, legs, "cloth", cls)
    torso = cv.billboard(x, z, [-0.19, 0.19, 0.22, -0.22], [hip - 0.05, hip - 0.05, shoulder, shoulder])
    arms = [
        cv.billboard(
            x, z, [a, a + s * 0.09, a + s * 0.09 + d, a + d], [shoulder, shoulder, hip - 0.08, hip - 0.08]
        )
        for a, s, d in ((-0.22, -1, -stride * 0.5), (0.22, 1, stride * 0.5))
    ]
    cv.fill([torso, *arms], top, "cloth", cls)
    hu, hv = circle(0.0, shoulder + 0.13, 0.11)
    cv.fill([cv.billboard(x, z, hu, hv)], skin, "plain", cls)
    hu, hv = circle(0.0, shoulder + 0.17, 0.105)
    cv.fill([cv.billboard(x, z, hu, np.maximum(hv, shoulder + 0.16))], hair, "cloth", cls)
    if r.random() < 0.25:  # bag
        cv.fill(
            [cv.billboard(x, z, [0.2, 0.42, 0.42, 0.2], [hip - 0.1, hip - 0.1, hip + 0.25, hip + 0.25])],
            pick(r, CLOTH),
            "cloth",
            cls,
        )
