"""open_source: the text specs the command lines and the app use."""

import cv2
import numpy as np
import pytest

from gald_viz.data.sources import SourceError, open_source
from gald_viz.data.synthcity import generate


def test_synthcity_specs():
    src = open_source("synthcity:val", limit=2)
    assert len(src) == 2 and src.names == ["synthcity_000000_000000", "synthcity_000000_000001"]
    assert src.describe() == "synthcity:val seed=0 1024x2048 count=2"
    small = open_source("synthcity:train:count=3,seed=4,size=64x128")
    assert small.describe() == "synthcity:train seed=4 64x128 count=3"
    np.testing.assert_array_equal(small[1].label, generate(1, "train", 4, 64, 128).label)
    assert len(open_source("synthcity:val:count=3", limit=10)) == 3


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("synthcity:bogus", "split must be one of"),
        ("synthcity:val:colour=red", "unknown SynthCity option 'colour'"),
        ("synthcity:val:size=big", "bad 'size=big'"),
        ("imagenet:val", "unknown kind 'imagenet'"),
        ("folders:onlyone", "expected folders:IMAGES,LABELS"),
        ("folders:a,b,rgb", "encoding must be one of"),
    ],
)
def test_bad_specs_name_the_spec(spec, match):
    with pytest.raises(SourceError, match=match) as info:
        open_source(spec)
    assert spec in str(info.value)


def test_folder_and_cityscapes_specs(tmp_path, monkeypatch):
    for n in ("a", "b", "c"):
        (tmp_path / "img").mkdir(exist_ok=True)
        (tmp_path / "lab").mkdir(exist_ok=True)
        cv2.imwrite(str(tmp_path / "img" / f"{n}.png"), np.zeros((2, 3, 3), np.uint8))
        cv2.imwrite(str(tmp_path / "lab" / f"{n}.png"), np.ones((2, 3), np.uint8))
    src = open_source(f"folders:{tmp_path / 'img'},{tmp_path / 'lab'},trainId", limit=2)
    assert src.names == ["a", "b"] and len(src) == 2 and src[1].label.max() == 1
    assert "first=2" in src.describe()
    with pytest.raises(SourceError, match="no such folder"):
        open_source(f"folders:{tmp_path / 'img'},{tmp_path / 'missing'}")
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    with pytest.raises(SourceError, match=r"cityscapes:val.*CITYSCAPES_DATASET"):
        open_source("cityscapes:val")
    with pytest.raises(SourceError, match="missing folder"):
        open_source(f"cityscapes:val:{tmp_path}")
