"""A 5-class label set end to end: trainer, evaluation CLI, results store, folder scoring and the app.

The data is a folder of tiny images whose label PNGs hold train ids 0..4 and 250 for pixels not evaluated
(the set's ignore id). One model is trained by the project's trainer with ``--labels``, one is built by
the zoo's constructor with ``num_classes=5``; both are safetensors checkpoints that record the class names.
Every per-class IoU is checked against a count written out pixel by pixel here.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from gald_viz.checkpoints import CheckpointError, load_model, save_model
from gald_viz.data.label_files import read_label_set
from gald_viz.evaluate import main
from gald_viz.inference import predict
from gald_viz.metrics import runs as run_tables
from gald_viz.models import build_model
from gald_viz.store import ResultsStore
from gald_viz.train import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("background", "road", "building", "vegetation", "vehicle")
COLOURS = ([0, 0, 0], [128, 64, 128], [70, 70, 70], [107, 142, 35], [0, 0, 142])
IGNORE = 250
OPTIONS = {"backbone": "small", "head_channels": 16, "aux": False, "input_scale": 1.0}
H, W = 48, 64


def _label_set_file(path: Path, names=NAMES) -> Path:
    classes = [{"name": n, "color": c} for n, c in zip(names, COLOURS, strict=True)]
    path.write_text(json.dumps({"name": "tiny-5", "ignore_id": IGNORE, "classes": classes}))
    return path


def _scene(i: int) -> tuple[np.ndarray, np.ndarray]:
    """An image whose colours follow its label map (so a model can learn something), and that map."""
    rng = np.random.default_rng(i)
    label = np.zeros((H, W), np.uint8)
    label[H // 2 :, :] = 1  # road below
    label[: H // 2, : W // 3 + 4 * i] = 2  # building left
    label[: H // 2, W // 3 + 4 * i :] = 3  # vegetation right
    y, x = 20 + 2 * i, 10 + 9 * i
    label[y : y + 10, x : x + 16] = 4  # a vehicle
    label[H // 2 :, :6] = 0  # background at the left edge
    label[:2, :] = IGNORE  # a top border not evaluated
    image = np.array([*COLOURS, [255, 255, 255]], np.uint8)[np.minimum(label, 5)].astype(np.int16)
    image += rng.integers(-20, 20, image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8), label


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """The folders, the label set file and both 5-class checkpoints."""
    root = tmp_path_factory.mktemp("five")
    images, labels = root / "images", root / "labels"
    images.mkdir()
    labels.mkdir()
    for i in range(3):
        image, label = _scene(i)
        cv2.imwrite(str(images / f"s{i}.png"), image[:, :, ::-1])
        cv2.imwrite(str(labels / f"s{i}.png"), label)
    label_file = _label_set_file(root / "tiny5.json")
    torch.manual_seed(0)
    config = TrainConfig(
        arch="aspp",
        data=f"folders:{images},{labels}",
        labels=str(label_file),
        out=str(root / "ga.safetensors"),
        iters=3,
        batch=2,
        crop=(32, 48),
        scale=(1.0, 1.0),
        options=dict(OPTIONS),
        save_every=100,
        log_every=1,
    )
    train(config, device="cpu", progress=False, command="test")
    gald = save_model(
        build_model("aspp_ldv2", num_classes=5, **OPTIONS),
        root / "gald.safetensors",
        label_set=read_label_set(label_file),
    )
    return {
        "root": root,
        "images": images,
        "labels": labels,
        "label_file": label_file,
        "ga": Path(config.out),
        "gald": gald,
        "data": f"folders:{images},{labels}",
    }


def literal_counts(pred: np.ndarray, gt: np.ndarray, k: int) -> np.ndarray:
    """(k, 3) TP, FP, FN by visiting every pixel; GT pixels outside 0..k-1 are not evaluated."""
    counts = np.zeros((k, 3), np.int64)
    for p, g in zip(pred.ravel().tolist(), gt.ravel().tolist(), strict=True):
        if not 0 <= g < k:
            continue
        if p == g:
            counts[g, 0] += 1
        else:
            counts[p, 1] += 1
            counts[g, 2] += 1
    return counts


def literal_iou(counts: np.ndarray) -> list[float]:
    return [tp / (tp + fp + fn) if tp + fp + fn else float("nan") for tp, fp, fn in counts.tolist()]


def file_gt(path: Path) -> np.ndarray:
    """A label file of the set as in-memory train ids, written out here: the ignore id becomes 255."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return np.where(raw == IGNORE, 255, raw).astype(np.uint8)


