"""The registry of thing drawers: a placed :class:`.layout.Thing`'s kind names its drawer here.

A drawer is called as ``drawer(canvas, rng, *thing.args)`` and paints one object, image and label.
"""

from collections.abc import Callable

from gald_viz.data.synthcity.people import draw_person
from gald_viz.data.synthcity.poles import draw_pole
from gald_viz.data.synthcity.trees import draw_tree
from gald_viz.data.synthcity.two_wheelers import draw_two_wheeler
from gald_viz.data.synthcity.vehicles import draw_vehicle, draw_vehicle_across

THING_DRAWERS: dict[str, Callable[..., None]] = {
    "vehicle": draw_vehicle,
    "vehicle_across": draw_vehicle_across,
    "person": draw_person,
    "two_wheeler": draw_two_wheeler,
    "pole": draw_pole,
    "tree": draw_tree,
}


def thing_drawer(kind: str) -> Callable[..., None]:
    """The drawer registered for ``kind``.

    >>> thing_drawer("lamp")
    Traceback (most recent call last):
    KeyError: "no SynthCity drawer for 'lamp'; known: person, pole, tree, two_wheeler, vehicle, ..."
    """
    try:
        return THING_DRAWERS[kind]
    except KeyError:
        known = ", ".join(sorted(THING_DRAWERS))
        raise KeyError(f"no SynthCity drawer for {kind!r}; known: {known}") from None
