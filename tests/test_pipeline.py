"""The pipelined job and sweeps store what the sequential job stores, row for row (real SQLite, real PNGs)."""

import sqlite3
from pathlib import Path

import numpy as np
import pytest
import torch
from test_jobs import DATA, dump

from gald_viz.checkpoints import save_model
from gald_viz.data.sources import open_source
from gald_viz.evaluate import main
from gald_viz.inference import class_argmax, forward_input, model_input, native_logits, predict
from gald_viz.jobs import JobError, run_job
from gald_viz.models import build_model
from gald_viz.pipeline import PipelineOptions, run_sweep

SEQUENTIAL = PipelineOptions(workers=0)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("ckpt")
    paths = {}
    for seed, arch in enumerate(("aspp_ldv2", "aspp", "aspp_ldv1")):
        torch.manual_seed(seed)
        paths[arch] = folder / f"{arch}.safetensors"
        save_model(build_model(arch, backbone="small", head_channels=32), paths[arch])
    return paths


def test_pipelined_job_stores_the_sequential_jobs_rows_blobs_and_pngs(tmp_path, checkpoints):
    ga, gald = str(checkpoints["aspp"]), str(checkpoints["aspp_ldv2"])
    stores = {}
    for name, options in (("seq", SEQUENTIAL), ("pipe", PipelineOptions(workers=2))):
        db = tmp_path / name / "r.sqlite"
        for model in (ga, gald):  # the second run stores four-way pair rows in its transactions
            run_job(model, DATA, limit=5, device="cpu", db=db, progress=False, options=options)
        stores[name] = dump(db)
    seq, pipe = stores["seq"], stores["pipe"]
    assert len(seq["images"]) == 10 and len(seq["pair_arrays"]) > 0 and len(seq["pngs"]) == 10
    for key in seq:
        assert pipe[key] == seq[key], key


def test_pipelined_job_resumes_a_sequential_run_and_adds_nothing_on_rerun(tmp_path, checkpoints):
    model = str(checkpoints["aspp_ldv1"])
    ref = tmp_path / "ref" / "r.sqlite"
    run_job(model, DATA, limit=5, device="cpu", db=ref, progress=False, options=SEQUENTIAL)
    db = tmp_path / "resumed" / "r.sqlite"
    run_job(model, DATA, limit=5, device="cpu", db=db, progress=False, options=SEQUENTIAL)
    con = sqlite3.connect(db)  # a run killed after its first 2 images
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("DELETE FROM image_arrays WHERE image IN (SELECT image FROM images WHERE position >= 2)")
    con.execute("DELETE FROM images WHERE position >= 2")
    con.commit()
    con.close()
    calls = []
    options = PipelineOptions(workers=2)
    run_job(model, DATA, limit=5, device="cpu", db=db, progress=lambda *a: calls.append(a), options=options)
    assert calls[0] == (2, 5, None) and [c[0] for c in calls[1:]] == [3, 4, 5]
    assert dump(db) == dump(ref)
    calls.clear()
    run_job(model, DATA, limit=5, device="cpu", db=db, progress=lambda *a: calls.append(a), options=options)
    assert calls == [(5, 5, None)]


def test_batched_forward_equals_one_image_forwards_within_float_tolerance(checkpoints):
    torch.manual_seed(0)
    net = build_model("aspp_ldv2", backbone="small", head_channels=32)
    source = open_source(DATA, limit=3)
    images = [source[i].image for i in range(3)]
    batch = forward_input(net, torch.cat([model_input(net, im) for im in images]), device="cpu")
    for j, image in enumerate(images):
        one = forward_input(net, model_input(net, image), device="cpu")[0]
        np.testing.assert_allclose(batch[j].numpy(), one.numpy(), rtol=1e-4, atol=1e-4)
        # batch 1 is predict() exactly
        single = class_argmax(native_logits(one, image.shape[:2])).numpy()
        assert np.array_equal(single, predict(net, image, device="cpu"))
        batched = class_argmax(native_logits(batch[j], image.shape[:2])).numpy()
        assert np.mean(batched == single) > 0.999


