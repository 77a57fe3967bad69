"""Write the example label set files of docs/label_sets.md into docs/examples/.

- ``ade20k-150.json``: the 150 classes of the ADE20K scene-parsing benchmark (Zhou et al., CVPR 2017),
  in the benchmark's order. Its annotation PNGs store 0 for "other" and 1..150 for the classes, so the
  set maps file id ``i`` to train id ``i - 1`` and marks 0 void. The colours are generated (PASCAL VOC's
  bit-interleaved colour map of the class number), not the benchmark's own palette.
- ``five-class.json`` and ``five-class.csv``: one small set in both formats, files of train ids.
- ``cityscapes-categories.json``: Cityscapes' labelIds merged into five categories (flat, construction,
  nature, sky, vehicle); poles, signs and people are void. Read the Cityscapes layout with it.

    python scripts/make_label_set_examples.py [--out FOLDER]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from gald_viz.data.label_files import label_set_json, parse_csv, parse_json  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "examples"

ADE20K_NAMES = [
    "wall",
    "building",
    "sky",
    "floor",
    "tree",
    "ceiling",
    "road",
    "bed",
    "windowpane",
    "grass",
    "cabinet",
    "sidewalk",
    "person",
    "earth",
    "door",
    "table",
    "mountain",
    "plant",
    "curtain",
    "chair",
    "car",
    "water",
    "painting",
    "sofa",
    "shelf",
    "house",
    "sea",
    "mirror",
    "rug",
    "field",
    "armchair",
    "seat",
    "fence",
    "desk",
    "rock",
    "wardrobe",
    "lamp",
    "bathtub",
    "railing",
    "cushion",
    "base",
    "box",
    "column",
    "signboard",
    "chest of drawers",
    "counter",
    "sand",
    "sink",
    "skyscraper",
    "fireplace",
    "refrigerator",
    "grandstand",
    "path",
    "stairs",
    "runway",
    "case",
    "pool table",
    "pillow",
    "screen door",
    "stairway",
    "river",
    "bridge",
    "bookcase",
    "blind",
    "coffee table",
    "toilet",
    "flower",
    "book",
    "hill",
    "bench",
    "countertop",
    "stove",
    "palm",
    "kitchen island",
    "computer",
    "swivel chair",
    "boat",
    "bar",
    "arcade machine",
    "hovel",
    "bus",
    "towel",
    "light",
    "truck",
    "tower",
    "chandelier",
    "awning",
    "streetlight",
    "booth",
    "television receiver",
    "airplane",
    "dirt track",
    "apparel",
    "pole",
    "land",
    "bannister",
    "escalator",
    "ottoman",
    "bottle",
    "buffet",
    "poster",
    "stage",
    "van",
    "ship",
    "fountain",
    "conveyer belt",
    "canopy",
    "washer",
    "plaything",
    "swimming pool",
    "stool",
    "barrel",
    "basket",
    "waterfall",
    "tent",
    "bag",
    "minibike",
    "cradle",
    "oven",
    "ball",
    "food",
    "step",
    "tank",
    "trade name",
    "microwave",
    "pot",
    "animal",
    "bicycle",
    "lake",
    "dishwasher",
    "screen",
    "blanket",
    "sculpture",
    "hood",
    "sconce",
    "vase",
    "traffic light",
    "tray",
    "ashcan",
    "fan",
    "pier",
    "crt screen",
    "plate",
    "monitor",
    "bulletin board",
    "shower",
    "radiator",
    "glass",
    "clock",
    "flag",
]

FIVE_CSV = """# A five-class set; its label PNGs hold train ids 0..4 and 255 for pixels not evaluated.
name,r,g,b
background,0,0,0
road,128,64,128
building,70,70,70
vegetation,107,142,35
vehicle,0,0,142
"""

# Cityscapes labelIds (cityscapesScripts) of each category; every other labelId of 0..33 is void.
CATEGORIES = {
    "flat": ([128, 64, 128], [7, 8, 9, 10]),
    "construction": ([70, 70, 70], [11, 12, 13, 14, 15, 16]),
    "nature": ([107, 142, 35], [21, 22]),
    "sky": ([70, 130, 180], [23]),
    "vehicle": ([0, 0, 142], [26, 27, 28, 29, 30, 31, 32, 33]),
}


def voc_color(n: int) -> list[int]:
    """Colour number ``n`` of PASCAL VOC's colour map: the bits of ``n`` spread over r, g, b, high first.

    >>> voc_color(1), voc_color(2), voc_color(3)
    ([128, 0, 0], [0, 128, 0], [128, 128, 0])
    """
    rgb = [0, 0, 0]
    for shift in range(7, -1, -1):
        for channel in range(3):
            rgb[channel] |= ((n >> channel) & 1) << shift
        n >>= 3
    return rgb


def ade20k() -> dict:
    if len(ADE20K_NAMES) != 150:
        raise SystemExit(f"expected 150 ADE20K names, have {len(ADE20K_NAMES)}")
    classes = [
        {"name": name, "color": voc_color(i + 1), "ids": [i + 1]} for i, name in enumerate(ADE20K_NAMES)
    ]
    return {"name": "ade20k-150", "ignore_id": 255, "classes": classes, "void_ids": [0]}


def categories() -> dict:
    used = {i for _, ids in CATEGORIES.values() for i in ids}
    classes = [{"name": name, "color": rgb, "ids": ids} for name, (rgb, ids) in CATEGORIES.items()]
    void = [i for i in range(34) if i not in used]
    return {"name": "cityscapes-categories", "ignore_id": 255, "classes": classes, "void_ids": void}


def write(out: Path, name: str, data: dict) -> None:
    """The set as JSON with one class per line (readable at 150 classes); it must read back."""
    head = [f' "{key}": {json.dumps(data[key])},' for key in ("name", "ignore_id")]
    classes = ",\n".join(f"  {json.dumps(entry)}" for entry in data["classes"])
    tail = f',\n "void_ids": {json.dumps(data["void_ids"])}' if "void_ids" in data else ""
    text = "{\n" + "\n".join(head) + '\n "classes": [\n' + classes + "\n ]" + tail + "\n}\n"
    parse_json(text, name)
    (out / name).write_text(text, encoding="utf-8")
    print(f"wrote {out / name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder to write (default {OUT})")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    write(out, "ade20k-150.json", ade20k())
    five = parse_csv(FIVE_CSV, "five-class.csv", "five-class")
    (out / "five-class.csv").write_text(FIVE_CSV, encoding="utf-8")
    print(f"wrote {out / 'five-class.csv'}")
    write(out, "five-class.json", label_set_json(five))
    write(out, "cityscapes-categories.json", categories())


if __name__ == "__main__":
    main()
