"""gald_viz.pairing: what differs between the models in the GA and GALD slots, and when to warn."""

import pytest

from gald_viz.checkpoints import load_model
from gald_viz.models import build_model
from gald_viz.pairing import describe_model, describe_pair


@pytest.fixture(scope="module")
def bundled():
    return {n: load_model(f"synthcity/{n}") for n in ("aspp", "aspp_ldv2", "cgnl_ldv1", "fcn")}


def test_the_bundled_pair_differs_only_in_local_distribution(bundled):
    report = describe_pair(bundled["aspp"], bundled["aspp_ldv2"])
    assert report.isolates_ld and report.warnings == ()
    assert [(d.aspect, d.ga, d.gald) for d in report.differences] == [
        ("local distribution", "none", "ldv2 (k=5, r=3)")
    ]
    assert "only in local distribution (none vs ldv2 (k=5, r=3))" in report.summary
    table = report.table()
    assert table["differs"].tolist() == [False, True, False, False, False, False, False]
    assert table.loc["training data", "GA model"].startswith("synthcity:train seed=12")  # the probe stage


def test_an_fcn_in_the_gald_slot_is_flagged(bundled):
    report = describe_pair(bundled["aspp"], bundled["fcn"])
    assert not report.isolates_ld
    assert report.warnings[0].startswith("The GALD slot holds a model without local distribution (fcn)")
    assert any(w.startswith("The GA heads differ (aspp vs none)") for w in report.warnings)
    assert "GA head (aspp vs none)" in report.summary


def test_different_ga_heads_and_a_swapped_pair_are_flagged(bundled):
    report = describe_pair(bundled["aspp"], bundled["cgnl_ldv1"])
    assert [d.aspect for d in report.differences] == ["GA head", "local distribution"]
    assert report.warnings == (
        "The GA heads differ (aspp vs cgnl): a GA/GALD difference mixes the head with local distribution.",
    )
    swapped = describe_pair(bundled["aspp_ldv2"], bundled["aspp"])
    assert len(swapped.warnings) == 2
    assert swapped.warnings[1].startswith("The GA slot holds a model with local distribution (ldv2")


def test_width_backbone_and_training_data_differences_are_named():
    ga = build_model("aspp", head_channels=64)
    gald = build_model("aspp_ldv1", ldv1_downsample=4)
    gald.checkpoint_info = {"metadata": {"data": "cityscapes:train"}}
    report = describe_pair(ga, gald)
    assert [str(d) for d in report.differences] == [
        "local distribution (none vs ldv1 (downsample 4))",
        "width (64 channels vs 128 channels)",
        "training data (not recorded vs cityscapes:train)",
    ]
    assert report.warnings == (
        "Besides local distribution the models differ in width (64 channels vs 128 channels); training data "
        "(not recorded vs cityscapes:train): a GA/GALD difference is not the effect of LD alone.",
    )
    assert describe_model(ga)["arrangement"] == "—" and describe_model(gald)["arrangement"] == "ga_ld"
