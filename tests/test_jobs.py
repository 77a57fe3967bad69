"""Evaluation jobs: stored rows match the metrics, resumption, four-way pairing, and real SIGKILLs.

The kill test runs the real command line (``python -m gald_viz.evaluate model ...``) in a subprocess,
kills it with SIGKILL at random moments after some images are stored, resumes it, and compares the final
database and prediction PNGs with those of an uninterrupted run.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gald_viz.checkpoints import load_model, save_model
from gald_viz.data.labels import CLASS_NAMES
from gald_viz.data.sources import open_source
from gald_viz.inference import predict
from gald_viz.jobs import DEFAULT_THRESHOLDS, TOLERANCE_RADII, run_job, summary_text
from gald_viz.metrics import runs
from gald_viz.metrics.boundary import boundary_prf, f_vs_tolerance
from gald_viz.metrics.confusion import confusion_matrix, iou_per_class, iou_stats
from gald_viz.metrics.errors import fourway_map
from gald_viz.models import build_model
from gald_viz.store import ResultsStore, StoreError
from gald_viz.store.arrays import decode

REPO = Path(__file__).resolve().parents[1]
DATA = "synthcity:val:size=64x128"
STATISTICS = (
    "image_size", "tp", "fp", "fn", "gt_pixels", "pred_pixels", "radius_px", "boundary_precision",
    "boundary_recall", "boundary_f", "pred_boundary_px", "gt_boundary_px", "matched_pred", "matched_gt",
    "tolerance_radii", "tolerance_f",
)  # fmt: skip
THRESHOLDS = (0.00088, 0.00375, 3)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Tiny random-init GALD (ASPP + LDv2) and GA-only (ASPP) checkpoints."""
    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for seed, arch in enumerate(("aspp_ldv2", "aspp")):
        torch.manual_seed(seed)
        paths[arch] = folder / f"{arch}.safetensors"
        save_model(build_model(arch, backbone="small", head_channels=32), paths[arch])
    return paths


def query(db: Path, sql: str, params: tuple = ()) -> np.ndarray:
    """Rows read straight from the SQLite file, not through the store, as a float array."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return np.array(con.execute(sql, params).fetchall(), dtype=float)
    finally:
        con.close()


def stored_array(db: Path, run_id: str, image: str, name: str) -> np.ndarray:
    """One stored statistic of one image, read straight from the SQLite file."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT dtype, shape, data FROM image_arrays WHERE run_id = ? AND image = ? AND name = ?",
            (run_id, image, name),
        ).fetchone()
    finally:
        con.close()
    return decode(*row)


