"""Where everything in a SynthCity street goes, in metres: road, sidewalks, verges, the crossing
street, the side segments along both kerbs, and the things (vehicles, people, two-wheelers, poles,
trees) placed on them.

The layout draws from the scene's RNG in a fixed order and the painters in :mod:`.scene` interleave
with it: moving, adding or skipping a draw changes every scene after it.
"""

from typing import NamedTuple

import numpy as np

SEGMENT_KINDS = {"building": 0.48, "vegetation": 0.19, "wall": 0.08, "fence": 0.14, "terrain": 0.11}
"""What stands along a kerb, with the share of segments of each kind."""

NOMINAL_FOCAL = 2222.0
"""The camera's mean focal length in px at 2048 px width (:class:`.canvas.Canvas` draws 1.02-1.15 x width):
the layout, which knows no canvas, places things by the size they should have in the image."""


class Thing(NamedTuple):
    """A placed object: its depth (the painting order), its drawer's name and the drawer's arguments."""

    z: float
    kind: str
    args: tuple


class Segment(NamedTuple):
    """A stretch of one side of the street: from depth ``z`` for ``length`` metres, kerb at ``x_front``."""

    z: float
    side: int
    x_front: float
    length: float
    kind: str


class Street:
    """The street's geometry (x: metres right of the camera, z: metres ahead) and what is placed on it.

    ``lane_centres`` and ``tram_rails`` are chosen when the road markings are painted
    (:func:`.surfaces.draw_markings`); ``things`` and ``vehicle_shadows`` by :meth:`place_things`.
    """

    def __init__(self, rng: np.random.Generator) -> None:
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
        self.lane_centres: list[float] = []
        self.tram_rails = False
        self.things: list[Thing] = []
        self.vehicle_shadows: list[tuple[float, float, float, float]] = []
        self._lanes: dict[float, list[tuple[float, float]]] = {}

    def segments(self, rng: np.random.Generator) -> list[Segment]:
        """Buildings, walls, fences, vegetation and open terrain along both kerbs, far to near."""
        r = rng
        items = []
        for side in (-1, 1):
            z = 2.0
            x_front = abs(self.verge_l if side < 0 else self.verge_r)
            while z < self.z_side_end:
                length = min(r.uniform(8.0, 40.0), self.z_side_end - z)
                kind = r.choice(list(SEGMENT_KINDS), p=list(SEGMENT_KINDS.values()))
                items.append(Segment(z, side, x_front, length, str(kind)))
                z += length + (r.uniform(2.0, 8.0) if r.random() < 0.2 else 0.0)
        return sorted(items, key=lambda it: -it.z)

    def _free(self, lane: float, z0: float, z1: float) -> bool:
        taken = self._lanes.setdefault(round(lane, 2), [])
        if any(z0 < b + 1.0 and a - 1.0 < z1 for a, b in taken):
            return False
        taken.append((z0, z1))
        return True

    def _vehicle(
        self, r: np.random.Generator, kind: str, x_choices: list[float], z_range: tuple[float, float]
    ) -> None:
        """A vehicle in a free stretch of one of ``x_choices`` (six tries), with its cast shadow."""
        # Every entry draws, whatever the kind: the scene's RNG stream depends on it.
        dims = {
            "car": (r.uniform(3.9, 4.9), r.uniform(1.65, 1.9)),
            "truck": (r.uniform(6.5, 10.0), 2.5),
            "bus": (r.uniform(11.0, 13.0), 2.55),
            "train": (r.uniform(24.0, 32.0), 2.4),
        }[kind]
        length, width = dims
        for _ in range(6):
            x = x_choices[r.integers(len(x_choices))]
            if kind == "train" and self.tram_rails:
                x = self.lane_centres[0]
            z0 = r.uniform(*z_range)
            if self._free(x, z0, z0 + length):
                self.vehicle_shadows.append(
                    (x - width / 2 - 0.2, x + width / 2 + 0.4, z0 - 0.4, z0 + length + 0.3)
                )
                self.things.append(
                    Thing(z0, "vehicle", (kind, x - width / 2, x + width / 2, z0, z0 + length))
                )
                return

    def place_things(self, rng: np.random.Generator) -> None:
        """Choose every object; each is drawn later in depth order."""
        r = rng
        lanes = list(self.lane_centres)
        parking = [self.road_l + 1.1, self.road_r - 1.1]
        # Long trains go first, while the lanes are free.
        if r.random() < (0.45 if self.tram_rails else 0.15):
            self._vehicle(r, "train", lanes, (12.0, 60.0))
        for _ in range(r.integers(4, 14)):
            self._vehicle(r, "car", lanes + parking, (7.0, 90.0))
        if r.random() < 0.3:
            self._vehicle(r, "truck", lanes, (10.0, 80.0))
        if r.random() < 0.35:
            self._vehicle(r, "bus", lanes, (10.0, 70.0))
        if self.junction:
            for _ in range(r.integers(0, 3)):
                kind = str(r.choice(["car", "car", "bus", "train", "truck"]))
                length = {"car": 4.5, "truck": 9.0, "bus": 12.0, "train": 28.0}[kind]
                x0 = r.uniform(-length - 10.0, 10.0)
                z0 = self.z_cross + r.uniform(1.0, 8.0)
                self.things.append(Thing(z0, "vehicle_across", (kind, x0, x0 + length, z0, z0 + 2.5)))
        self._place_people(r)
        self._place_poles_and_trees(r)

    def _place_people(self, r: np.random.Generator) -> None:
        """Pedestrians on the sidewalks (and some crossing), ridden and parked two-wheelers."""
        walks = [(self.walk_l + 0.4, self.road_l - 0.5), (self.road_r + 0.5, self.walk_r - 0.4)]
        for _ in range(r.integers(3, 16)):
            lo, hi = walks[r.integers(2)]
            z = r.uniform(6.0, 60.0)
            self.things.append(Thing(z, "person", (r.uniform(lo, hi), z)))
            if r.random() < 0.3:  # a group: a second person beside the first
                x2 = float(np.clip(self.things[-1].args[0] + r.uniform(-0.9, 0.9), lo, hi))
                self.things.append(Thing(z + 0.3, "person", (x2, z + 0.3)))
        if r.random() < 0.3:  # pedestrians on the road (crossing)
            for _ in range(r.integers(1, 4)):
                z = r.uniform(10.0, 40.0)
                self.things.append(Thing(z, "person", (r.uniform(self.road_l, self.road_r), z)))
        for kind, p in (("bicycle", 0.6), ("motorcycle", 0.3)):
            if r.random() < p:
                for _ in range(r.integers(1, 3)):
                    x = r.uniform(self.road_l + 0.5, self.road_r - 0.5)
                    z = r.uniform(9.0, 45.0)
                    self.things.append(Thing(z, "two_wheeler", (kind, x, z, True)))
            if r.random() < (0.6 if kind == "bicycle" else 0.15):  # parked, no rider: a rack of 1-4
                lo, hi = walks[r.integers(2)]
                x, z = r.uniform(lo, hi), r.uniform(7.0, 40.0)
                for k in range(r.integers(1, 5)):
                    self.things.append(Thing(z + 0.7 * k, "two_wheeler", (kind, x, z + 0.7 * k, False)))

    def _place_poles_and_trees(self, r: np.random.Generator) -> None:
        """Poles along both kerbs, a few at the building line, a pair at the junction; a row of trees.

        A pole's depth follows from the width it should have in the image: 8-30 px at 2048 px for most
        (log-uniform over 6-34 px), as Cityscapes' poles are; sign posts are thin, lamp posts thick.
        """
        kerbs = [self.road_l - 0.6, self.road_r + 0.6]
        building_line = [self.walk_l + 0.3, self.walk_r - 0.3]
        for _ in range(r.integers(4, 10)):
            width = r.uniform(0.10, 0.32)
            width_px = np.exp(r.uniform(np.log(6.0), np.log(34.0)))
            z = float(np.clip(NOMINAL_FOCAL * width / width_px, 5.0, 150.0))
            x = (kerbs if r.random() < 0.8 else building_line)[r.integers(2)]
            self.things.append(Thing(z, "pole", (x, z, width)))
        if self.junction and r.random() < 0.8:
            for x in kerbs:
                self.things.append(Thing(self.z_cross - 1.0, "pole", (x, self.z_cross - 1.0, 0.25)))
        if r.random() < 0.5:
            side = kerbs[r.integers(2)]
            for z in np.arange(r.uniform(8.0, 20.0), 80.0, r.uniform(8.0, 15.0)):
                self.things.append(Thing(float(z), "tree", (side + np.sign(side) * 0.5, float(z))))
