"""Sharded evaluation: real torchrun ranks, --shard jobs and the merge, compared row for row with one process.

Every comparison reads the SQLite files directly (sqlite3) and compares every column of every row, and
the prediction PNGs byte for byte, with a one-process run of the same command. Only the wall-clock
columns (``runs.created_at``, ``runs.finished_at``, ``images.seconds``) are left out.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gald_viz import evaluate
from gald_viz.jobs import run_job
from gald_viz.mechanisms.cli import run_mechanisms
from gald_viz.sharding import Sharding, ShardingError, merge
from gald_viz.store import ImageResult, ResultsStore, RunSpec, Shard, StoreError

REPO = Path(__file__).resolve().parents[1]
DATA = "synthcity:val:size=64x128"
LIMIT = 5  # shard 0 of 2 takes images 0, 2, 4 and shard 1 images 1, 3
GA, GALD = "synthcity/fcn", "synthcity/aspp_ldv2"
RUN_COLUMNS = (
    "run_id, identity, model_name, checkpoint_path, checkpoint_sha256, arch, ld_kind, model_options,"
    " data_spec, data_description, data_limit, image_height, image_width, class_names, ignore_index,"
    " thresholds, radii_px, convention, device, n_planned, status, error"
)
TABLES = {
    "runs": f"SELECT {RUN_COLUMNS} FROM runs ORDER BY run_id",
    "images": "SELECT run_id, image, position, height, width, prediction_png FROM images ORDER BY 1, 3",
    # no ORDER BY: the rows as SQLite stores them (WITHOUT ROWID tables, in primary-key order)
    "image_arrays": "SELECT * FROM image_arrays",
    "pair_arrays": "SELECT * FROM pair_arrays",
    "tables": "SELECT type, name, sql FROM sqlite_master ORDER BY name",
}


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def dump(db: Path) -> dict:
    """Every table's rows and every prediction PNG's bytes, read straight from the files."""
    out = {name: rows(db, sql) for name, sql in TABLES.items()}
    folder = db.parent / "predictions"
    out["pngs"] = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.png"))}
    return out


def assert_same(got: dict, want: dict) -> None:
    assert want["images"] and want["image_arrays"]  # something to compare
    for key in want:
        assert got[key] == want[key], key


@pytest.fixture(scope="module")
def reference(tmp_path_factory, one_thread) -> dict[str, Path]:
    """One-process runs (one thread, as the torchrun ranks): GA alone, and GALD then GA (paired)."""
    folder = tmp_path_factory.mktemp("reference")
    dbs = {"plain": folder / "plain" / "r.sqlite", "paired": folder / "paired" / "r.sqlite"}
    job = {"data": DATA, "limit": LIMIT, "device": "cpu", "progress": False}
    run_job(GA, db=dbs["plain"], **job)
    run_job(GALD, db=dbs["paired"], **job)
    run_job(GA, db=dbs["paired"], **job)
    assert rows(dbs["paired"], "SELECT COUNT(*) FROM pair_arrays")[0][0] == LIMIT  # fourway per image
    return dbs


def test_torchrun_ranks_merge_into_the_rows_of_one_process(tmp_path, reference):
    db = tmp_path / "r.sqlite"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "gald_viz.evaluate", "model", "--model", GA, "--data", DATA, "--limit", str(LIMIT),
        "--db", str(db),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_same(dump(db), dump(reference["plain"]))
    assert proc.stdout.count("mIoU") == 1  # rank 0 alone prints the summary
    (run_id,) = rows(db, "SELECT run_id FROM runs")[0]
    assert f"run {run_id}: finished, {LIMIT}/{LIMIT} images" in proc.stdout
    # Each rank wrote its own file, with the strided images and the whole run's identity.
    for k, positions in ((0, [0, 2, 4]), (1, [1, 3])):
        shard = Shard(k, 2).path(db)
        assert rows(shard, "SELECT position FROM images ORDER BY position") == [(p,) for p in positions]
        assert rows(shard, "SELECT run_id, shard, shards, pair_with FROM shard_runs") == [
            (run_id, k, 2, None)
        ]
        assert rows(shard, "SELECT identity, n_planned FROM runs") == rows(
            db, "SELECT identity, n_planned FROM runs"
        )
        # the merged timings are the shards' own
        assert set(rows(shard, "SELECT image, seconds FROM images")) <= set(
            rows(db, "SELECT image, seconds FROM images")
        )
    # Merging again (the same command rerun) changes nothing.
    before = dump(db)
    (again,) = merge(db)
    assert (again.copied, again.kept) == (0, LIMIT) and dump(db) == before


def test_shard_jobs_resume_and_merge_with_a_run_already_in_the_main_store(tmp_path, reference, capsys):
    """--shard K/N as separate jobs, one of them interrupted and resumed, one in another folder (another
    node's disk); the merge command copies its PNGs and pairs the merged GA run with the GALD run that
    the main store already holds, as the one-process GA job does."""
    db, elsewhere = tmp_path / "main" / "r.sqlite", tmp_path / "node2" / "r.sqlite"
    job = {"data": DATA, "limit": LIMIT, "device": "cpu"}
    run_job(GALD, db=db, progress=False, **job)
    flags = ["--data", DATA, "--limit", str(LIMIT), "--device", "cpu", "--db", str(db)]
    assert evaluate.main(["model", "--model", GA, *flags, "--shard", "0/2"]) == 0
    out = capsys.readouterr().out
    assert f"stored in {Shard(0, 2).path(db)}" in out and f"merge --db {db}" in out

    calls = []

    def interrupt_after_one(done: int, total: int, name: str | None) -> None:
        calls.append((done, total))
        if done == 1:
            raise KeyboardInterrupt  # as Ctrl-C would, after the first image is stored

    def record(done: int, total: int, name: str | None) -> None:
        calls.append((done, total))

    shard1 = Shard(1, 2)
    with pytest.raises(KeyboardInterrupt):
        run_job(GA, db=shard1.path(elsewhere), shard=shard1, progress=interrupt_after_one, **job)
    paths = [Shard(0, 2).path(db), shard1.path(elsewhere)]
    with pytest.raises(
        StoreError, match=r"holds 1 of the 2 images of shard 1/2 .*status failed.*resume"
    ) as err:
        merge(db, paths)
    assert str(shard1.path(elsewhere)) in str(err.value)
    assert rows(db, "SELECT COUNT(*) FROM runs")[0][0] == 1  # refused: the main store is untouched

    calls.clear()
    run_job(GA, db=shard1.path(elsewhere), shard=shard1, progress=record, **job)
    assert calls == [(1, 2), (2, 2)]  # resumed its own file: one image left
    assert evaluate.main(["merge", "--db", str(db), *map(str, paths)]) == 0
    assert "from 2 shards" in capsys.readouterr().out
    assert_same(dump(db), dump(reference["paired"]))
    assert rows(db, "SELECT COUNT(*) FROM pair_arrays")[0][0] == LIMIT


MECHANISMS = {"limit": 3, "bootstrap": 20, "interventions": ["ldv2.kernel=uniform"]}


@pytest.fixture(scope="module")
def mechanisms_reference(tmp_path_factory, one_thread) -> tuple[Path, dict]:
    """A one-process ``mechanisms`` run (GA synthcity/aspp, GALD synthcity/aspp_ldv2): store and report."""
    folder = tmp_path_factory.mktemp("mechanisms")
    report = run_mechanisms(
        "synthcity/aspp", GALD, DATA, json_out=folder / "m.json", db=folder / "r.sqlite", device="cpu",
        progress=False, **MECHANISMS,
    )  # fmt: skip
    return folder / "r.sqlite", report


def test_mechanisms_shard_jobs_merge_into_the_one_process_report(tmp_path, mechanisms_reference, one_thread):
    """``mechanisms --shard``: both jobs per shard (GALD paired with GA inside each shard file), merged."""
    reference, want = mechanisms_reference
    common = {"device": "cpu", "progress": False, **MECHANISMS}
    db = tmp_path / "r.sqlite"
    for k in (0, 1):
        sharding = Sharding(Shard(k, 2), "cpu")
        report = run_mechanisms(
            "synthcity/aspp", GALD, DATA, json_out=tmp_path / "x.json", db=db, sharding=sharding, **common
        )
        assert report is None  # a shard job writes no report
    ga, gald = want["runs"]["ga"], want["runs"]["gald"]
    with ResultsStore(Shard(1, 2).path(db), read_only=True) as shard1:
        assert shard1.shard_runs() == (Shard(1, 2), {ga: None, gald: ga})  # GALD's job had pair_with=GA
    assert [m.run_id for m in merge(db)] == [ga, gald]
    got = dump(db)
    assert_same(got, dump(reference))
    assert len(got["pair_arrays"]) == 2 * 3  # fourway and fourway_band per image
    again = run_mechanisms("synthcity/aspp", GALD, DATA, json_out=tmp_path / "m.json", db=db, **common)
    assert again == want


def test_mechanisms_under_torchrun_equal_the_one_process_run(tmp_path, mechanisms_reference):
    reference, want = mechanisms_reference
    db, out = tmp_path / "r.sqlite", tmp_path / "m.json"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
        "-m", "gald_viz.evaluate", "mechanisms", "--ga", "synthcity/aspp", "--gald", GALD, "--data", DATA,
        "--limit", "3", "--bootstrap", "20", "--interventions", "ldv2.kernel=uniform", "--db", str(db),
        "--json", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert_same(dump(db), dump(reference))
    assert json.loads(out.read_text()) == json.loads(json.dumps(want))
    assert proc.stdout.count(f"wrote {out}") == 1  # rank 0 alone writes the report


# -- refusals -------------------------------------------------------------------------------------------
def spec(fingerprint: str = "f1", n: int = 4) -> RunSpec:
    return RunSpec(
        model_name="m", checkpoint_path=None, checkpoint_sha256="ab" * 32, arch="fcn", ld_kind="none",
        model_options={}, data_spec="folders:/a,/b", data_description="d", data_limit=None, image_height=4,
        image_width=4, class_names=("a", "b"), ignore_index=255, thresholds=(1.0,), radii_px=(1,),
        convention="c", n_planned=n, data_fingerprint=fingerprint,
    )  # fmt: skip


def shard_store(path: Path, shard: Shard, run: RunSpec, images: int | None = None) -> str:
    """A shard store written through the store API: ``images`` of the shard's images (default all)."""
    with ResultsStore(path) as store:
        run_id = store.start_run(run, device="cpu")
        store.record_shard(run_id, shard, None)
        for i in list(shard.positions(run.n_planned))[:images]:
            png = store.save_prediction(run_id, f"img{i}", np.full((4, 4), i % 2, np.uint8))
            arrays = {"tp": np.array([i, 1]), "boundary_f": np.full((1, 2), i / 7)}
            store.add_image(run_id, ImageResult(f"img{i}", i, 4, 4, 0.1, arrays), prediction_png=png)
        store.finish_run(run_id, error=None if images is None else "KeyboardInterrupt: ")
    return run_id


def test_the_merge_refuses_shards_that_do_not_make_one_run(tmp_path):
    main = tmp_path / "r.sqlite"
    s0, s1 = Shard(0, 2).path(main), Shard(1, 2).path(main)
    shard_store(s0, Shard(0, 2), spec())
    shard_store(s1, Shard(1, 2), spec())
    other = tmp_path / "other"
    cases = {
        "missing": ([s0], rf"{s0} is shard 0/2, but shard 1 of 2 is missing \(r.shard-1-of-2.sqlite\)"),
        "twice": ([s0, s0, s1], rf"{s0} is given twice"),
        "main": ([s0, main], rf"{main} is the main store itself"),
    }
    shard_store(other / "a.sqlite", Shard(1, 3), spec())
    cases["counts"] = ([s0, other / "a.sqlite"], rf"{other / 'a.sqlite'} is shard 1/3 but {s0} is shard 0/2")
    shard_store(other / "b.sqlite", Shard(0, 2), spec())
    cases["duplicate"] = (
        [s0, s1, other / "b.sqlite"],
        rf"{other / 'b.sqlite'} holds shard 0/2, as does {s0}",
    )
    shard_store(other / "c.sqlite", Shard(1, 2), spec("f2"))
    cases["runs"] = (
        [s0, other / "c.sqlite"],
        rf"{other / 'c.sqlite'} holds run \w+ but {s0} holds run \w+: shards of different runs"
        r' \(data_fingerprint: "f1" vs "f2"\)',
    )
    shard_store(other / "d.sqlite", Shard(1, 2), spec(), images=1)
    cases["incomplete"] = (
        [s0, other / "d.sqlite"],
        rf"{other / 'd.sqlite'} holds 1 of the 2 images of shard 1/2",
    )
    with ResultsStore(other / "plain.sqlite") as store:
        store.start_run(spec(), device="cpu")
    cases["plain"] = ([other / "plain.sqlite", s1], rf"{other / 'plain.sqlite'} is not a shard store")
    for name, (paths, message) in cases.items():
        with pytest.raises(StoreError, match=message):
            merge(main, paths)
        assert rows(main, "SELECT COUNT(*) FROM runs") == [(0,)], name  # nothing written
    with pytest.raises(ShardingError, match="no shard stores given, and no r.shard-K-of-N.sqlite beside it"):
        merge(tmp_path / "nothing" / "r.sqlite")
    with pytest.raises(StoreError, match=f"{s1} is a shard store; merge shards into the main store"):
        merge(s1, [s0])
    # The command line says the same and exits 2.
    assert evaluate.main(["merge", "--db", str(main), str(s0)]) == 2
    # Both shards complete and the same run: merged, the rows being the shards' own.
    (run,) = merge(main)
    assert (run.shards, run.copied, run.kept) == (2, 4, 0)
    assert rows(main, "SELECT image, position FROM images ORDER BY position") == [
        (f"img{i}", i) for i in range(4)
    ]
    assert (
        rows(main, "SELECT data FROM image_arrays WHERE name = 'boundary_f' ORDER BY image")[3][0]
        == np.full((1, 2), 3 / 7).tobytes()
    )


def test_shard_flags_and_the_torchrun_environment(monkeypatch):
    for text, message in (("2/2", "need N >= 1 and 0 <= K < N"), ("x", "give K/N"), ("1/0", "need N >= 1")):
        with pytest.raises(ValueError, match=f"--shard {text}.*{message}"):
            Shard.parse(text)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    with pytest.raises(ShardingError, match="--shard 0/2 under torchrun"):
        Sharding.from_args("0/2", "cpu")
    with pytest.raises(ShardingError, match="LOCAL_RANK is not set"):
        Sharding.from_args(None, "cpu")
    monkeypatch.setenv("LOCAL_RANK", "1")
    sharding = Sharding.from_args(None, "auto" if not torch.cuda.is_available() else "cpu")
    assert (sharding.shard, sharding.device, sharding.torchrun, sharding.progress) == (
        Shard(1, 2),
        "cpu",
        True,
        False,
    )
    with pytest.raises(ShardingError, match="--device cuda:1 under torchrun"):
        Sharding.from_args(None, "cuda:1")


def test_shard_locks_let_shards_run_together_but_not_beside_a_one_process_job(tmp_path):
    store = ResultsStore(tmp_path / "r.sqlite")
    folder = tmp_path / "predictions" / "run1"
    folder.mkdir(parents=True)
    for name in ("a", "b"):
        (folder / f".{name}.png.123.tmp").write_bytes(b"partial")
    with store.run_lock("run1", Shard(0, 2), ["a"]), store.run_lock("run1", Shard(1, 2), []):
        # shard 0 removed its own stale temporary PNG only (shard 1 may be writing b's)
        assert sorted(p.name for p in folder.glob(".*.tmp")) == [".b.png.123.tmp"]
        for lock, busy in ((("run1",), "run run1 is being evaluated"), (("run1", Shard(0, 2)), "shard 0/2")):
            with pytest.raises(StoreError, match=busy) as err, store.run_lock(*lock):
                pass
            assert err.value.reason == "busy"
    with store.run_lock("run1"), pytest.raises(StoreError, match="being evaluated or merged"):  # noqa: SIM117
        with store.run_lock("run1", Shard(1, 2)):
            pass
