"""Typed data specs: parse, print back in one canonical form, refuse malformed text naming it."""

import pytest

from gald_viz.data.spec import (
    CityscapesSpec,
    FolderSpec,
    SourceError,
    SynthCitySpec,
    parse_spec,
    training_spec,
)


@pytest.mark.parametrize(
    ("text", "spec", "canonical"),
    [
        ("synthcity", SynthCitySpec(), "synthcity:val"),
        ("synthcity:val", SynthCitySpec(), "synthcity:val"),
        (
            "synthcity:train:seed=4,count=3,size=64x128",
            SynthCitySpec("train", 3, 4, (64, 128)),
            "synthcity:train:count=3,seed=4,size=64x128",
        ),
        ("synthcity:val:size=1024x2048,seed=0", SynthCitySpec(), "synthcity:val"),
        ("cityscapes", CityscapesSpec(), "cityscapes:val"),
        ("cityscapes:val:/data/cs", CityscapesSpec("val", "/data/cs"), None),
        ("folders:a,b", FolderSpec("a", "b"), None),
        ("folders:a,b,labelId", FolderSpec("a", "b", "labelId"), None),
        ("folders:a,b,auto", FolderSpec("a", "b"), "folders:a,b"),
    ],
)
def test_parse_and_print(text, spec, canonical):
    parsed = parse_spec(text)
    assert parsed == spec
    printed = str(parsed)
    assert printed == (canonical or text)
    assert parse_spec(printed) == parsed  # printing is a fixed point of parsing
    assert parse_spec(parsed) is parsed


def test_canonical_order_of_synthcity_options():
    assert str(SynthCitySpec("train", 3, 4, (64, 128))) == "synthcity:train:count=3,seed=4,size=64x128"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("synthcity:bogus", "split must be one of"),
        ("synthcity:val:count=many", "bad 'count=many'"),
        ("folders:a", "expected folders:IMAGES,LABELS"),
        ("folders:a,b,rgb", "encoding must be one of"),
        ("imagenet:val", "unknown kind 'imagenet'"),
    ],
)
def test_bad_text_is_named(text, match):
    with pytest.raises(SourceError, match=match) as info:
        parse_spec(text)
    assert repr(text) in str(info.value)


def test_training_spec_reads_a_root_as_the_train_split():
    assert training_spec("cityscapes") == CityscapesSpec("train")
    assert training_spec("cityscapes:/data/cs") == CityscapesSpec("train", "/data/cs")
    assert training_spec("cityscapes:val:/x") == CityscapesSpec("val", "/x")
    assert training_spec("synthcity") == SynthCitySpec("train")
    assert training_spec("synthcity:val") == SynthCitySpec("val")
