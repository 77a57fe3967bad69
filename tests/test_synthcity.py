"""SynthCity: determinism, exact labels, the Cityscapes-layout command line, class coverage."""

import cv2
import numpy as np
import pytest

from gald_viz.data.cityscapes import CityscapesDataset
from gald_viz.data.labels import CLASS_NAMES, IGNORE_INDEX, NUM_CLASSES, colorize, to_label_ids
from gald_viz.data.synthcity import SynthCity, class_stats, generate, main, sample_name
from gald_viz.data.synthcity.canvas import TRAIN_ID
from gald_viz.data.synthcity.drawers import THING_DRAWERS, thing_drawer
from gald_viz.data.synthcity.layout import SEGMENT_KINDS, Street
from gald_viz.data.synthcity.stats import CITYSCAPES_PIXEL_PERCENT, cityscapes_share
from gald_viz.data.synthcity.structures import SEGMENT_DRAWERS


def test_same_seed_split_index_gives_identical_pixels():
    a = generate(3, split="val", seed=5, height=128, width=256)
    b = generate(3, split="val", seed=5, height=128, width=256)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.label, b.label)
    assert a.name == "synthcity_000005_000003"


@pytest.mark.parametrize("other", [dict(index=4), dict(split="train"), dict(seed=6)])
def test_index_split_and_seed_each_change_the_scene(other):
    args = dict(index=3, split="val", seed=5, height=128, width=256)
    base = generate(**args)
    changed = generate(**{**args, **other})
    assert (base.label != changed.label).mean() > 0.05


def test_sample_types_values_and_ignore_region():
    s = generate(0, split="val", height=128, width=256)
    assert s.image.shape == (128, 256, 3) and s.image.dtype == np.uint8
    assert s.label.shape == (128, 256) and s.label.dtype == np.uint8
    values = set(np.unique(s.label).tolist())
    assert values <= set(range(NUM_CLASSES)) | {IGNORE_INDEX}
    assert s.label[-1, 128] == IGNORE_INDEX  # ego-vehicle bonnet
    assert (s.label[0, :] == IGNORE_INDEX).all()  # rectification border


def test_geometry_scales_with_image_size():
    small = generate(7, split="val", height=128, width=256).label
    large = generate(7, split="val", height=256, width=512).label
    shrunk = cv2.resize(large, (256, 128), interpolation=cv2.INTER_NEAREST)
    assert (shrunk == small).mean() > 0.9


def test_poles_are_mostly_8_to_30_px_wide_at_full_size():
    runs = []
    for index in range(4):
        pole = generate(index, split="val").label == TRAIN_ID["pole"]
        padded = np.pad(pole, ((0, 0), (1, 1))).astype(np.int8)
        diff = np.diff(padded, axis=1)
        starts, ends = np.nonzero(diff == 1), np.nonzero(diff == -1)
        runs.extend((ends[1] - starts[1]).tolist())
    runs = np.array(runs)
    assert len(runs) > 1000
    assert ((runs >= 8) & (runs <= 30)).mean() > 0.6, np.percentile(runs, [10, 50, 90])


def test_thin_and_small_classes_have_cityscapes_like_shares_at_full_size():
    pixels = np.zeros(19, np.int64)
    for index in range(12):
        pixels += np.bincount(generate(index, split="val", seed=3).label.ravel(), minlength=256)[:19]
    share = pixels / pixels.sum()
    city = cityscapes_share()
    # pole about 1 % of labelled pixels; signs, lights, people and bicycles within a factor of 3
    assert 0.007 < share[TRAIN_ID["pole"]] < 0.025
    for name in ("traffic light", "traffic sign", "person", "rider", "bicycle"):
        ratio = share[TRAIN_ID[name]] / city[TRAIN_ID[name]]
        assert 1 / 3 < ratio < 3, (name, ratio)


def test_cityscapes_share_is_the_cited_table_renormalised_over_the_19_classes():
    total = sum(CITYSCAPES_PIXEL_PERCENT.values())
    share = cityscapes_share()
    for train_id, name in enumerate(CLASS_NAMES):
        assert share[train_id] == pytest.approx(CITYSCAPES_PIXEL_PERCENT[name] / total, rel=1e-12)


def test_all_classes_appear_often_in_30_val_images():
    pixels, images = class_stats(s.label for s in SynthCity("val", 30, 0, 256, 512))
    assert (images > 0).all(), f"missing classes: {np.nonzero(images == 0)[0].tolist()}"
    assert (images >= 6).all(), f"classes in fewer than 20% of images: {images.tolist()}"


def test_source_protocol():
    ds = SynthCity(split="val", count=3, seed=2, height=64, width=128)
    assert len(ds) == 3 and ds.names == [sample_name(i, 2) for i in range(3)]
    assert ds[-1].name == ds.names[2]
    assert ds.describe() == "synthcity:val seed=2 64x128 count=3"
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ValueError, match="split"):
        SynthCity(split="bogus")


def test_cli_writes_cityscapes_layout_that_reads_back_identically(tmp_path, capsys):
    assert (
        main(
            [
                "--out",
                str(tmp_path),
                "--split",
                "val",
                "--count",
                "3",
                "--seed",
                "1",
                "--height",
                "96",
                "--width",
                "192",
                "--stats",
            ]
        )
        == 0
    )
    report = capsys.readouterr().out
    assert "traffic light" in report and "classes present" in report and "Cityscapes %" in report
    pole_row = next(line for line in report.splitlines() if line.startswith("pole "))
    assert pole_row.split()[2] == f"{100 * cityscapes_share()[TRAIN_ID['pole']]:.3f}"
    read = CityscapesDataset(root=tmp_path, split="val")
    expected = SynthCity("val", 3, 1, 96, 192)
    assert read.names == expected.names
    for got, want in zip(read, expected, strict=True):
        np.testing.assert_array_equal(got.label, want.label)
        np.testing.assert_array_equal(got.image, want.image)
        gt = tmp_path / "gtFine" / "val" / "synthcity"
        label_ids = cv2.imread(str(gt / f"{want.name}_gtFine_labelIds.png"), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(label_ids, to_label_ids(want.label))
        colour = cv2.imread(str(gt / f"{want.name}_gtFine_color.png"))[:, :, ::-1]
        np.testing.assert_array_equal(colour, colorize(want.label))


def test_cli_rejects_bad_arguments(tmp_path):
    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--count", "1", "--height", "10"])


def test_every_placed_thing_and_segment_kind_has_a_drawer():
    rng = np.random.default_rng(0)
    kinds = set()
    for _ in range(20):
        street = Street(rng)
        street.lane_centres = [street.road_l + 1.5, street.road_r - 1.5]
        street.place_things(rng)
        kinds |= {thing.kind for thing in street.things}
    assert kinds == set(THING_DRAWERS)
    assert set(SEGMENT_DRAWERS) == set(SEGMENT_KINDS) and sum(SEGMENT_KINDS.values()) == pytest.approx(1.0)


def test_unknown_drawer_name_lists_the_known_ones():
    assert thing_drawer("pole") is THING_DRAWERS["pole"]
    with pytest.raises(
        KeyError, match="'lamp'; known: person, pole, tree, two_wheeler, vehicle, vehicle_across"
    ):
        thing_drawer("lamp")
