"""gald_viz.data.labels agrees with cityscapesScripts' own label table."""

import numpy as np
import pytest
from cityscapesscripts.helpers import labels as cs

from gald_viz.data import labels


def test_every_cityscapes_label_maps_to_its_train_id():
    checked = 0
    for lab in cs.labels:
        if not 0 <= lab.id < 256:
            continue  # license plate (id -1) is never stored in a label PNG
        expected = lab.trainId if 0 <= lab.trainId < 255 else labels.IGNORE_INDEX
        assert labels.LABELID_TO_TRAINID[lab.id] == expected, lab.name
        assert labels.to_train_ids(np.array([lab.id]))[0] == expected, lab.name
        checked += 1
    assert checked == len([lab for lab in cs.labels if lab.id >= 0])


def test_ids_without_a_cityscapes_label_are_ignored():
    known = {lab.id for lab in cs.labels}
    unknown = [i for i in range(256) if i not in known]
    assert unknown and (labels.LABELID_TO_TRAINID[unknown] == labels.IGNORE_INDEX).all()
    assert labels.to_train_ids(np.array([-1, 300]))[0] == labels.IGNORE_INDEX


def test_names_and_colours_follow_train_id_order():
    assert labels.NUM_CLASSES == 19 == len(labels.CLASS_NAMES) == len(labels.CLASS_COLORS)
    for train_id, (name, colour) in enumerate(zip(labels.CLASS_NAMES, labels.CLASS_COLORS, strict=True)):
        lab = cs.trainId2label[train_id]
        assert name == lab.name
        assert tuple(int(c) for c in colour) == lab.color
    assert labels.CLASS_COLORS.dtype == np.uint8 and labels.CLASS_COLORS.shape == (19, 3)


def test_train_ids_round_trip_through_label_ids():
    train = np.array([[*range(19), 255]], dtype=np.uint8)
    label_ids = labels.to_label_ids(train)
    assert label_ids.dtype == np.uint8
    assert label_ids[0, :19].tolist() == [cs.trainId2label[t].id for t in range(19)]
    assert label_ids[0, 19] == 0  # ignore is written as "unlabeled"
    np.testing.assert_array_equal(labels.to_train_ids(label_ids), train)


def test_colorize_uses_the_palette_and_draws_ignore_black():
    train = np.array([[0, 13], [255, 18]], dtype=np.uint8)
    rgb = labels.colorize(train)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert rgb[0, 1].tolist() == list(cs.trainId2label[13].color)
    assert rgb[1, 0].tolist() == [0, 0, 0]


def test_lookup_tables_are_read_only():
    with pytest.raises(ValueError):
        labels.LABELID_TO_TRAINID[7] = 3