def test_job_rows_equal_the_metrics_and_a_rerun_adds_nothing(tmp_path, checkpoints):
    db = tmp_path / "r.sqlite"
    calls = []

    def record(done: int, total: int, name: str | None) -> None:
        calls.append((done, total, name))

    run_id = run_job(
        checkpoints["aspp_ldv2"],
        DATA,
        limit=3,
        device="cpu",
        db=db,
        thresholds=THRESHOLDS,
        progress=record,
    )
    source = open_source(DATA, limit=3)
    assert calls == [(0, 3, None)] + [(i + 1, 3, n) for i, n in enumerate(source.names)]

    store = ResultsStore(db, read_only=True)
    info = store.run(run_id)
    assert (info["status"], info["n_done"], info["n_planned"]) == ("finished", 3, 3)
    assert (info["image_height"], info["image_width"], info["data_spec"]) == (64, 128, DATA)
    assert info["data_description"] == source.describe()
    assert len(info["checkpoint_sha256"]) == 64 and info["arch"] == "aspp_ldv2"

    model = load_model(checkpoints["aspp_ldv2"])
    f_sum, cm = 0.0, 0
    for sample in source:
        pred = predict(model, sample.image, device="cpu")
        np.testing.assert_array_equal(store.load_prediction(run_id, sample.name), pred)
        cm = cm + confusion_matrix(pred, sample.label)
        prf = boundary_prf(pred, sample.label, thresholds=THRESHOLDS)
        f_sum = f_sum + prf.f
        for name, expected in (
            ("boundary_precision", prf.precision),
            ("boundary_recall", prf.recall),
            ("boundary_f", prf.f),
            ("matched_pred", prf.matched_pred),
            ("pred_boundary_px", prf.n_pred),
            ("radius_px", np.array(prf.radii)),
        ):
            np.testing.assert_array_equal(stored_array(db, run_id, sample.name, name), expected)
        tp, fp, fn = iou_stats(confusion_matrix(pred, sample.label))
        for name, expected in (("tp", tp), ("fp", fp), ("fn", fn), ("gt_pixels", tp + fn)):
            np.testing.assert_array_equal(stored_array(db, run_id, sample.name, name), expected)
        expected = f_vs_tolerance(pred, sample.label, radii=TOLERANCE_RADII).f
        np.testing.assert_array_equal(stored_array(db, run_id, sample.name, "tolerance_f"), expected)

    table = runs.table_v(store, run_id)
    boundary = table[table.metric == "boundary_f"]
    per_class = f_sum / len(source)  # G-SCNN: the mean over images of the per-image F
    np.testing.assert_array_equal(boundary[list(CLASS_NAMES)].to_numpy(float), per_class)
    np.testing.assert_array_equal(boundary["mean"], per_class.mean(axis=1))
    iou = table[table.metric == "iou"].iloc[0]
    np.testing.assert_allclose(iou[list(CLASS_NAMES)].to_numpy(float), iou_per_class(cm), atol=1e-12)

    text = summary_text(run_id, db)
    for needle in (run_id, info["checkpoint_sha256"][:16], source.describe(), "64×128", "G-SCNN", "3 px"):
        assert needle in text

    calls.clear()
    again = run_job(
        checkpoints["aspp_ldv2"], DATA, limit=3, device="cpu", db=db, thresholds=THRESHOLDS, progress=record
    )
    assert again == run_id and calls == [(3, 3, None)]  # resumed: nothing left to do
    assert query(db, "SELECT COUNT(*) FROM image_arrays WHERE name = 'tp'")[0, 0] == 3


def test_fourway_rows_pair_a_ga_run_with_a_gald_run(tmp_path, checkpoints):
    db = tmp_path / "r.sqlite"
    gald = run_job(
        checkpoints["aspp_ldv2"], DATA, limit=2, device="cpu", db=db, thresholds=THRESHOLDS, progress=False
    )
    # The GA-only run covers 3 images: two pair with the GALD run, computed as each image is stored.
    ga = run_job(
        checkpoints["aspp"], DATA, limit=3, device="cpu", db=db, thresholds=THRESHOLDS, progress=False
    )
    store = ResultsStore(db, read_only=True)
    assert store.fourway_missing(ga, gald) == []
    source = open_source(DATA, limit=2)
    for sample in source:
        _, counts = fourway_map(
            store.load_prediction(ga, sample.name), store.load_prediction(gald, sample.name), sample.label
        )
        images, pairs = store.pair_arrays(ga, gald)
        np.testing.assert_array_equal(pairs["fourway"][images.index(sample.name)], counts.T)
    images, pairs = store.pair_arrays(ga, gald)
    assert images == list(source.names)
    # Every evaluated pixel of class c falls in exactly one of the four categories.
    ga_images, ga_arrays = store.arrays(ga, ["gt_pixels"])
    gt_pixels = ga_arrays["gt_pixels"][[ga_images.index(n) for n in images]].sum(axis=0)
    np.testing.assert_array_equal(pairs["fourway"].sum(axis=(0, 2)), gt_pixels)

    # Two GA-only runs do not pair by themselves; pair_with pairs them after the fact (the resumed run
    # has no image left, so the rows come from the catch-up pass), with pair_with as the GA side.
    ga2 = run_job(checkpoints["aspp"], DATA, limit=2, device="cpu", db=db, thresholds=(3,), progress=False)
    assert len(ResultsStore(db, read_only=True).fourway_missing(ga, ga2)) == 2
    again = run_job(
        checkpoints["aspp"], DATA, limit=2, device="cpu", db=db, thresholds=(3,), progress=False, pair_with=ga
    )
    assert again == ga2 and ResultsStore(db, read_only=True).fourway_missing(ga, ga2) == []
    _, identical = ResultsStore(db, read_only=True).pair_arrays(ga, ga2)
    assert identical["fourway"][:, :, 1:3].sum() == 0  # same predictions: nothing fixed, nothing broken


