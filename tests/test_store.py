"""The SQLite results store: array round trip, tables of a run, atomic images, WAL, and bad files."""

import ctypes
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gald_viz.metrics import runs
from gald_viz.store import (
    SCHEMA_VERSION,
    ImageResult,
    ResultsStore,
    RunSpec,
    StoreError,
    prediction_filename,
)

REPO = Path(__file__).resolve().parents[1]
PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1  # <linux/prctl.h>, <linux/capability.h>
C, T = 4, 2


def make_spec(**changes) -> RunSpec:
    spec = RunSpec(
        model_name="test/tiny",
        checkpoint_path="/ckpt/tiny.safetensors",
        checkpoint_sha256="ab" * 32,
        arch="aspp_ldv2",
        ld_kind="ldv2",
        model_options={"backbone": "small"},
        data_spec="synthcity:val",
        data_description="synthcity:val seed=0 32x48",
        data_limit=3,
        image_height=32,
        image_width=48,
        class_names=("road", "car", "sky", "pole"),
        ignore_index=255,
        thresholds=(0.00088, 3.0),
        radii_px=(1, 3),
        convention="G-SCNN boundary F, th as diagonal fraction, ignore=255, mean over all images",
        n_planned=3,
    )
    return replace(spec, **changes)


def make_result(name: str, position: int, rng: np.random.Generator) -> ImageResult:
    tp, fp, fn = (rng.integers(0, 50, C) for _ in range(3))
    tp[3] = fp[3] = fn[3] = 0  # class 3 absent: its IoU is NaN, its F counts 1
    f = rng.random((T, C))
    f[:, 3] = 1.0
    arrays = {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "gt_pixels": tp + fn,
        "pred_pixels": tp + fp + rng.integers(0, 5, C),
        "radius_px": np.array([1, 3]),
        "boundary_precision": rng.random((T, C)),
        "boundary_recall": rng.random((T, C)),
        "boundary_f": f,
        "present": tp + fp + fn > 0,
        "tolerance_radii": np.array([1, 2, 3]),
        "tolerance_f": rng.random((3, C)),
    }
    return ImageResult(image=name, position=position, height=32, width=48, seconds=0.5, arrays=arrays)


def fill(store: ResultsStore, spec: RunSpec, n: int, seed: int = 0) -> tuple[str, list[ImageResult]]:
    rng = np.random.default_rng(seed)
    run_id = store.start_run(spec, device="cpu")
    results = []
    for i in range(n):
        result = make_result(f"img{i}", i, rng)
        png = store.save_prediction(run_id, result.image, rng.integers(0, C, (32, 48), dtype=np.uint8))
        store.add_image(run_id, result, prediction_png=png)
        results.append(result)
    return run_id, results


