"""Label sets: the built-in Cityscapes set is the 19-class constants, files are read or refused by name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers import labels as cs

from gald_viz.data import labels
from gald_viz.data.label_encoding import LabelEncodingError, decode_label_map
from gald_viz.data.label_files import MAX_FILE_BYTES, label_set_json, read_label_set, resolve_labels
from gald_viz.data.label_set import CITYSCAPES, IGNORE_INDEX, LabelSet, LabelSetError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
FIVE = [("background", [0, 0, 0]), ("road", [128, 64, 128]), ("building", [70, 70, 70])]
FIVE += [("vegetation", [107, 142, 35]), ("vehicle", [0, 0, 142])]


def five(**changes) -> dict:
    data = {"name": "five", "classes": [{"name": n, "color": c} for n, c in FIVE]}
    return data | changes


def write(tmp_path: Path, data, name: str = "set.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_cityscapes_set_is_the_nineteen_class_constants():
    assert CITYSCAPES.class_names == labels.CLASS_NAMES and CITYSCAPES.num_classes == 19
    np.testing.assert_array_equal(CITYSCAPES.color_array, labels.CLASS_COLORS)
    np.testing.assert_array_equal(CITYSCAPES.id_lookup, labels.LABELID_TO_TRAINID)
    every = np.arange(256)
    np.testing.assert_array_equal(CITYSCAPES.decode(every, "labelId"), labels.to_train_ids(every))
    np.testing.assert_array_equal(CITYSCAPES.colorize(every), labels.colorize(every))
    # What a labelIds file may hold: cityscapesScripts' ids 0..33 and 255; a trainIds file: 0..18 and 255.
    assert set(np.flatnonzero(CITYSCAPES.id_valid)) == {lab.id for lab in cs.labels if lab.id >= 0} | {255}
    assert set(np.flatnonzero(CITYSCAPES.train_valid)) == set(range(19)) | {255}
    assert CITYSCAPES.is_cityscapes and CITYSCAPES.ignore_id == IGNORE_INDEX == 255
    with pytest.raises(ValueError):
        CITYSCAPES.palette[0] = 1


def test_cityscapes_round_trips_through_its_file_and_other_sets_may_not_take_its_name(tmp_path):
    path = write(tmp_path, label_set_json(CITYSCAPES))
    assert read_label_set(path) is CITYSCAPES
    assert resolve_labels(None) is resolve_labels("") is resolve_labels("cityscapes") is CITYSCAPES
    renamed = write(tmp_path, five(name="cityscapes"), "fake.json")
    with pytest.raises(LabelSetError, match=re.escape(str(renamed)) + ".*belongs to the built-in"):
        read_label_set(renamed)


def test_the_example_files_read_and_say_what_the_docs_say():
    ade = read_label_set(EXAMPLES / "ade20k-150.json")
    assert ade.num_classes == 150 and ade.class_names[:3] == ("wall", "building", "sky")
    assert ade.class_names[-1] == "flag" and len(set(ade.colors)) == 150
    ids = np.arange(256)
    decoded = ade.decode(ids, "labelId")
    assert decoded[0] == IGNORE_INDEX and decoded[1:151].tolist() == list(range(150))
    assert (decoded[151:] == IGNORE_INDEX).all() and not ade.id_valid[151:255].any()
    csv_set, json_set = (
        read_label_set(EXAMPLES / "five-class.csv"),
        read_label_set(EXAMPLES / "five-class.json"),
    )
    assert csv_set == json_set and csv_set.sha256 == json_set.sha256 and csv_set.id_map is None
    assert [list(c) for c in csv_set.colors] == [c for _, c in FIVE]
    cats = read_label_set(EXAMPLES / "cityscapes-categories.json")
    # Cityscapes' car (labelId 26) is a vehicle, road (7) flat, person (24) void.
    assert cats.decode(np.array([26, 7, 24, 255]), "labelId").tolist() == [4, 0, 255, 255]
    for set_ in (ade, csv_set, cats):
        assert not set_.is_cityscapes and set_.describe().startswith(
            f"{set_.name} ({set_.num_classes} classes"
        )


def test_identity_hashes_the_content_not_the_file(tmp_path):
    a = read_label_set(write(tmp_path, five(), "a.json"))
    b = read_label_set(write(tmp_path, five(), "b.json"))
    assert a == b and a.identity() == b.identity() == {"name": "five", "sha256": a.sha256}
    recoloured = five()
    recoloured["classes"][1]["color"] = "#804081"
    c = read_label_set(write(tmp_path, recoloured, "c.json"))
    assert c.sha256 != a.sha256 and c.colors[1] == (128, 64, 129)


BAD_JSON = {
    "duplicate name": (
        five(classes=[{"name": "a", "color": [0, 0, 0]}, {"name": "a", "color": [1, 1, 1]}]),
        "duplicate class name 'a' (classes 0 and 1)",
    ),
    "colour out of range": (
        five(classes=[{"name": "a", "color": [0, 256, 0]}]),
        "colour [0, 256, 0] must be",
    ),
    "colour as a word": (five(classes=[{"name": "a", "color": "red"}]), "colour 'red' must be [r, g, b]"),
    "colour of two": (five(classes=[{"name": "a", "color": [1, 2]}]), "colour [1, 2] must be"),
    "id out of range": (
        five(classes=[{"name": "a", "color": [0, 0, 0], "ids": [300]}]),
        "ids [300] outside 0..255",
    ),
    "negative id": (
        five(classes=[{"name": "a", "color": [0, 0, 0], "ids": [-1]}]),
        "ids [-1] outside 0..255",
    ),
    "ignore collides": (five(ignore_id=3), "ignore id 3 collides with class 3 ('vegetation')"),
    "ignore out of range": (five(ignore_id=256), "ignore id 256 must be a whole number 0..255"),
    "too many classes": (
        five(classes=[{"name": f"c{i}", "color": [0, 0, 0]} for i in range(256)]),
        "256 classes; a label set has at most 255",
    ),
    "some ids": (
        five(classes=[{"name": "a", "color": [0, 0, 0], "ids": [1]}, {"name": "b", "color": [0, 0, 0]}]),
        "classes 1 ('b') do not",
    ),
    "id twice": (
        five(
            classes=[
                {"name": "a", "color": [0, 0, 0], "ids": [1]},
                {"name": "b", "color": [0, 0, 0], "ids": [1]},
            ]
        ),
        "file id 1 is given twice: in class 0 ('a') and in class 1 ('b')",
    ),
    "void and class": (
        five(classes=[{"name": "a", "color": [0, 0, 0], "ids": [1]}], void_ids=[1]),
        "file id 1 is given twice: in class 0 ('a') and in void_ids",
    ),
    "void without ids": (five(void_ids=[0]), "'void_ids' needs file 'ids'"),
    "id is the ignore id": (
        five(classes=[{"name": "a", "color": [0, 0, 0], "ids": [255]}]),
        "file id 255 is the ignore id",
    ),
    "unknown key": (five(colour="x"), "unknown key(s) ['colour']"),
    "reserved name": (five(classes=[{"name": "mean", "color": [0, 0, 0]}]), "class 0 is named 'mean'"),
    "empty name": (
        five(classes=[{"name": " ", "color": [0, 0, 0]}]),
        "class 0's name must be a non-empty text",
    ),
    "no classes": (five(classes=[]), "'classes' must be a non-empty list"),
    "no name": ({"classes": five()["classes"]}, "missing key(s) ['name']"),
}


@pytest.mark.parametrize("case", list(BAD_JSON))
def test_bad_json_files_are_refused_naming_the_file_and_the_problem(tmp_path, case):
    data, message = BAD_JSON[case]
    path = write(tmp_path, data)
    with pytest.raises(LabelSetError) as err:
        read_label_set(path)
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.json", '{"name": "x", "classes": [', "not valid JSON (Expecting value at line 1"),
        ("list.json", "[1, 2]", "expected a JSON object"),
        ("set.yaml", "name: x", "expected a .json or .csv file"),
        ("header.csv", "class,red,green,blue\na,0,0,0\n", "the first row must be the header name,r,g,b"),
        ("fields.csv", "name,r,g,b\na,0,0\n", "class 0 (['a']): expected 4 fields"),
        ("colour.csv", "name,r,g,b\na,0,0,x\n", "colour ['0', '0', 'x'] must be"),
        ("dup.csv", "name,r,g,b\na,0,0,0\na,1,1,1\n", "duplicate class name 'a'"),
        ("empty.csv", "# only a comment\nname,r,g,b\n", "no classes after the header"),
    ],
)
def test_bad_files_of_either_format(tmp_path, name, text, message):
    path = write(tmp_path, text, name)
    with pytest.raises(LabelSetError) as err:
        read_label_set(path)
    assert str(path) in str(err.value) and message in str(err.value), str(err.value)


def test_missing_huge_and_binary_files(tmp_path):
    with pytest.raises(LabelSetError, match="nowhere.json.*no such file"):
        read_label_set(tmp_path / "nowhere.json")
    with pytest.raises(LabelSetError, match="not a file"):
        read_label_set(tmp_path)
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(LabelSetError, match=f"huge.json.*{MAX_FILE_BYTES + 1} bytes, more than"):
        read_label_set(huge)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(LabelSetError, match="binary.json.*not UTF-8"):
        read_label_set(binary)


def test_a_set_without_an_id_map_decodes_train_ids_and_maps_its_ignore_id_to_255(tmp_path):
    s = read_label_set(write(tmp_path, five(ignore_id=250)))
    ids = np.array([[0, 4, 250]], np.uint8)
    train, how = decode_label_map(ids, "x.png", label_set=s)
    assert train.tolist() == [[0, 4, 255]] and how == "trainId (label set)"
    assert decode_label_map(ids, "x_trainIds.png", label_set=s)[1] == "trainId (file name)"
    with pytest.raises(
        LabelEncodingError, match=re.escape("x.png: values [5, 255] are not trainIds (0..4, 250 ignore)")
    ):
        decode_label_map(np.array([[5, 255, 0]]), "x.png", label_set=s)
    with pytest.raises(LabelEncodingError, match="x_labelIds.png: read as labelIds .*has no id map"):
        decode_label_map(ids, "x_labelIds.png", label_set=s)


def test_a_set_with_an_id_map_decodes_by_name_choice_or_decisive_values(tmp_path):
    ade = read_label_set(EXAMPLES / "ade20k-150.json")
    raw = np.array([[0, 1, 150, 200]], np.uint8)
    with pytest.raises(LabelEncodingError, match="values \\[200\\] are not trainIds"):
        decode_label_map(raw, "a.png", label_set=ade)
    raw[0, 3] = 150
    train, how = decode_label_map(raw, "a_labelIds.png", label_set=ade)
    assert train.tolist() == [[255, 0, 149, 149]] and how == "labelId (file name)"
    assert decode_label_map(raw, "a.png", "labelId", ade)[0].tolist() == [[255, 0, 149, 149]]
    # Ids 0..149 are both train ids and file ids: unnamed, they do not decide.
    with pytest.raises(
        LabelEncodingError, match="ambiguous.*valid trainIds and valid label set 'ade20k-150' labelIds"
    ):
        decode_label_map(np.array([[0, 1]], np.uint8), "a.png", label_set=ade)


def test_a_set_is_checked_when_built_in_code_too():
    with pytest.raises(LabelSetError, match="label set 'x': 2 colours for 1 classes"):
        LabelSet("x", ("a",), ((0, 0, 0), (1, 1, 1)))
    with pytest.raises(LabelSetError, match="classes 1 \\('b'\\) have no file id"):
        LabelSet("x", ("a", "b"), ((0, 0, 0),) * 2, id_map=((3, 0),))