def test_a_second_job_on_the_same_run_is_refused(tmp_path, checkpoints):
    db = tmp_path / "r.sqlite"
    run_id = run_job(
        checkpoints["aspp"], DATA, limit=1, device="cpu", db=db, thresholds=THRESHOLDS, progress=False
    )
    store = ResultsStore(db)
    with store.run_lock(run_id), pytest.raises(StoreError, match="another process") as err:
        run_job(
            checkpoints["aspp"], DATA, limit=1, device="cpu", db=db, thresholds=THRESHOLDS, progress=False
        )
    assert err.value.reason == "busy"
    assert store.run(run_id)["status"] == "finished"  # the refused job did not touch the run


KEPT_RUN_COLUMNS = (
    "run_id, identity, model_name, checkpoint_path, checkpoint_sha256, arch, ld_kind, model_options,"
    " data_spec, data_description, data_limit, image_height, image_width, class_names, ignore_index,"
    " thresholds, radii_px, convention, n_planned, status, error"
)
TABLES = {
    "runs": f"SELECT {KEPT_RUN_COLUMNS} FROM runs ORDER BY run_id",
    # seconds is a timing, not a result
    "images": "SELECT run_id, image, position, height, width, prediction_png FROM images ORDER BY 1, 2",
    "image_arrays": "SELECT * FROM image_arrays ORDER BY 1, 2, 3",
    "pair_arrays": "SELECT * FROM pair_arrays ORDER BY 1, 2, 3, 4",
}


def dump(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}
    con.close()
    folder = db.parent / "predictions"
    out["pngs"] = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}
    out["other_files"] = sorted(p.name for p in folder.rglob("*") if p.is_file() and p.suffix != ".png")
    return out