def test_arrays_come_back_bit_for_bit_in_source_order(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    rng = np.random.default_rng(4)
    run_id = store.start_run(make_spec(), device="cpu")
    results = [make_result(f"img{i}", i, rng) for i in (2, 0, 1)]  # stored out of order
    for result in results:
        store.add_image(run_id, result, prediction_png="x.png")
    images, arrays = store.arrays(run_id)
    assert images == ["img0", "img1", "img2"]
    by_name = {r.image: r for r in results}
    assert set(arrays) == set(results[0].arrays)
    for name, stacked in arrays.items():
        want = np.stack([by_name[i].arrays[name] for i in images])
        assert stacked.dtype == want.dtype and stacked.tobytes() == want.tobytes(), name
    assert list(store.arrays(run_id, ["tp"])[1]) == ["tp"]
    assert list(store.images(run_id)["image"]) == images


def test_round_trip_table_v_per_image_and_predictions(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    spec = make_spec()
    run_id, results = fill(store, spec, 3)
    store.finish_run(run_id)

    assert store.done_images(run_id) == {"img0", "img1", "img2"}
    info = store.run(run_id)
    assert info["status"] == "finished" and info["n_done"] == 3
    assert info["checkpoint_sha256"] == spec.checkpoint_sha256 and info["thresholds"] == [0.00088, 3.0]

    table = runs.table_v(store, run_id)
    f_expected = np.mean([r.arrays["boundary_f"] for r in results], axis=0)
    np.testing.assert_allclose(table.loc[table.metric == "boundary_f", list(spec.class_names)], f_expected)
    np.testing.assert_allclose(table.loc[table.metric == "boundary_f", "mean"], f_expected.mean(axis=1))
    tp, fp, fn = (sum(r.arrays[k] for r in results).astype(float) for k in ("tp", "fp", "fn"))
    with np.errstate(invalid="ignore"):
        iou_expected = tp / (tp + fp + fn)
    iou_row = table[table.metric == "iou"].iloc[0]
    np.testing.assert_allclose(iou_row[list(spec.class_names)].to_numpy(float), iou_expected)
    assert iou_row["mean"] == pytest.approx(np.nanmean(iou_expected))
    assert table.attrs["n_images"] == 3

    curve = runs.f_vs_tolerance(store, run_id)
    assert list(curve["radius_px"]) == [1, 2, 3]
    np.testing.assert_allclose(
        curve[list(spec.class_names)], np.mean([r.arrays["tolerance_f"] for r in results], axis=0)
    )

    per_image = runs.per_image(store, run_id)
    assert list(per_image["miou"]) == sorted(per_image["miou"])
    first = next(r.arrays for r in results if r.image == per_image["image"][0])
    union = first["tp"] + first["fp"] + first["fn"]
    present = union > 0
    assert per_image["miou"][0] == pytest.approx(np.mean(first["tp"][present] / union[present]))
    assert per_image["F@3"][0] == pytest.approx(first["boundary_f"][1, present].mean())
    assert list(per_image.columns) == [
        "image",
        "position",
        "height",
        "width",
        "miou",
        "F@0.00088",
        "F@3",
        "gt_all_ignore",
    ]

    rng = np.random.default_rng(0)
    make_result("img0", 0, rng)  # replay the generator to get img0's stored map
    expected_map = rng.integers(0, C, (32, 48), dtype=np.uint8)
    np.testing.assert_array_equal(store.load_prediction(run_id, "img0"), expected_map)
    assert store.prediction_path(run_id, "img0") == tmp_path / "predictions" / run_id / "img0.png"
    with pytest.raises(StoreError, match="img9"):
        store.prediction_path(run_id, "img9")


def test_same_identity_resumes_the_same_run(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run_id, _ = fill(store, make_spec(), 2)
    created = store.run(run_id)["created_at"]
    store.finish_run(run_id)
    assert store.start_run(make_spec(data_description="other text"), device="cuda:0") == run_id
    info = store.run(run_id)
    assert (info["status"], info["device"], info["created_at"], info["n_done"]) == (
        "running",
        "cuda:0",
        created,
        2,
    )
    assert make_spec(data_limit=4).run_id != run_id
    assert make_spec(thresholds=(0.00088, 5.0)).run_id != run_id
    assert make_spec(image_height=64).run_id != run_id
    assert len(store.runs()) == 1


def test_an_image_and_its_rows_commit_together(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run_id, _ = fill(store, make_spec(), 1)
    result = make_result("img1", 1, np.random.default_rng(1))
    # Four-way rows naming a run that has no such image violate a foreign key after the image's other
    # rows are inserted: the whole image must roll back.
    with pytest.raises(sqlite3.IntegrityError):
        store.add_image(
            run_id, result, prediction_png="x.png", pairs={("nope", run_id): {"fourway": np.ones((C, 4))}}
        )
    assert store.done_images(run_id) == {"img0"}
    for table in ("image_arrays", "pair_arrays"):
        with sqlite3.connect(tmp_path / "r.sqlite") as con:
            assert con.execute(f"SELECT COUNT(*) FROM {table} WHERE image = 'img1'").fetchone()[0] == 0
    with pytest.raises(sqlite3.IntegrityError):  # UNIQUE (run, image): never a doubled image
        store.add_image(run_id, make_result("img0", 0, np.random.default_rng(2)), prediction_png="x.png")


def test_pair_arrays_of_the_images_both_runs_have(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    run_a, _ = fill(store, make_spec(ld_kind="none", checkpoint_sha256="aa" * 32), 3, seed=1)
    run_b, _ = fill(store, make_spec(), 2, seed=2)
    assert store.fourway_missing(run_a, run_b) == ["img0", "img1"]
    counts = {name: np.arange(C * 4).reshape(C, 4) + i for i, name in enumerate(["img1", "img0"])}
    for name, value in counts.items():
        store.add_pair(run_a, run_b, name, {"fourway": value})
        store.add_pair(run_a, run_b, name, {"fourway": value})  # a second job's catch-up: never doubled
    assert store.fourway_missing(run_a, run_b) == []
    images, arrays = store.pair_arrays(run_a, run_b)
    assert images == ["img0", "img1"]  # the GALD run's order
    np.testing.assert_array_equal(arrays["fourway"], np.stack([counts["img0"], counts["img1"]]))
    assert store.pair_arrays(run_b, run_a) == ([], {})


def test_wal_lets_readers_read_while_a_writer_holds_its_transaction(tmp_path):
    path = tmp_path / "r.sqlite"
    store = ResultsStore(path)
    run_id, _ = fill(store, make_spec(), 1)
    assert store.journal_mode() == "wal"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE runs SET status = 'failed'")
    assert Path(f"{path}-wal").exists()
    reader = ResultsStore(path, read_only=True, timeout=0.2)
    assert reader.run(run_id)["status"] == "running"  # reads at once, and not the uncommitted write
    with pytest.raises(StoreError, match="locked") as err:  # a second writer waits, then says so
        ResultsStore(path, timeout=0.2).finish_run(run_id)
    assert err.value.reason == "locked" and str(path) in str(err.value)
    writer.execute("COMMIT")
    assert reader.run(run_id)["status"] == "failed"


def test_exclusively_locked_file(tmp_path):
    path = tmp_path / "r.sqlite"
    ResultsStore(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("SELECT COUNT(*) FROM runs").fetchone()
    for read_only in (False, True):
        with pytest.raises(StoreError, match="locked by another program") as err:
            ResultsStore(path, read_only=read_only, timeout=0.1)
        assert err.value.reason == "locked" and err.value.path == path and str(path) in str(err.value)
    holder.close()
    assert ResultsStore(path, read_only=True).runs().empty


def test_read_only_open_mode(tmp_path):
    path = tmp_path / "r.sqlite"
    with pytest.raises(StoreError, match="does not exist") as err:
        ResultsStore(path, read_only=True)
    assert err.value.reason == "missing" and not path.exists()
    writer = ResultsStore(path)
    run_id, _ = fill(writer, make_spec(), 1)
    writer.close()
    reader = ResultsStore(path, read_only=True)
    assert reader.done_images(run_id) == {"img0"}
    with pytest.raises(StoreError, match="read-only") as err:
        reader.finish_run(run_id)
    assert err.value.reason == "read-only" and str(path) in str(err.value)


UNPRIVILEGED_CHECK = """
import sys
from gald_viz.store import ResultsStore, StoreError
store = ResultsStore(sys.argv[1])
print("runs", len(store.runs()))
try:
    store.finish_run(sys.argv[2])
except StoreError as exc:
    print("reason", exc.reason)
    print("message", exc)
"""


def drop_root_file_override() -> None:
    """In a child process run as root: give up CAP_DAC_OVERRIDE, so permission bits apply to it too."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE) failed")


def unprivileged(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``script`` in a child Python that obeys permission bits (as root: without CAP_DAC_OVERRIDE)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        preexec_fn=drop_root_file_override if os.geteuid() == 0 else None,
    )


def test_write_protected_file(tmp_path):
    """A chmod 444 database file opened for writing.

    The suite runs as root here, and root ignores permission bits (CAP_DAC_OVERRIDE), so a chmod cannot
    protect a file from the test process itself. The check runs in a child process that drops
    CAP_DAC_OVERRIDE from its capability bounding set before exec: the new root process then obeys
    permission bits like any user. Run by a normal user, the child needs no change.
    """
    path = tmp_path / "r.sqlite"
    with ResultsStore(path) as writer:
        run_id, _ = fill(writer, make_spec(), 1)
    path.chmod(0o444)
    out = unprivileged(UNPRIVILEGED_CHECK, str(path), run_id)
    assert out.returncode == 0, out.stderr
    assert "runs 1" in out.stdout  # still readable
    assert "reason read-only" in out.stdout and str(path) in out.stdout


@pytest.mark.parametrize("damage", ["random", "pages"])
def test_corrupt_file(tmp_path, damage):
    path = tmp_path / "r.sqlite"
    rng = np.random.default_rng(3)
    if damage == "random":
        path.write_bytes(rng.integers(0, 256, 8192, dtype=np.uint8).tobytes())
    else:
        with ResultsStore(path) as writer:
            fill(writer, make_spec(), 3)
        data = bytearray(path.read_bytes())
        data[4096:] = rng.integers(0, 256, len(data) - 4096, dtype=np.uint8).tobytes()
        path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as err:  # at open or at the first query, never a raw sqlite3 error
        runs.table_v(ResultsStore(path, read_only=True), "x")
    assert err.value.reason == "corrupt" and str(path) in str(err.value)


def test_foreign_and_newer_databases(tmp_path):
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(StoreError, match="not a gald-viz results database.*notes"):
        ResultsStore(foreign)
    newer = tmp_path / "newer.sqlite"
    ResultsStore(newer).close()
    with sqlite3.connect(newer) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="schema version") as err:
        ResultsStore(newer)
    assert err.value.reason == "schema"
    older = tmp_path / "older.sqlite"
    with sqlite3.connect(older) as con:
        con.execute("CREATE TABLE runs (run_id TEXT)")
        con.execute("PRAGMA user_version = 1")
    for read_only in (False, True):
        with pytest.raises(StoreError, match="version 1, from an older gald-viz.*run the evaluations") as err:
            ResultsStore(older, read_only=read_only)
        assert err.value.reason == "schema" and str(older) in str(err.value)
    with pytest.raises(StoreError, match="folder"):
        ResultsStore(tmp_path)


def test_run_lock_is_exclusive_and_clears_stale_temporary_files(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    stale = tmp_path / "predictions" / "run1" / ".img0.png.123.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a png")
    with store.run_lock("run1"):
        assert not stale.exists()
        with pytest.raises(StoreError, match="another process") as err, store.run_lock("run1"):
            pass
        assert err.value.reason == "busy"
    with store.run_lock("run1"):
        pass


def test_prediction_filenames_stay_unique():
    names = ["a/b", "a_b", "a b", ".hidden", "frankfurt_000000_000294"]
    files = [prediction_filename(n) for n in names]
    assert len(set(files)) == len(names)
    assert all("/" not in f and not f.startswith(".") and f.endswith(".png") for f in files)


READ_ONLY_FOLDER_CHECK = """
import sys
from gald_viz.store import ResultsStore, StoreError
try:
    store = ResultsStore(sys.argv[1], read_only=True)
    print("runs", len(store.runs()), "images", len(store.images(sys.argv[2])), "immutable", store.immutable)
except StoreError as exc:
    print("reason", exc.reason)
    print("message", exc)
"""


def _in_read_only_folder(path: Path, run_id: str) -> str:
    """Open the store read-only in a child process that obeys permission bits, its folder chmod 555."""
    path.parent.chmod(0o555)
    try:
        out = unprivileged(READ_ONLY_FOLDER_CHECK, str(path), run_id)
    finally:
        path.parent.chmod(0o755)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_finished_store_reads_from_a_read_only_folder(tmp_path):
    """Issue 13.9: a WAL reader needs to create ``-shm``; on read-only media the store opens immutable.

    As in :func:`test_write_protected_file`, the child drops CAP_DAC_OVERRIDE, so the chmod 555 folder
    refuses it the ``-shm`` file exactly as read-only media does (``mode=ro`` alone fails there).
    """
    path = tmp_path / "ro" / "r.sqlite"
    with ResultsStore(path) as writer:
        run_id, _ = fill(writer, make_spec(), 2)
    assert not path.with_name("r.sqlite-shm").exists()
    assert "runs 1 images 2 immutable True" in _in_read_only_folder(path, run_id)
    with ResultsStore(path, read_only=True) as writable_folder:
        assert not writable_folder.immutable  # a writable folder keeps the ordinary WAL reader


def test_read_only_folder_with_unfolded_wal_is_refused(tmp_path):
    """A copy whose ``-wal`` still holds pages (its writer never closed) would read stale: refused."""
    live = tmp_path / "live" / "r.sqlite"
    writer = ResultsStore(live)
    run_id, _ = fill(writer, make_spec(), 1)
    copy = tmp_path / "copy" / "r.sqlite"
    copy.parent.mkdir()
    for suffix in ("", "-wal"):
        copy.with_name(copy.name + suffix).write_bytes(live.with_name(live.name + suffix).read_bytes())
    writer.close()
    assert copy.with_name("r.sqlite-wal").stat().st_size > 0
    out = _in_read_only_folder(copy, run_id)
    assert "reason read-only" in out and "r.sqlite-wal still holds changes" in out, out
