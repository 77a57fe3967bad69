"""Street trees (Cityscapes ``vegetation``): a trunk and a crown of leafy blobs."""

import numpy as np

from gald_viz.data.synthcity.canvas import TRAIN_ID, Canvas, circle
from gald_viz.data.synthcity.palettes import BARK, GREEN, pick


def draw_tree(cv: Canvas, r: np.random.Generator, x: float, z: float) -> None:
    """A tree standing at (x, z); trunk and crown both carry the vegetation label."""
    cls = TRAIN_ID["vegetation"]
    trunk = r.uniform(0.2, 0.4)
    crown_y, crown_r = r.uniform(3.0, 5.0), r.uniform(1.5, 3.0)
    cv.fill(
        [cv.billboard(x, z, [-trunk / 2, trunk / 2, trunk / 2, -trunk / 2], [0.0, 0.0, crown_y, crown_y])],
        pick(r, BARK, 10),
        "wood",
        cls,
    )
    green = pick(r, GREEN, 14)
    blobs = []
    for _ in range(5):
        u, v = circle(
            r.normal(0, crown_r * 0.4),
            crown_y + r.normal(0, crown_r * 0.3),
            crown_r * r.uniform(0.5, 0.9),
        )
        blobs.append(cv.billboard(x, z, u, v))
    cv.fill(blobs, green, "leaves", cls)