def test_batched_job_scores_match_the_unbatched_run(tmp_path, checkpoints):
    model = str(checkpoints["aspp"])
    dbs = [tmp_path / f"{b}" / "r.sqlite" for b in (1, 3)]
    for batch, db in zip((1, 3), dbs, strict=True):
        run_job(model, DATA, limit=4, device="cpu", db=db, progress=False, options=PipelineOptions(2, batch))
    one, three = (dump(db) for db in dbs)
    assert [r[:5] for r in one["images"]] == [r[:5] for r in three["images"]]
    # same statistics per image; predictions agree on all but near-tie pixels
    assert [r[:3] for r in one["image_arrays"]] == [r[:3] for r in three["image_arrays"]]
    for name in one["pngs"]:
        import cv2

        a = cv2.imdecode(np.frombuffer(one["pngs"][name], np.uint8), cv2.IMREAD_UNCHANGED)
        b = cv2.imdecode(np.frombuffer(three["pngs"][name], np.uint8), cv2.IMREAD_UNCHANGED)
        assert np.mean(a == b) > 0.999, name


def test_amp_is_refused_on_the_cpu_with_a_clear_message(tmp_path, checkpoints, capsys):
    with pytest.raises(JobError, match="only on CUDA"):
        run_job(str(checkpoints["aspp"]), DATA, limit=1, device="cpu", db=tmp_path / "r.sqlite",
                progress=False, options=PipelineOptions(amp=True))  # fmt: skip
    argv = ["model", "--model", str(checkpoints["aspp"]), "--data", DATA, "--limit", "1", "--device", "cpu"]
    assert main([*argv, "--db", str(tmp_path / "c.sqlite"), "--amp"]) == 2
    assert "bfloat16 autocast runs only on CUDA" in capsys.readouterr().err
    with pytest.raises(JobError, match="batch=0"):
        PipelineOptions(batch=0)


def test_sweep_stores_what_evaluate_model_stores_per_model_and_resumes(tmp_path, checkpoints):
    models = [str(checkpoints[a]) for a in ("aspp", "aspp_ldv1", "aspp_ldv2")]
    ref = tmp_path / "ref" / "r.sqlite"
    for model in models:
        argv = ["model", "--model", model, "--data", DATA, "--limit", "4", "--device", "cpu"]
        assert main([*argv, "--db", str(ref)]) == 0
    db = tmp_path / "sweep" / "r.sqlite"
    # a first, shorter sweep then a killed-like partial state: resume stores the rest only
    first = run_sweep(models[:2], DATA, limit=4, device="cpu", db=db, progress=False)
    argv = ["sweep", "--models", *models, "--data", DATA, "--limit", "4", "--device", "cpu"]
    assert main([*argv, "--db", str(db)]) == 0
    got, want = dump(db), dump(ref)
    assert len(want["images"]) == 12 and len(want["pair_arrays"]) > 0
    for key in want:
        assert got[key] == want[key], key
    again = run_sweep(models, DATA, limit=4, device="cpu", db=db, progress=False)
    assert again[:2] == first
    assert dump(db) == want


def test_a_sweeps_runs_appear_on_the_boundary_f_and_mechanisms_pages(tmp_path, checkpoints):
    from gald_viz.store import ResultsStore
    from gald_viz.views import boundary_f as bf
    from gald_viz.views import mechanisms as mv

    db = tmp_path / "r.sqlite"
    ga, gald = run_sweep(
        [str(checkpoints["aspp"]), str(checkpoints["aspp_ldv2"])], DATA, limit=2, device="cpu", db=db,
        progress=False,
    )  # fmt: skip
    with ResultsStore(db, read_only=True) as store:
        stored = bf.stored_runs(str(db), lambda _: store)
        assert set(stored.run_ids) == {ga, gald} and "2/2 images" in stored.label(gald)
        table = bf.table(stored.store, [ga, gald], {}, bf.live_source("img", 64, 128), (64, 128))
        sources = set(table.full.index.get_level_values("source"))
        assert {f"store run {ga[:8]}", f"store run {gald[:8]}"} <= sources and table.warnings == []
        choices = mv.run_choices(stored.runs)
        assert choices.ga == [ga] and choices.gald(ga) == [gald]


def test_a_sweep_decodes_each_image_once(tmp_path, checkpoints, monkeypatch):
    from gald_viz import jobs

    reads = []
    real_open = jobs.open_source

    class Counting:
        def __init__(self, source):
            self.source, self.names = source, source.names

        def __len__(self):
            return len(self.source)

        def __getitem__(self, i):
            reads.append(i)
            return self.source[i]

        def describe(self):
            return self.source.describe()

    monkeypatch.setattr(jobs, "open_source", lambda *a, **k: Counting(real_open(*a, **k)))
    models = [str(checkpoints[a]) for a in ("aspp", "aspp_ldv1", "aspp_ldv2")]
    run_sweep(models, DATA, limit=3, device="cpu", db=tmp_path / "r.sqlite", progress=False)
    assert sorted(reads) == [0, 1, 2]