def test_the_trainer_records_the_label_set_and_loading_checks_it(world):
    label_set = read_label_set(world["label_file"])
    ga = load_model(world["ga"], label_set=label_set)
    meta = ga.checkpoint_info["metadata"]
    assert ga.num_classes == 5 and json.loads(meta["classes"]) == list(NAMES)
    assert json.loads(meta["label_set"]) == {"name": "tiny-5", "sha256": label_set.sha256}
    with pytest.raises(
        CheckpointError, match="ga.safetensors.*predicts 5 classes, expected 19 \\(the Cityscapes"
    ):
        load_model(world["ga"])
    other = read_label_set(_label_set_file(world["root"] / "other.json", ("sky", *NAMES[1:])))
    with pytest.raises(
        CheckpointError, match="class 0 is 'background' in the checkpoint and 'sky' in the label"
    ):
        load_model(world["gald"], label_set=other)


def test_cli_evaluates_the_folder_and_every_class_iou_matches_a_literal_count(world, tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    argv = [
        "model",
        "--model",
        str(world["ga"]),
        "--data",
        world["data"],
        "--labels",
        str(world["label_file"]),
    ]
    assert main([*argv, "--db", str(db), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "vegetation" in out and "mIoU" in out

    store = ResultsStore(db, read_only=True)
    run = store.runs().iloc[0]
    assert tuple(run["class_names"]) == NAMES and run["label_set"] == "tiny-5"
    label_set = read_label_set(world["label_file"])
    assert run["identity"]["label_set"] == {"name": "tiny-5", "sha256": label_set.sha256}
    model = load_model(world["ga"], label_set=label_set)
    counts = np.zeros((5, 3), np.int64)
    for i in range(3):
        name = f"s{i}"
        pred = store.load_prediction(run["run_id"], name)
        image = cv2.imread(str(world["images"] / f"{name}.png"))[:, :, ::-1]
        np.testing.assert_array_equal(pred, predict(model, np.ascontiguousarray(image), device="cpu"))
        counts += literal_counts(pred, file_gt(world["labels"] / f"{name}.png"), 5)
    table = run_tables.table_v(store, run["run_id"])
    iou = table[table["metric"] == "iou"][list(NAMES)].to_numpy(float)[0]
    np.testing.assert_allclose(iou, literal_iou(counts), rtol=0, atol=1e-12)
    assert counts[:, [0, 2]].sum() == 3 * (H - 2) * W  # every evaluated pixel counted once

    # The same predictions scored by `evaluate folders` against the label files give the same IoU.
    pred_dir = tmp_path / "pred"
    pred_dir.mkdir()
    for i in range(3):
        cv2.imwrite(str(pred_dir / f"s{i}.png"), store.load_prediction(run["run_id"], f"s{i}"))
    out_json = tmp_path / "f.json"
    argv = ["folders", "--pred", str(pred_dir), "--gt", str(world["labels"]), "--json", str(out_json)]
    assert main([*argv, "--labels", str(world["label_file"])]) == 0
    result = json.loads(out_json.read_text())
    assert result["classes"] == list(NAMES)
    np.testing.assert_allclose([np.nan if v is None else v for v in result["iou"]["per_class"]], iou)
    store.close()


def test_cli_refuses_mismatched_models_data_and_files(world, tmp_path, capsys):
    db = str(tmp_path / "r.sqlite")
    labels = ["--labels", str(world["label_file"])]
    cases = [
        (
            ["--model", "synthcity/aspp", "--data", world["data"], *labels],
            "predicts 19 classes, expected 5 (label set",
        ),
        (["--model", str(world["ga"]), "--data", world["data"]], "predicts 5 classes, expected 19"),
        (
            ["--model", str(world["ga"]), "--data", "synthcity:val", *labels],
            "SynthCity draws the 19 Cityscapes",
        ),
        (
            ["--model", str(world["ga"]), "--data", world["data"], "--labels", str(tmp_path / "no.json")],
            "no such file",
        ),
    ]
    for args, message in cases:
        assert main(["model", *args, "--db", db, "--limit", "1", "--device", "cpu"]) == 2
        err = capsys.readouterr().err
        assert message in err, err
    # A label value the set does not have is refused naming the file and the value.
    bad = tmp_path / "bad_labels"
    bad.mkdir()
    for i in range(3):
        label = file_gt(world["labels"] / f"s{i}.png")
        label[5, 5] = 7 if i == 1 else label[5, 5]
        cv2.imwrite(str(bad / f"s{i}.png"), np.where(label == 255, IGNORE, label).astype(np.uint8))
    data = f"folders:{world['images']},{bad}"
    assert (
        main(["model", "--model", str(world["ga"]), "--data", data, *labels, "--db", db, "--device", "cpu"])
        == 2
    )
    err = capsys.readouterr().err
    assert str(bad / "s1.png") in err and "values [7] are not trainIds (0..4, 250 ignore)" in err


def app(query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "ga_vs_gald.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_app_compares_two_five_class_models_with_their_classes(world):
    at = app(
        {
            "data": world["data"],
            "ga": str(world["ga"]),
            "gald": str(world["gald"]),
            "labels": str(world["label_file"]),
        }
    )
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.text_input(key="sb.labels").value == str(world["label_file"])
    assert at.query_params["labels"] == str(world["label_file"])
    per_class = next(d.value for d in at.dataframe if any(c.startswith("IoU GA") for c in d.value.columns))
    assert list(per_class.index) == list(NAMES)
    name = at.selectbox(key="sb.image").value
    label_set = read_label_set(world["label_file"])
    image = cv2.imread(str(world["images"] / f"{name}.png"))[:, :, ::-1]
    pred = predict(load_model(world["ga"], label_set=label_set), np.ascontiguousarray(image), device="cpu")
    expected = literal_iou(literal_counts(pred, file_gt(world["labels"] / f"{name}.png"), 5))
    column = next(c for c in per_class.columns if c.startswith("IoU GA"))
    np.testing.assert_allclose(per_class[column].to_numpy(float), expected, rtol=0, atol=1e-12)
    counts = next(d.value for d in at.dataframe if "GALD fixes" in d.value.columns)
    assert set(counts.index) - {"all classes"} <= set(NAMES)


def test_app_refuses_a_bad_label_set_file_and_models_of_other_classes(world, tmp_path):
    bad = tmp_path / "dup.json"
    bad.write_text(json.dumps({"name": "d", "classes": [{"name": "a", "color": [0, 0, 0]}] * 2}))
    at = app({"data": "synthcity:val:count=2", "labels": str(bad)})
    assert not at.exception, [e.message for e in at.exception]
    assert any(str(bad) in e.value and "duplicate class name 'a'" in e.value for e in at.error)
    # With the 5-class set, the bundled 19-class models are refused by name; the 5-class ones are used.
    query = {"data": world["data"], "labels": str(world["label_file"]), "gald": str(world["gald"])}
    at = app({**query, "ga": "synthcity/aspp"})
    assert not at.exception, [e.message for e in at.exception]
    assert any("synthcity/aspp" in e.value and "predicts 19 classes, expected 5" in e.value for e in at.error)


def test_mechanisms_cli_runs_the_five_class_pair(world, tmp_path, capsys):
    out = tmp_path / "m.json"
    argv = ["mechanisms", "--ga", str(world["ga"]), "--gald", str(world["gald"]), "--data", world["data"]]
    argv += ["--labels", str(world["label_file"]), "--json", str(out), "--bootstrap", "20", "--device", "cpu"]
    assert main([*argv, "--db", str(tmp_path / "m.sqlite")]) == 0, capsys.readouterr().err
    report = json.loads(out.read_text())
    assert report["classes"] == list(NAMES) and report["n_images"] == 3


def test_boundary_page_shows_the_sets_classes_and_no_published_rows(world):
    at = AppTest.from_file(str(ROOT / "app_pages" / "boundary_f.py"), default_timeout=120)
    query = {"data": world["data"], "ga": str(world["ga"]), "gald": str(world["gald"])}
    for key, value in (query | {"labels": str(world["label_file"])}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    classes = next(m for m in at.multiselect if m.label == "Classes")
    assert list(classes.options) == list(NAMES) and list(classes.value) == list(NAMES)
    table = next(d.value for d in at.dataframe if "mean" in d.value.columns)
    assert list(table.columns) == ["mean", *NAMES]
    sources = set(table.index.get_level_values("source"))
    assert sources and all(s.startswith("live") for s in sources)


def test_the_label_set_is_part_of_a_runs_identity_and_cityscapes_runs_keep_theirs(world, tmp_path):
    from gald_viz.jobs import run_job

    db = tmp_path / "ids.sqlite"
    job = {"limit": 1, "device": "cpu", "db": db, "progress": False}
    five = read_label_set(world["label_file"])
    first = run_job(str(world["ga"]), world["data"], label_set=five, **job)
    assert run_job(str(world["ga"]), world["data"], label_set=five, **job) == first  # resumed
    recoloured = json.loads(world["label_file"].read_text())
    recoloured["classes"][0]["color"] = [1, 2, 3]
    (tmp_path / "recoloured.json").write_text(json.dumps(recoloured))
    other = read_label_set(tmp_path / "recoloured.json")
    assert run_job(str(world["ga"]), world["data"], label_set=other, **job) != first
    city = run_job("synthcity/aspp", "synthcity:val:size=64x128", **job)
    with ResultsStore(db, read_only=True) as store:
        runs = store.runs().set_index("run_id")
    assert "label_set" not in runs.loc[city, "identity"] and runs.loc[city, "label_set"] == "cityscapes"
    assert runs.loc[first, "identity"]["label_set"]["sha256"] == five.sha256 != other.sha256