def stored_images(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return con.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:  # not created yet, or the schema is being written
        return 0


def assert_whole_images(db: Path) -> None:
    """Right after a kill: every stored image has all its rows and its PNG; no row lacks its image."""
    if not db.exists():
        return
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    images = con.execute("SELECT run_id, image, prediction_png FROM images").fetchall()
    names = dict(con.execute("SELECT image, GROUP_CONCAT(name) FROM image_arrays GROUP BY image").fetchall())
    f_shape = con.execute("SELECT DISTINCT shape FROM image_arrays WHERE name = 'boundary_f'").fetchall()
    con.close()
    assert {image: set(names[image].split(",")) for image in names} == {
        image: set(STATISTICS) for _, image, _ in images
    }
    assert f_shape in ([], [(f"[{len(DEFAULT_THRESHOLDS)}, 19]",)])
    for _, _, png in images:
        assert (db.parent / png).is_file(), png


def test_sigkill_at_random_points_then_resume_equals_an_uninterrupted_run(tmp_path, checkpoints):
    limit = 6

    def command(db: Path) -> list[str]:
        return [
            sys.executable, "-m", "gald_viz.evaluate", "model", "--model", str(checkpoints["aspp_ldv2"]),
            "--data", DATA, "--limit", str(limit), "--db", str(db), "--device", "cpu",
        ]  # fmt: skip

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    # The uninterrupted reference runs in this process (one interpreter start less) with the command's
    # arguments and its single thread, so the network's floating-point sums are the same.
    reference = tmp_path / "reference" / "r.sqlite"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_job(str(checkpoints["aspp_ldv2"]), DATA, limit=limit, device="cpu", db=reference, progress=False)
    finally:
        torch.set_num_threads(threads)

    seed = int.from_bytes(os.urandom(4), "little")
    rng = np.random.default_rng(seed)
    db = tmp_path / "killed" / "r.sqlite"
    db.parent.mkdir()
    kills = []
    # One image's work (inference + metrics) in the reference run: kills land within about one image
    # after the first new image is stored, i.e. in inference, the PNG write or the transaction.
    con = sqlite3.connect(reference)
    image_seconds = con.execute("SELECT MAX(seconds) FROM images").fetchone()[0]
    con.close()
    for _ in range(3):
        before = stored_images(db)
        if before == limit:
            break
        proc = subprocess.Popen(
            command(db), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        while stored_images(db) <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(float(rng.uniform(0, 1.5 * image_seconds)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append((proc.returncode, stored_images(db)))
        assert_whole_images(db)
    assert any(code == -signal.SIGKILL for code, _ in kills), kills
    subprocess.run(command(db), check=True, cwd=REPO, env=env, capture_output=True, timeout=120)

    got, want = dump(db), dump(reference)
    context = f"seed {seed}, kills (return code, images stored) {kills}"
    print(context)
    assert len(want["images"]) == limit and len(want["image_arrays"]) == limit * len(STATISTICS), context
    for key in want:
        assert got[key] == want[key], f"{key} differs after kills; {context}"


def _write_pair(root: Path, label_value: int, layout: str) -> None:
    """One 64×128 image and its label: ``folders`` (imgs/, labels/ *_trainIds) or ``cityscapes``."""
    import cv2

    image = np.full((64, 128, 3), 90, np.uint8)
    label = np.full((64, 128), label_value, np.uint8)
    if layout == "folders":
        paths = (root / "imgs" / "x.png", root / "labels" / "x_trainIds.png")
    else:
        stem = "aachen_000000_000000"
        paths = (
            root / "leftImg8bit" / "val" / "aachen" / f"{stem}_leftImg8bit.png",
            root / "gtFine" / "val" / "aachen" / f"{stem}_gtFine_labelIds.png",
        )
    for path, array in zip(paths, (image, label), strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), array)


def _gt_pixels(db: Path, run_id: str) -> np.ndarray:
    with ResultsStore(db, read_only=True) as store:
        return store.arrays(run_id, ["gt_pixels"])[1]["gt_pixels"][0]


def test_run_identity_follows_the_files(tmp_path, checkpoints, monkeypatch, one_thread):
    """Issue 13.1: the same spec text over other folders, another $CITYSCAPES_DATASET or edited files
    is another run (it used to resume the first run and report its numbers)."""
    db, model = tmp_path / "r.sqlite", str(checkpoints["aspp"])
    job = dict(device="cpu", db=db, progress=False, thresholds=(3,))
    ids = {}
    for name, value in (("a", 0), ("b", 13)):
        _write_pair(tmp_path / name, value, "folders")
        monkeypatch.chdir(tmp_path / name)
        ids[name] = run_job(model, "folders:imgs,labels", **job)
        assert _gt_pixels(db, ids[name])[value] == 64 * 128  # its own labels, not the other run's
    assert ids["a"] != ids["b"]
    runs_now = ResultsStore(db, read_only=True).runs().set_index("run_id")
    description = runs_now.loc[ids["b"], "data_description"]
    assert str((tmp_path / "b" / "imgs").resolve()) in description and "files=" in description
    assert (
        runs_now.loc[ids["b"], "data_spec"]
        == f"folders:{tmp_path / 'b' / 'imgs'},{tmp_path / 'b' / 'labels'}"
    )
    assert run_job(model, "folders:imgs,labels", **job) == ids["b"]  # unchanged data resumes
    # Edited in place (same name, new content): a new run with the new labels.
    label = tmp_path / "b" / "labels" / "x_trainIds.png"
    _write_pair(tmp_path / "b", 2, "folders")
    os.utime(label, ns=(label.stat().st_atime_ns, label.stat().st_mtime_ns + 10**9))
    edited = run_job(model, "folders:imgs,labels", **job)
    assert edited not in ids.values() and _gt_pixels(db, edited)[2] == 64 * 128
    # $CITYSCAPES_DATASET pointing elsewhere: another run, with the real root recorded.
    for name, value in (("cs1", 7), ("cs2", 26)):
        _write_pair(tmp_path / name, value, "cityscapes")
        monkeypatch.setenv("CITYSCAPES_DATASET", str(tmp_path / name))
        ids[name] = run_job(model, "cityscapes:val", **job)
        assert (
            ResultsStore(db, read_only=True).run(ids[name])["data_spec"]
            == f"cityscapes:val:{tmp_path / name}"
        )
    assert ids["cs1"] != ids["cs2"] and _gt_pixels(db, ids["cs2"])[13] == 64 * 128
