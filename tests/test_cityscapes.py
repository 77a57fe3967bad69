"""CityscapesDataset and FolderPairs: reading the layouts, and errors that name the path."""

import cv2
import numpy as np
import pytest

from gald_viz.data.cityscapes import CityscapesDataset, DatasetError, FolderPairs
from gald_viz.data.labels import to_label_ids

LABEL_IDS = np.array([[7, 8, 26, 0], [24, 33, 11, 4]], np.uint8)  # road sidewalk car void / person ...
TRAIN_IDS = np.array([[0, 1, 13, 255], [11, 18, 2, 255]], np.uint8)


def _write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def _layout(root, cities=("aachen", "bonn"), split="val"):
    for c, city in enumerate(cities):
        for f in range(2):
            stem = f"{city}_{c:06d}_{f:06d}"
            _write(
                root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png",
                np.full((2, 4, 3), 40 * f, np.uint8),
            )
            _write(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", LABEL_IDS)
    return root


def test_reads_images_train_ids_and_names(tmp_path):
    ds = CityscapesDataset(root=_layout(tmp_path), split="val")
    assert len(ds) == 4
    assert ds.names == [
        "aachen_000000_000000",
        "aachen_000000_000001",
        "bonn_000001_000000",
        "bonn_000001_000001",
    ]
    s = ds[1]
    assert s.image.shape == (2, 4, 3) and s.image.dtype == np.uint8 and s.image[0, 0, 0] == 40
    np.testing.assert_array_equal(s.label, TRAIN_IDS)
    assert s.name == "aachen_000000_000001"
    assert "cityscapes:val" in ds.describe() and str(tmp_path) in ds.describe()


def test_root_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CITYSCAPES_DATASET", str(_layout(tmp_path)))
    assert len(CityscapesDataset(split="val")) == 4
    monkeypatch.delenv("CITYSCAPES_DATASET")
    with pytest.raises(DatasetError, match="CITYSCAPES_DATASET"):
        CityscapesDataset()


def test_missing_folders_are_named(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        CityscapesDataset(root=tmp_path / "nowhere")
    _layout(tmp_path)
    with pytest.raises(DatasetError, match=r"missing folder .*leftImg8bit.train"):
        CityscapesDataset(root=tmp_path, split="train")


def test_missing_city_in_gtfine_is_named(tmp_path):
    _layout(tmp_path)
    _write(
        tmp_path / "leftImg8bit" / "val" / "zurich" / "zurich_000000_000000_leftImg8bit.png",
        np.zeros((2, 4, 3), np.uint8),
    )
    with pytest.raises(DatasetError, match=r"zurich.*gtFine.val.zurich"):
        CityscapesDataset(root=tmp_path)


def test_image_without_label_is_named(tmp_path):
    _layout(tmp_path)
    (tmp_path / "gtFine" / "val" / "bonn" / "bonn_000001_000001_gtFine_labelIds.png").unlink()
    with pytest.raises(
        DatasetError, match=r"1 images without a label: .*bonn_000001_000001_leftImg8bit\.png"
    ):
        CityscapesDataset(root=tmp_path)


def test_size_mismatch_names_both_files(tmp_path):
    _layout(tmp_path)
    _write(
        tmp_path / "gtFine" / "val" / "bonn" / "bonn_000001_000000_gtFine_labelIds.png",
        np.zeros((3, 4), np.uint8),
    )
    ds = CityscapesDataset(root=tmp_path)
    ds[0]
    with pytest.raises(
        DatasetError,
        match=r"size mismatch: image .*bonn_000001_000000_leftImg8bit\.png is 4x2.*labelIds\.png is 4x3",
    ):
        ds[2]


def _pairs(tmp_path, label_name="{}.png", labels=TRAIN_IDS, names=("a", "b"), image_ext=".png"):
    for n in names:
        _write(tmp_path / "img" / f"{n}{image_ext}", np.full((2, 4, 3), 9, np.uint8))
        _write(tmp_path / "lab" / label_name.format(n.removesuffix("_leftImg8bit")), labels)
    return tmp_path / "img", tmp_path / "lab"


def test_folder_pairs_with_train_ids(tmp_path):
    ds = FolderPairs(*_pairs(tmp_path, image_ext=".jpg"), encoding="trainId")
    assert ds.encoding == "trainId" and ds.names == ["a", "b"] and len(ds) == 2
    assert "encoding=trainId (explicit)" in ds.describe()
    np.testing.assert_array_equal(ds[0].label, TRAIN_IDS)
    assert ds[1].image.shape == (2, 4, 3)


def test_folder_pairs_label_ids_by_name_and_by_values(tmp_path):
    by_name = FolderPairs(*_pairs(tmp_path / "n", "{}_gtFine_labelIds.png", LABEL_IDS, ("x_leftImg8bit",)))
    assert by_name.encoding == "labelId" and by_name.names == ["x"]
    assert "encoding=labelId (file names)" in by_name.describe()
    np.testing.assert_array_equal(by_name[0].label, TRAIN_IDS)
    by_value = FolderPairs(*_pairs(tmp_path / "v", labels=LABEL_IDS))
    assert by_value.encoding == "labelId"
    np.testing.assert_array_equal(by_value[0].label, TRAIN_IDS)


def test_folder_pairs_errors_name_paths(tmp_path):
    images, labels = _pairs(tmp_path)
    _write(images / "c.png", np.zeros((2, 4, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"without a label: .*img.c\.png \(expected .*lab.c\.png\)"):
        FolderPairs(images, labels)
    with pytest.raises(DatasetError, match=r"labels folder .*nope: no such folder"):
        FolderPairs(images, tmp_path / "nope")
    with pytest.raises(DatasetError, match="encoding"):
        FolderPairs(images, labels, encoding="rgb")


def test_folder_pairs_refuse_label_ids_read_as_train_ids(tmp_path):
    ds = FolderPairs(*_pairs(tmp_path, labels=to_label_ids(TRAIN_IDS)), encoding="trainId")
    with pytest.raises(DatasetError, match=r"a\.png: values .* are not trainIds"):
        ds[0]


def test_auto_refuses_train_ids_with_a_stray_value(tmp_path):
    """Issue 13.2: one stray 26 must not turn [0,1,2,8,10,13] into labelIds [255,255,255,1,255,4]."""
    label = np.resize(np.array([0, 1, 2, 8, 10, 13], np.uint8), (2, 4 * 30))
    label[0, 0] = 26
    _write(tmp_path / "img" / "a.png", np.zeros((2, 120, 3), np.uint8))
    _write(tmp_path / "lab" / "a.png", label)
    ds = FolderPairs(tmp_path / "img", tmp_path / "lab")
    with pytest.raises(DatasetError, match=r"lab.a\.png: the encoding is ambiguous: ids \[26\]"):
        ds[0]
    np.testing.assert_array_equal(
        FolderPairs(tmp_path / "img", tmp_path / "lab", encoding="labelId")[0].label[1, :6],
        [255, 255, 255, 1, 255, 4],
    )  # only an explicit choice decodes it as labelIds


def test_auto_refuses_label_ids_below_19_unless_named(tmp_path):
    """Issue 13.2: a real labelId map holding only ids < 19 was taken for trainIds."""
    label = np.array([[7, 8, 11, 0], [17, 12, 13, 4]], np.uint8)
    ds = FolderPairs(*_pairs(tmp_path / "plain", labels=label, names=("a",)))
    with pytest.raises(DatasetError, match=r"ambiguous: its values \[0, 4, 7, 8, 11, 12, 13, 17\]"):
        ds[0]
    named = FolderPairs(*_pairs(tmp_path / "named", "{}_labelIds.png", label, ("a",)))
    np.testing.assert_array_equal(named[0].label, [[0, 1, 2, 255], [5, 3, 4, 255]])


def test_explicit_encoding_contradicting_the_name_is_refused(tmp_path):
    images, labels = _pairs(tmp_path, "{}_labelIds.png", LABEL_IDS, ("a",))
    with pytest.raises(DatasetError, match=r"a_labelIds\.png: encoding='trainId' was chosen but"):
        FolderPairs(images, labels, encoding="trainId")


def test_duplicate_stems_are_refused_at_open(tmp_path):
    images, labels = _pairs(tmp_path, names=("a",))
    _write(images / "a.jpg", np.zeros((2, 4, 3), np.uint8))
    with pytest.raises(DatasetError, match=r"a\.jpg and a\.png both belong to image 'a'"):
        FolderPairs(images, labels)
