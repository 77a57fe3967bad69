"""Bad input everywhere (issue 7): each case is answered by a message naming the file or argument and the
problem, and unusual but valid input (RGBA, grey, palette, 16-bit, CMYK, 1×1 px, GPU-saved weights) works.

``test_<case>`` implements the row ``<case>``; ``case[param]`` rows are one parametrised test each
(:func:`test_table_lists_every_case` keeps table and tests in step). Where: lib = library call, cli = a
``python -m …`` subprocess, app = AppTest on a page (tiny random-init models replace the bundled ones).

| case                          | input                                   | where | expected              |
|-------------------------------|-----------------------------------------|-------|-----------------------|
| empty_image                   | 0-byte upload empty.png                 | lib   | "empty.png: … empty"  |
| truncated_image               | first half of a PNG                     | lib   | "…: truncated"        |
| not_an_image                  | text saved as notes.png                 | lib   | "notes.png: not an…"  |
| decompression_bomb            | PNG header claiming 60000×60000         | lib   | "bomb.png: … pixels"  |
| too_large_image               | 4097×8192 (4096×8192 still reads)       | lib   | "exceeds the limit"   |
| rgba_image                    | RGBA PNG                                | lib   | RGB, alpha dropped    |
| grey_image                    | 8-bit grey PNG                          | lib   | grey in all channels  |
| palette_image                 | palette PNG                             | lib   | palette colours       |
| sixteen_bit_image             | 16-bit grey and 48-bit RGB PNG          | lib   | scaled to 8 bits      |
| cmyk_image                    | CMYK TIFF and JPEG                      | lib   | the RGB it encodes    |
| one_pixel_image               | 1×1 image                               | lib   | predict/analyse 1×1   |
| below_network_minimum         | 50×7 image (< min_input_size 64)        | lib   | padded, 50×7 map      |
| label_size_mismatch           | label 16×9 for an image 16×8            | lib   | both files, sizes     |
| label_ids_outside_classes     | trainId label holding 40                | lib   | "values [40] are not" |
| label_ids_not_cityscapes      | gtFine_labelIds holding 250             | lib   | "values [250] are not"|
| colour_label_map              | RGB colour label                        | lib   | "single-channel"      |
| cityscapes_root_missing       | cityscapes:val:/…/nowhere               | lib   | "no such folder"      |
| cityscapes_without_gtfine     | leftImg8bit/ only                       | lib   | "missing folder"      |
| cityscapes_missing_city       | gtFine/val lacks a city                 | lib   | "city 'aachen'"       |
| pickle_payload[zip]           | torch.save of an object calling open()  | lib   | refused, never run    |
| pickle_payload[raw]           | raw pickle (protocol 2) calling open()  | lib   | refused, never run    |
| empty_checkpoint              | 0-byte .pt                              | lib   | "the file is empty"   |
| truncated_checkpoint[st]      | first half of a safetensors file        | lib   | "truncated"           |
| truncated_checkpoint[zip]     | first half of a torch.save zip          | lib   | "truncated"           |
| random_bytes_checkpoint       | 4 kB of random bytes                    | lib   | "not a checkpoint"    |
| checkpoint_header_0x80        | safetensors, header length byte 0x80    | lib   | loads, not a pickle   |
| foreign_state_dict            | state dict of an nn.Sequential          | lib   | layout, keys named    |
| wrong_num_classes             | project checkpoint with K = 5           | lib   | "predicts 5 classes"  |
| gpu_saved_state_dict          | official R50 dict saved from cuda:0     | lib   | loads on the CPU      |
| cuda_without_cuda             | device="cuda" without CUDA              | lib   | "CUDA is not avail…"  |
| db_locked                     | results DB locked by another process    | lib   | StoreError "locked"   |
| db_read_only                  | read-only results DB, run_job           | lib   | "read-only", readable |
| db_corrupt                    | garbage .sqlite                         | lib   | "not an SQLite…", kept|
| cli_evaluate_missing_folder   | folders --pred /…/nowhere               | cli   | exit 2, names --pred  |
| cli_label_size_mismatch       | folders, pred 16×8 vs gt 16×9           | cli   | exit 2, both files    |
| cli_truncated_label           | folders, truncated pred PNG             | cli   | exit 2, names file    |
| cli_gt_not_train_ids          | folders, GT holding id 77               | cli   | exit 2, names 77      |
| cli_evaluate_model[cuda]      | model --device cuda without CUDA        | cli   | exit 2, "CUDA"        |
| cli_evaluate_model[corrupt]   | model --db garbage.sqlite               | cli   | exit 2, DB kept       |
| cli_evaluate_model[pickle]    | model --model crafted pickle            | cli   | exit 2, never run     |
| cli_synthcity_out_is_a_file   | synthcity --out FILE                    | cli   | exit 2, names --out   |
| cli_synthcity_negative_count  | synthcity --count -3                    | cli   | exit 2, "count=-3"    |
| app_bad_upload[empty]         | 0-byte upload, then a good image        | app   | st.error names it     |
| app_bad_upload[truncated]     | truncated PNG upload, then a good one   | app   | st.error names it     |
| app_bad_upload[text]          | text upload, then a good image          | app   | st.error names it     |
| app_bad_upload[bomb]          | 60000×60000 header, then a good image   | app   | st.error names it     |
| app_unusual_uploads           | 16-bit, CMYK, RGBA uploads              | app   | shown, no error       |
| app_label_size_mismatch       | image + label of another size           | app   | st.error names label  |
| app_colour_label              | image + colour label                    | app   | st.error names label  |
| app_bad_checkpoint            | crafted pickle as the GA checkpoint     | app   | st.error, fallback    |
| app_cuda_choice               | device "cuda" without CUDA              | app   | warning, CPU          |
| app_db_locked                 | Boundary page, locked DB                | app   | warning, live rows    |
| app_db_read_only              | Boundary page, read-only DB, run a job  | app   | rows, error on write  |
| app_db_corrupt                | Boundary page, garbage DB               | app   | warning, live rows    |
| checkpoint_metadata_bomb[channels] | 230 B safetensors, head_channels=8000 | lib | "do not fit", < 5 s  |
| checkpoint_metadata_bomb[huge_channels] | head_channels=10^6               | lib   | bound named, < 5 s    |
| checkpoint_metadata_bomb[classes] | num_classes=10^8                    | lib   | bound named, < 5 s    |
| checkpoint_metadata_bomb[negative] | head_channels=-8                   | lib   | bound named, no trace |
| checkpoint_bad_options        | metadata input_scale=-1                 | lib   | "cannot build"        |
| checkpoint_stretched_tensor   | 1.5 kB .pth, fp16 value as 50000×50000  | lib   | "stretched", < 5 s    |
| checkpoint_too_large          | sparse file over MAX_CHECKPOINT_BYTES   | lib   | "GiB limit", not read |
| non_finite_weights[nan]       | project checkpoint with a NaN bias      | lib   | names the tensor      |
| non_finite_weights[inf]       | project checkpoint with an inf bias     | lib   | names the tensor      |
| non_finite_logits             | NaN weights in memory, predict          | lib   | names the model       |
| store_damaged_row[blob]       | image_arrays row with a 2-byte blob     | lib   | page warning, row     |
| store_damaged_row[classes]    | tp array with 50 classes (run has 19)   | lib   | page warning, row     |
| store_damaged_row[json]       | runs.thresholds holding broken JSON     | lib   | page warning, column  |
| store_prediction_with_foreign_class | stored prediction PNG holding 50  | lib   | StoreError, PNG named |
| gt_all_ignore[cli]            | folders CLI, GT all 255                 | cli   | warning names image   |
| gt_all_ignore[job]            | job over an all-255 label               | lib   | summary warns, flag   |
| gt_all_ignore[live]           | Boundary F live rows, GT all 255        | lib   | table warning         |
| cli_output_is_a_folder[json]  | folders --json DIR                      | cli   | exit 2 before work    |
| cli_output_is_a_folder[per_image] | folders --per-image DIR             | cli   | exit 2 before work    |
| synthcity_huge_size           | synthcity:val:size=60000x60000          | lib   | "at most … pixels"    |
| duplicate_stems_job           | job over a.png and a.jpg                | lib   | both named, no run    |
| upload_label_encoding[stray]  | upload, trainIds + one stray 26         | lib   | "ambiguous", refused  |
| upload_label_encoding[train_ids_40] | upload *_trainIds.png holding 40  | lib   | "values [40] are not" |
| upload_label_encoding[value_250] | upload holding 250                   | lib   | "values [250] are not"|
| upload_label_encoding[ids_below_19] | unnamed labelIds < 19 / named     | lib   | refused / decoded     |
| cli_ambiguous_labels          | model --data folders, unnamed 0-maps    | cli   | exit 2, file named    |
| app_compare_label_wrong_size  | Compare, image + label of another size  | app   | image shown unlabelled|
| app_compare_ga_in_gald_slot   | Compare, a GA-only model as GALD        | app   | warning names it      |
| app_compare_missing_folder    | Compare, folder source, empty/missing   | app   | main-area notice      |
| app_boundary_runs_unmatched   | Boundary, runs over different images    | app   | warning, common rows  |
| app_boundary_nothing_chosen   | Boundary, no classes and no export rows | app   | mean only, says so    |
| url_model_traversal           | ?ga=/etc/shadow&gald=../../etc/passwd   | app   | warning, defaults     |
| url_data_outside_roots        | ?data=folders:/etc,/etc                 | app   | warning, SynthCity    |
| url_bad_value[threshold]      | ?threshold=7                            | app   | warning names 7       |
| url_bad_value[pixel]          | ?x=-5&y=1e3                             | app   | warning, centre pixel |
| url_bad_value[count]          | ?data=synthcity:val:count=100000        | app   | warning, 20 images    |
| url_bad_value[inspect]        | ?inspect=both                           | app   | warning names both    |
| url_bad_value[upload]         | ?data=upload                            | app   | "upload it again"     |
| app_folder_outside_roots      | Images folder /etc, then a missing one  | app   | same refusal for both |
| app_db_symlink_out            | results DB through a link out of a root | app   | refused, none created |
| disguised_format[eps]         | EPS saved as photo.png                  | lib   | refused, no Ghostscript|
| disguised_format[gif]         | GIF saved as photo.png                  | lib   | "not an image file"   |
| disguised_format[tga]         | TGA saved as photo.png                  | lib   | "not an image file"   |
| unreadable_image              | image whose open() is denied            | lib   | "cannot be read (Per…"|
| checkpoint_bytes_not_echoed   | "SECRETpw" + 4 kB junk as a checkpoint  | lib   | no file bytes quoted  |
| cli_folders_disguised_format  | folders, an EPS as pred a.png           | cli   | exit 2, names a.png   |
| app_upload_eps                | EPS uploaded as street.png              | app   | st.error names it     |
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from torch import nn

from gald_viz.analysis import analyse
from gald_viz.checkpoints import CheckpointError, load_model, save_model
from gald_viz.data.cityscapes import CityscapesDataset, DatasetError, FolderPairs
from gald_viz.data.images import MAX_PIXELS, ImageReadError, read_image
from gald_viz.data.sources import SourceError, open_source
from gald_viz.inference import InferenceError, predict, resolve_device
from gald_viz.jobs import run_job
from gald_viz.models import build_model
from gald_viz.models.official import OfficialGALDNet
from gald_viz.store import ResultsStore, StoreError
from gald_viz.ui import sidebar, state

ROOT = Path(__file__).resolve().parent.parent
RGB = np.random.default_rng(7).integers(0, 256, (24, 32, 3), dtype=np.uint8)
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
TINY_DATA = "synthcity:val:size=64x128"
APP_TIMEOUT = 120


# -- helpers ------------------------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but holds almost no data (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def assert_user_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2, every needle in stderr, and no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr[-2000:])


class OpensAFile:
    """A pickle payload: unpickling it calls ``open(marker, "w")``, which leaves a file behind."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


HOLD_LOCK = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA locking_mode = EXCLUSIVE")
con.execute("BEGIN EXCLUSIVE")
con.execute("UPDATE runs SET status = status WHERE 0")
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def locked_by_another_process(db: Path):
    """Another process holds an exclusive lock on ``db`` until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@contextlib.contextmanager
def read_only(path: Path):
    """Make ``path`` read-only: mode 0444, and as root (who ignores modes) the immutable attribute."""
    path.chmod(0o444)
    immutable = False
    try:
        if os.geteuid() == 0:
            chattr = shutil.which("chattr")
            immutable = bool(chattr) and subprocess.run([chattr, "+i", str(path)]).returncode == 0
            if not immutable:
                pytest.skip("running as root without chattr +i: a file cannot be made read-only")
        yield
    finally:
        if immutable:
            subprocess.run([shutil.which("chattr"), "-i", str(path)], check=True)
        path.chmod(0o644)


def stored_run(db: Path, checkpoint: Path) -> str:
    """A results DB holding one finished run of a tiny model on one 64×128 SynthCity image."""
    return run_job(str(checkpoint), TINY_DATA, limit=1, device="cpu", db=db, progress=False)


@pytest.fixture(scope="module")
def tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return build_model("aspp_ldv2", head_channels=16, input_scale=0.5, probes=False, aux=False).eval()


@pytest.fixture(scope="module")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    """Random-init GA (aspp) and GALD (aspp_ldv2) models, small and at input_scale 0.25, as checkpoints."""
    folder = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    return {
        arch: save_model(
            build_model(arch, head_channels=16, input_scale=0.25), folder / f"{arch}.safetensors"
        )
        for arch in ("aspp", "aspp_ldv2")
    }


# -- the table ----------------------------------------------------------------------------------------
def _implemented_cases() -> set[str]:
    cases = set()
    for name, fn in globals().items():
        if not (name.startswith("test_") and callable(fn)) or name == "test_table_lists_every_case":
            continue
        params = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
        if params:
            cases |= {f"{name[5:]}[{value}]" for value in params[0].args[1]}
        else:
            cases.add(name[5:])
    return cases


def test_table_lists_every_case():
    rows = re.findall(r"^\| (\w+(?:\[\w+\])?) +\|", __doc__, flags=re.MULTILINE)
    rows = [r for r in rows if r != "case"]
    assert len(rows) == len(set(rows)) >= 20
    assert set(rows) == _implemented_cases()


# -- images -------------------------------------------------------------------------------------------
def test_empty_image():
    with pytest.raises(ImageReadError, match=r"^empty\.png: the file is empty"):
        read_image(b"", name="empty.png")


def test_truncated_image(tmp_path):
    data = encode(Image.fromarray(RGB))
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match=re.escape(str(path)) + ": the image data is truncated"):
        read_image(path)


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("meeting notes, not pixels\n" * 20)
    with pytest.raises(ImageReadError, match=re.escape(str(path)) + ": not an image file"):
        read_image(path)


def test_decompression_bomb(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(60000, 60000))
    with pytest.raises(ImageReadError, match=r"bomb\.png: .*(too many pixels|exceeds the limit)"):
        read_image(path)


def test_too_large_image(tmp_path):
    assert MAX_PIXELS == 4096 * 8192
    path = tmp_path / "huge.png"
    path.write_bytes(png_header_only(8192, 4097))
    with pytest.raises(ImageReadError, match=r"huge\.png: 8192x4097 = .* exceeds the limit of 33,554,432"):
        read_image(path)
    ok, encoded = cv2.imencode(".png", np.zeros((4096, 8192), np.uint8))
    assert read_image(encoded.tobytes(), name="largest.png").shape == (4096, 8192, 3)


def test_rgba_image():
    rgba = np.dstack([RGB, np.arange(RGB.shape[0] * RGB.shape[1], dtype=np.uint8).reshape(RGB.shape[:2])])
    np.testing.assert_array_equal(read_image(encode(Image.fromarray(rgba))), RGB)


def test_grey_image():
    grey = RGB[:, :, 0]
    np.testing.assert_array_equal(read_image(encode(Image.fromarray(grey))), np.dstack([grey] * 3))


def test_palette_image():
    indices = (RGB[:, :, 0] % 16).astype(np.uint8)
    palette = np.random.default_rng(1).integers(0, 256, (256, 3), dtype=np.uint8)
    image = Image.fromarray(indices, mode="L").convert("P")
    image.putpalette(palette.ravel().tolist())
    image.putdata(indices.ravel().tolist())
    np.testing.assert_array_equal(read_image(encode(image)), palette[indices])


def test_sixteen_bit_image():
    grey16 = (RGB[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)
    assert Image.open(io.BytesIO(encode(Image.fromarray(grey16)))).mode.startswith("I")
    np.testing.assert_array_equal(read_image(encode(Image.fromarray(grey16))), np.dstack([RGB[:, :, 0]] * 3))
    ok, rgb48 = cv2.imencode(".png", (RGB[:, :, ::-1].astype(np.uint16) * 257))
    np.testing.assert_array_equal(read_image(rgb48.tobytes()), RGB)


def test_cmyk_image():
    cmyk = Image.fromarray(RGB).convert("CMYK")
    np.testing.assert_array_equal(read_image(encode(cmyk, "TIFF")), RGB)
    jpeg = read_image(encode(cmyk, "JPEG"))
    assert jpeg.shape == RGB.shape and np.abs(jpeg.astype(int) - RGB).mean() < 40


def test_one_pixel_image(tiny_model):
    image = read_image(encode(Image.fromarray(RGB[:1, :1])))
    assert image.shape == (1, 1, 3) and image.flags.writeable
    pred = predict(tiny_model, image, device="cpu")
    assert pred.shape == (1, 1) and pred.dtype == np.uint8 and pred[0, 0] < 19
    an = analyse(tiny_model, image, device="cpu")
    assert an.pred.shape == (1, 1) and an.affinity.shape[0] == 25


def test_below_network_minimum(tiny_model):
    image = np.ascontiguousarray(np.resize(RGB, (50, 7, 3)))
    assert min(image.shape[:2]) * tiny_model.input_scale < tiny_model.min_input_size
    pred = predict(tiny_model, image, device="cpu")
    assert pred.shape == (50, 7)
    np.testing.assert_array_equal(analyse(tiny_model, image, device="cpu").pred, pred)


# -- label maps and folders ---------------------------------------------------------------------------
def _folder_pair(tmp_path: Path, label: np.ndarray, label_name: str = "x.png") -> tuple[Path, Path]:
    images, labels = tmp_path / "img", tmp_path / "lab"
    images.mkdir()
    labels.mkdir()
    cv2.imwrite(str(images / "x.png"), np.zeros((8, 16, 3), np.uint8))
    cv2.imwrite(str(labels / label_name), label)
    return images, labels


def test_label_size_mismatch(tmp_path):
    images, labels = _folder_pair(tmp_path, np.zeros((9, 16), np.uint8))
    with pytest.raises(DatasetError) as err:
        FolderPairs(images, labels)[0]
    message = str(err.value)
    assert str(images / "x.png") in message and str(labels / "x.png") in message
    assert "16x8" in message and "16x9" in message


def test_label_ids_outside_classes(tmp_path):
    label = np.zeros((8, 16), np.uint8)
    label[0, 0] = 40
    images, labels = _folder_pair(tmp_path, label, "x_trainIds.png")
    with pytest.raises(
        DatasetError, match=re.escape(str(labels / "x_trainIds.png")) + r": values \[40\] are not"
    ):
        FolderPairs(images, labels)[0]


def _cityscapes(root: Path, *, gt: bool = True, gt_city: str = "aachen", label: np.ndarray | None = None):
    city = root / "leftImg8bit" / "val" / "aachen"
    city.mkdir(parents=True)
    cv2.imwrite(str(city / "aachen_000000_000019_leftImg8bit.png"), np.zeros((8, 16, 3), np.uint8))
    if gt:
        gt_dir = root / "gtFine" / "val" / gt_city
        gt_dir.mkdir(parents=True)
        ids = np.full((8, 16), 7, np.uint8) if label is None else label
        cv2.imwrite(str(gt_dir / "aachen_000000_000019_gtFine_labelIds.png"), ids)
    return root


def test_label_ids_not_cityscapes(tmp_path):
    label = np.full((8, 16), 7, np.uint8)
    label[2, 3] = 250
    root = _cityscapes(tmp_path / "cs", label=label)
    with pytest.raises(
        DatasetError, match=r"aachen_000000_000019_gtFine_labelIds\.png: values \[250\] are not"
    ):
        CityscapesDataset(root)[0]


def test_colour_label_map(tmp_path):
    images, labels = _folder_pair(
        tmp_path, np.dstack([np.full((8, 16), v, np.uint8) for v in (128, 64, 128)])
    )
    with pytest.raises(
        DatasetError, match=re.escape(str(labels / "x.png")) + ": a label map must be a single"
    ):
        FolderPairs(images, labels)[0]


def test_cityscapes_root_missing(tmp_path):
    with pytest.raises(SourceError, match=re.escape(str(tmp_path / "nowhere")) + ": no such folder"):
        open_source(f"cityscapes:val:{tmp_path / 'nowhere'}")


def test_cityscapes_without_gtfine(tmp_path):
    root = _cityscapes(tmp_path / "cs", gt=False)
    with pytest.raises(DatasetError, match="missing folder " + re.escape(str(root / "gtFine" / "val"))):
        CityscapesDataset(root)


def test_cityscapes_missing_city(tmp_path):
    root = _cityscapes(tmp_path / "cs", gt_city="bonn")
    with pytest.raises(
        DatasetError, match=r"city 'aachen': images in .* but no label folder .*gtFine/val/aachen"
    ):
        CityscapesDataset(root)


# -- checkpoints --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["zip", "raw"])
def test_pickle_payload(tmp_path, kind):
    marker = tmp_path / "payload_ran"
    path = tmp_path / f"evil.{kind}"
    if kind == "zip":
        torch.save({"weight": torch.zeros(2), "x": OpensAFile(marker)}, path)
    else:
        path.write_bytes(pickle.dumps({"x": OpensAFile(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*refused"):
        load_model(path)
    assert not marker.exists()


def test_empty_checkpoint(tmp_path):
    path = tmp_path / "empty.pt"
    path.touch()
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*: the file is empty"):
        load_model(path)


@pytest.mark.parametrize("kind", ["st", "zip"])
def test_truncated_checkpoint(tmp_path, tiny_model, kind):
    whole = tmp_path / "whole"
    if kind == "st":
        save_model(tiny_model, whole)
    else:
        torch.save(tiny_model.state_dict(), whole)
    data = whole.read_bytes()
    path = tmp_path / "cut.ckpt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*(damaged or truncated|truncated)"):
        load_model(path)


def test_random_bytes_checkpoint(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(b"\x13\x37" + np.random.default_rng(3).bytes(4094))
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*: not a checkpoint"):
        load_model(path)


def test_checkpoint_header_0x80(tmp_path, tiny_model):
    """A valid safetensors file whose u64 header length starts with 0x80 (pickle's first byte) loads."""
    path = tmp_path / "m.safetensors"
    for pad in range(256):
        save_model(tiny_model, path, note="x" * pad)
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    loaded = load_model(path)
    assert loaded.checkpoint_info["format"] == "project" and loaded.options == tiny_model.options


def test_foreign_state_dict(tmp_path):
    other = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 10, 1))
    path = tmp_path / "other_net.pt"
    torch.save(other.state_dict(), path)
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    message = str(err.value)
    assert str(path) in message and "does not fit the official GALD-Net layout" in message
    assert "unexpected keys" in message and "0.weight" in message


def test_wrong_num_classes(tmp_path):
    path = save_model(build_model("aspp", num_classes=5, head_channels=16), tmp_path / "k5.safetensors")
    with pytest.raises(CheckpointError, match=re.escape(str(path)) + ".*predicts 5 classes, expected 19"):
        load_model(path)


def test_gpu_saved_state_dict(tmp_path):
    with torch.device("meta"):
        shapes = OfficialGALDNet(num_classes=19).state_dict()
    state = {k: torch.full(v.shape, 0.5, dtype=v.dtype) for k, v in shapes.items()}
    path = tmp_path / "gald_r50_cityscapes.pth"
    # What the official trainer writes: torch.save of CUDA tensors (storage location tag "cuda:0").
    with mock.patch.object(torch.serialization, "location_tag", lambda storage: "cuda:0"):
        torch.save(state, path)
    assert b"cuda:0" in path.read_bytes()[:200_000]
    model = load_model(path, device="cpu")
    assert model.checkpoint_info["format"] == "official" and model.num_classes == 19
    assert {p.device.type for p in model.state_dict().values()} == {"cpu"}
    assert float(model.state_dict()["head.conva.0.weight"].mean()) == 0.5


@NO_CUDA
def test_cuda_without_cuda(tmp_path, tiny_model):
    for call in (
        lambda: resolve_device("cuda"),
        lambda: predict(tiny_model, RGB, device="cuda"),
        lambda: load_model(save_model(tiny_model, tmp_path / "m.safetensors"), device="cuda"),
    ):
        with pytest.raises(InferenceError, match=r"device='cuda': CUDA is not available on this machine"):
            call()


# -- results database ---------------------------------------------------------------------------------
def test_db_locked(tmp_path):
    db = tmp_path / "results.sqlite"
    ResultsStore(db).close()
    with locked_by_another_process(db), pytest.raises(StoreError) as err:
        ResultsStore(db, read_only=True, timeout=0.3).runs()
    assert err.value.reason == "locked" and str(db) in str(err.value) and "locked" in str(err.value)
    assert len(ResultsStore(db, read_only=True).runs()) == 0


def test_db_read_only(tmp_path, tiny_checkpoints):
    db = tmp_path / "results.sqlite"
    run_id = stored_run(db, tiny_checkpoints["aspp"])
    with read_only(db):
        with pytest.raises(StoreError) as err:
            run_job(
                str(tiny_checkpoints["aspp_ldv2"]), TINY_DATA, limit=1, device="cpu", db=db, progress=False
            )
        assert err.value.reason == "read-only" and str(db) in str(err.value)
        assert list(ResultsStore(db, read_only=True).runs()["run_id"]) == [run_id]


def test_db_corrupt(tmp_path):
    db = tmp_path / "results.sqlite"
    garbage = b"not a database at all " * 200
    db.write_bytes(garbage)
    for read_only_open in (False, True):
        with pytest.raises(StoreError) as err:
            ResultsStore(db, read_only=read_only_open)
        assert err.value.reason == "corrupt" and str(db) in str(err.value)
    assert db.read_bytes() == garbage


# -- command lines ------------------------------------------------------------------------------------
def _label_folders(tmp_path: Path, pred: np.ndarray, gt: np.ndarray) -> tuple[Path, Path]:
    pred_dir, gt_dir = tmp_path / "pred", tmp_path / "gt"
    pred_dir.mkdir()
    gt_dir.mkdir()
    cv2.imwrite(str(pred_dir / "a.png"), pred)
    cv2.imwrite(str(gt_dir / "a.png"), gt)
    return pred_dir, gt_dir


def test_cli_evaluate_missing_folder(tmp_path):
    _, gt_dir = _label_folders(tmp_path, np.zeros((8, 16), np.uint8), np.zeros((8, 16), np.uint8))
    nowhere = tmp_path / "nowhere"
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(nowhere), "--gt", str(gt_dir))
    assert_user_error(proc, f"--pred {nowhere}: no such folder")


def test_cli_label_size_mismatch(tmp_path):
    pred_dir, gt_dir = _label_folders(tmp_path, np.zeros((8, 16), np.uint8), np.zeros((9, 16), np.uint8))
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred_dir), "--gt", str(gt_dir))
    assert_user_error(proc, str(pred_dir / "a.png"), str(gt_dir / "a.png"), "8x16", "9x16")


def test_cli_truncated_label(tmp_path):
    pred_dir, gt_dir = _label_folders(tmp_path, RGB[:, :, 0], RGB[:, :, 1])
    data = (pred_dir / "a.png").read_bytes()
    (pred_dir / "a.png").write_bytes(data[: len(data) // 2])
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred_dir), "--gt", str(gt_dir))
    assert_user_error(proc, str(pred_dir / "a.png"), "truncated or corrupt")


def test_cli_gt_not_train_ids(tmp_path):
    gt = np.zeros((8, 16), np.uint8)
    gt[:, 8:] = 1
    gt[0, 0] = 77
    pred_dir, gt_dir = _label_folders(tmp_path, np.zeros((8, 16), np.uint8), gt)
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred_dir), "--gt", str(gt_dir))
    assert_user_error(proc, str(gt_dir / "a.png"), "77")


@pytest.mark.parametrize("fault", ["cuda", "corrupt", "pickle"])
def test_cli_evaluate_model(tmp_path, tiny_checkpoints, fault):
    if fault == "cuda" and torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    db, model, device = tmp_path / "results.sqlite", tiny_checkpoints["aspp"], "cpu"
    marker = tmp_path / "payload_ran"
    if fault == "cuda":
        device, needles = "cuda", ["device='cuda': CUDA is not available"]
    elif fault == "corrupt":
        db.write_bytes(b"garbage" * 500)
        needles = [str(db), "is not an SQLite database"]
    else:
        model = tmp_path / "evil.pt"
        torch.save({"x": OpensAFile(marker)}, model)
        needles = [str(model), "refused"]
    before = db.read_bytes() if db.exists() else None
    proc = cli(
        "gald_viz.evaluate", "model", "--model", str(model), "--data", TINY_DATA, "--limit", "1",
        "--device", device, "--db", str(db),
    )  # fmt: skip
    assert_user_error(proc, *needles)
    assert not marker.exists()
    if before is not None:
        assert db.read_bytes() == before


def test_cli_synthcity_out_is_a_file(tmp_path):
    out = tmp_path / "a_file"
    out.write_text("x")
    proc = cli(
        "gald_viz.data.synthcity", "--out", str(out), "--count", "1", "--height", "64", "--width", "128"
    )
    assert_user_error(proc, f"--out {out}")


def test_cli_synthcity_negative_count(tmp_path):
    proc = cli("gald_viz.data.synthcity", "--out", str(tmp_path / "sc"), "--count", "-3")
    assert_user_error(proc, "count=-3")
    assert not (tmp_path / "sc").exists()


# -- the app ------------------------------------------------------------------------------------------
@pytest.fixture
def app_models(monkeypatch, tiny_checkpoints) -> dict[str, Path]:
    """Make the tiny models the app's defaults (and fallbacks), so no bundled weights are needed."""
    ga, gald = str(tiny_checkpoints["aspp"]), str(tiny_checkpoints["aspp_ldv2"])
    for module in (state, sidebar):
        monkeypatch.setattr(module, "DEFAULT_GA_MODEL", ga)
        monkeypatch.setattr(module, "DEFAULT_GALD_MODEL", gald)
    return tiny_checkpoints


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=APP_TIMEOUT).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def upload(at: AppTest, image: tuple[str, bytes], label: tuple[str, bytes] | None = None) -> AppTest:
    if at.selectbox(key="sb.source").value != state.SOURCES[3]:
        at.selectbox(key="sb.source").set_value(state.SOURCES[3]).run()
    at.file_uploader(key="sb.upload").set_value((*image, "application/octet-stream"))
    at.file_uploader(key="sb.upload_label").set_value(None if label is None else (*label, "image/png"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def shown_image(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**Data:**"))


GOOD = ("street.png", encode(Image.fromarray(np.resize(RGB, (40, 60, 3)))))
BAD_UPLOADS = {
    "empty": ("empty.png", b"", "the file is empty"),
    "truncated": ("cut.png", GOOD[1][: len(GOOD[1]) // 2], "truncated"),
    "text": ("notes.png", b"not an image\n" * 50, "not an image file"),
    "bomb": ("bomb.png", png_header_only(60000, 60000), "pixels"),
}


@pytest.mark.parametrize("kind", list(BAD_UPLOADS))
def test_app_bad_upload(app_models, kind):
    name, data, problem = BAD_UPLOADS[kind]
    at = upload(open_page("home.py"), (name, data))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith(f"{name}:") and problem in errors[0], errors
    assert "synthcity" in shown_image(at)
    upload(at, GOOD)
    assert not at.error, [e.value for e in at.error]
    assert "**Image:** `street.png`, 60×40 px" in shown_image(at)


def test_app_unusual_uploads(app_models):
    at = open_page("home.py")
    grey16 = encode(Image.fromarray((RGB[:, :, 0].astype(np.uint16) * 257).astype(np.uint16)))
    cmyk = encode(Image.fromarray(RGB).convert("CMYK"), "TIFF")
    rgba = encode(Image.fromarray(np.dstack([RGB, RGB[:, :, 0]])))
    for name, data in (("deep.png", grey16), ("print.tiff", cmyk), ("alpha.png", rgba)):
        upload(at, (name, data))
        assert not at.error, [e.value for e in at.error]
        assert f"**Image:** `{name}`, 32×24 px" in shown_image(at)


def test_app_label_size_mismatch(app_models):
    label = encode(Image.fromarray(np.zeros((41, 60), np.uint8)))
    at = upload(open_page("home.py"), GOOD, ("street_trainIds.png", label))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("street_trainIds.png:"), errors
    assert "60×41" in errors[0] and "60×40" in errors[0]
    upload(at, GOOD)
    assert not at.error and "street.png" in shown_image(at)


def test_app_colour_label(app_models):
    colour = encode(Image.fromarray(np.resize(RGB, (40, 60, 3))))
    at = upload(open_page("home.py"), GOOD, ("street_gtFine_color.png", colour))
    errors = [e.value for e in at.error]
    assert (
        len(errors) == 1
        and errors[0].startswith("street_gtFine_color.png:")
        and "single-channel" in errors[0]
    )


def test_app_bad_checkpoint(app_models, tmp_path):
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.pt"
    torch.save({"x": OpensAFile(marker)}, evil)
    at = open_page("home.py")
    at.text_input(key="sb.ga_path").set_value(str(evil)).run()
    assert not at.exception, [e.message for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and str(evil) in errors[0] and "refused" in errors[0], errors
    assert not marker.exists()
    assert list(at.dataframe[0].value.index) == [str(app_models["aspp"]), str(app_models["aspp_ldv2"])]


@NO_CUDA
def test_app_cuda_choice(app_models):
    at = open_page("home.py")
    at.selectbox(key="sb.device").set_value("cuda").run()
    assert not at.exception and not at.error
    assert any("CUDA is not available" in w.value for w in at.warning)
    assert "**Device:** CPU" in "\n".join(m.value for m in at.markdown)


def _boundary_page(db: Path) -> AppTest:
    at = open_page("boundary_f.py")
    at.text_input(key="bf.db").set_value(str(db)).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _sources(at: AppTest) -> set[str]:
    """The ``source`` index level of the Table V frame (found by its index: st.dataframe has no key here)."""
    frames = [d.value for d in at.dataframe]
    table = next(f for f in frames if "source" in (f.index.names or []))
    return set(table.index.get_level_values("source"))


def test_app_db_locked(app_models, tmp_path):
    db = tmp_path / "results.sqlite"
    stored_run(db, app_models["aspp"])
    with locked_by_another_process(db):
        at = _boundary_page(db)
    assert not at.error, [e.value for e in at.error]
    assert any(str(db) in w.value and "locked" in w.value for w in at.warning), [w.value for w in at.warning]
    assert any(s.startswith("live") for s in _sources(at))


def test_app_db_read_only(app_models, tmp_path):
    db = tmp_path / "results.sqlite"
    stored_run(db, app_models["aspp"])
    with read_only(db):
        at = _boundary_page(db)
        assert not at.error and not at.warning, [w.value for w in at.warning]
        assert any(s.startswith("store run") for s in _sources(at))
        at.number_input(key="bf.job_images").set_value(1)
        at.button(key="bf.run_job").click().run()
        assert not at.exception, [e.message for e in at.exception]
        errors = [e.value for e in at.error]
        assert any(str(db) in e and "read-only" in e for e in errors), errors
        assert any(s.startswith("live") for s in _sources(at))


def test_app_db_corrupt(app_models, tmp_path):
    db = tmp_path / "results.sqlite"
    db.write_bytes(b"garbage" * 500)
    at = _boundary_page(db)
    assert not at.error, [e.value for e in at.error]
    assert any(str(db) in w.value and "not an SQLite database" in w.value for w in at.warning)
    assert any(s.startswith("live") for s in _sources(at))
    assert db.read_bytes() == b"garbage" * 500


# -- issue 13 (trust): library and command-line rows ---------------------------------------------------
def _project_file(path: Path, options: dict, num_classes: int = 19, arch: str = "aspp") -> Path:
    """A ~230-byte project safetensors: one tiny tensor and metadata asking for ``options``."""
    import json

    import safetensors.torch

    meta = {
        "gald_viz.format": "project",
        "gald_viz.arch": arch,
        "gald_viz.options": json.dumps(options),
        "gald_viz.num_classes": str(num_classes),
    }
    safetensors.torch.save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
    return path


def _refused_fast(path: Path, *needles: str) -> None:
    import time

    start = time.perf_counter()
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    assert time.perf_counter() - start < 5, "refusal must not build (allocate) the model first"
    for needle in (str(path), *needles):
        assert needle in str(err.value), (needle, str(err.value))


@pytest.mark.parametrize("kind", ["channels", "huge_channels", "classes", "negative"])
def test_checkpoint_metadata_bomb(tmp_path, kind):
    options, classes, needle = {
        "channels": ({"head_channels": 8000}, 19, "do not fit"),
        "huge_channels": ({"head_channels": 10**6}, 19, "head_channels=1000000"),
        "classes": ({}, 10**8, "num_classes=100000000"),
        "negative": ({"head_channels": -8}, 19, "head_channels=-8"),
    }[kind]
    _refused_fast(_project_file(tmp_path / "bomb.safetensors", options, classes), needle)


def test_checkpoint_bad_options(tmp_path):
    path = _project_file(tmp_path / "odd.safetensors", {"input_scale": -1, "backbone": "small"})
    _refused_fast(path, "cannot build")


def test_checkpoint_stretched_tensor(tmp_path):
    path = tmp_path / "stretched.pth"
    torch.save({"w": torch.zeros(1, dtype=torch.float16).expand(50000, 50000)}, path)
    assert path.stat().st_size < 4000
    _refused_fast(path, "(50000, 50000)", "stretched")


def test_checkpoint_too_large(tmp_path):
    from gald_viz.checkpoints import MAX_CHECKPOINT_BYTES

    path = tmp_path / "huge.pth"
    with open(path, "wb") as f:  # sparse: no disk used
        f.truncate(MAX_CHECKPOINT_BYTES + 1)
    _refused_fast(path, "GiB limit", "not read")


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_weights(tmp_path, value):
    torch.manual_seed(0)
    model = build_model("aspp", head_channels=16, probes=False, aux=False)
    with torch.no_grad():
        model.classifier[2].bias[3] = float(value)
    path = save_model(model, tmp_path / f"{value}.safetensors")
    with pytest.raises(CheckpointError, match=r"classifier\.2\.bias holds 1 non-finite") as err:
        load_model(path)
    assert str(path) in str(err.value)


def test_non_finite_logits(tiny_model):
    import copy

    broken = copy.deepcopy(tiny_model)
    broken.checkpoint_info = {"name": "broken.safetensors"}
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    with pytest.raises(InferenceError, match=r"model 'broken\.safetensors'.*NaN or inf"):
        predict(broken, RGB, device="cpu")


@pytest.mark.parametrize("damage", ["blob", "classes", "json"])
def test_store_damaged_row(tmp_path, tiny_checkpoints, damage):
    """Issue 13.10: a damaged row is a StoreError naming the store and the row; the page warns."""
    import sqlite3

    from gald_viz.store.arrays import encode
    from gald_viz.views import boundary_f as view

    db = tmp_path / "results.sqlite"
    run_id = stored_run(db, tiny_checkpoints["aspp"])
    con = sqlite3.connect(db)
    if damage == "blob":
        con.execute("UPDATE image_arrays SET data = x'0102' WHERE name = 'tp'")
    elif damage == "classes":
        dtype, shape, data = encode(np.ones(50, np.int64))
        con.execute("UPDATE image_arrays SET dtype=?, shape=?, data=? WHERE name='tp'", (dtype, shape, data))
    else:
        con.execute("UPDATE runs SET thresholds = '[0.1,'")
    con.commit()
    con.close()
    store = ResultsStore(db, read_only=True)
    stored = view.stored_runs(str(db), lambda path: store)
    if damage == "json":
        assert stored.store is None and str(db) in stored.warning and "column thresholds" in stored.warning
        return
    warnings = view.table(store, [run_id], {}, "live", (64, 128)).warnings
    assert len(warnings) == 1 and str(db) in warnings[0] and f"run {run_id}" in warnings[0], warnings
    assert "statistic tp" in warnings[0] and "damaged row" in warnings[0]
    from gald_viz.views.boundary_images import paired_images

    assert paired_images(store, [run_id], 3, "a", "b").warning


def test_store_prediction_with_foreign_class(tmp_path, tiny_checkpoints):
    """A stored prediction PNG holding class id 50 (of 19) is refused, naming the PNG and the run."""
    db = tmp_path / "results.sqlite"
    run_id = stored_run(db, tiny_checkpoints["aspp"])
    with ResultsStore(db) as store:
        image = store.images(run_id)["image"][0]
        path = store.prediction_path(run_id, image)
        Image.fromarray(np.full((64, 128), 50, np.uint8)).save(path)
        with pytest.raises(StoreError, match=r"holds class ids \[50\] but run .* has 19 classes") as err:
            store.load_prediction(run_id, image)
    assert str(path) in str(err.value) and err.value.reason == "corrupt"


def _all_ignore_folders(tmp_path: Path) -> tuple[Path, Path]:
    """folders:IMAGES,LABELS holding one 64×128 image whose ``*_trainIds`` label is all 255."""
    images, labels = tmp_path / "imgs", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    cv2.imwrite(str(images / "void.png"), np.full((64, 128, 3), 80, np.uint8))
    cv2.imwrite(str(labels / "void_trainIds.png"), np.full((64, 128), 255, np.uint8))
    return images, labels


@pytest.mark.parametrize("where", ["cli", "job", "live"])
def test_gt_all_ignore(tmp_path, tiny_checkpoints, where):
    """Issue 13.4: GT that is all ignore scores F = 100 % by convention; every output says so."""
    from gald_viz.jobs import summary_text
    from gald_viz.metrics import runs as run_tables
    from gald_viz.views import boundary_f as view
    from gald_viz.viz.compare import image_scores

    needle = "is all ignore (255)"
    if where == "cli":
        pred, gt = _label_folders(tmp_path, np.zeros((8, 16), np.uint8), np.full((8, 16), 255, np.uint8))
        proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred), "--gt", str(gt))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"warning: ground truth of 1 image(s) {needle}: a.png" in proc.stderr, proc.stderr
    elif where == "job":
        images, labels = _all_ignore_folders(tmp_path)
        db = tmp_path / "r.sqlite"
        run_id = run_job(str(tiny_checkpoints["aspp"]), f"folders:{images},{labels}", db=db, progress=False)
        assert f"{needle}: void." in summary_text(run_id, db)
        rows = run_tables.per_image(ResultsStore(db, read_only=True), run_id)
        assert rows["gt_all_ignore"].tolist() == [True]
    else:
        gt = np.full((64, 128), 255, np.uint8)
        live = {"GA": image_scores(np.zeros_like(gt), gt)}
        warnings = view.table(None, [], live, "live: void.png (128×64)", (64, 128)).warnings
        assert any(needle in w and "void.png" in w for w in warnings), warnings


@pytest.mark.parametrize("flag", ["json", "per_image"])
def test_cli_output_is_a_folder(tmp_path, flag):
    """Issue 13.10: an output path that cannot be written fails before the evaluation, naming the flag."""
    pred, gt = _label_folders(tmp_path, np.zeros((8, 16), np.uint8), np.zeros((8, 16), np.uint8))
    out = tmp_path / "out_dir"
    out.mkdir()
    option = "--json" if flag == "json" else "--per-image"
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred), "--gt", str(gt), option, str(out))
    assert_user_error(proc, f"{option} {out}: is a folder")
    assert "Boundary" not in proc.stdout and "IoU" not in proc.stdout  # no evaluation ran


def test_synthcity_huge_size():
    """Issue 13.10: size=60000x60000 would allocate 13 GiB: refused at once, naming the spec."""
    with pytest.raises(SourceError, match=r"'synthcity:val:size=60000x60000'.*at most 8388608 pixels"):
        open_source("synthcity:val:size=60000x60000")


def test_duplicate_stems_job(tmp_path, tiny_checkpoints):
    """Issue 13.10: ``a.png`` and ``a.jpg`` ended in an sqlite IntegrityError; now refused at open."""
    images, labels = _all_ignore_folders(tmp_path)
    cv2.imwrite(str(images / "void.jpg"), np.full((64, 128, 3), 80, np.uint8))
    db = tmp_path / "r.sqlite"
    with pytest.raises(SourceError, match=r"void\.jpg and void\.png both belong to image 'void'"):
        run_job(str(tiny_checkpoints["aspp"]), f"folders:{images},{labels}", db=db, progress=False)
    assert ResultsStore(db, read_only=True).runs().empty  # refused before any run was started


def _upload_label(label: np.ndarray, name: str):
    from gald_viz.ui.sidebar import _uploaded_sample

    class Upload:
        def __init__(self, file_name: str, data: bytes) -> None:
            self.name, self._data = file_name, data

        def getvalue(self) -> bytes:
            return self._data

    image = Upload("street.png", encode(Image.fromarray(np.zeros((*label.shape, 3), np.uint8))))
    return _uploaded_sample(image, Upload(name, encode(Image.fromarray(label))))


@pytest.mark.parametrize("kind", ["stray", "train_ids_40", "value_250", "ids_below_19"])
def test_upload_label_encoding(kind):
    """Issue 13.2: uploaded labels are decoded by name or unambiguous values, else refused by name."""
    label = np.resize(np.array([0, 1, 2, 8, 10, 13], np.uint8), (20, 60))
    name, pattern = {
        "stray": ("street.png", r"street\.png: the encoding is ambiguous: ids \[26\]"),
        "train_ids_40": ("street_trainIds.png", r"street_trainIds\.png: values \[40\] are not trainIds"),
        "value_250": ("street.png", r"street\.png: values \[250\] are not trainIds .* nor Cityscapes"),
        "ids_below_19": ("street.png", r"street\.png: the encoding is ambiguous: its values"),
    }[kind]
    label[0, 0] = {"stray": 26, "train_ids_40": 40, "value_250": 250, "ids_below_19": 7}[kind]
    with pytest.raises(ValueError, match=pattern):
        _upload_label(label, name)
    if kind == "ids_below_19":  # the same map, named, is decoded as its name says
        np.testing.assert_array_equal(_upload_label(label, "street_labelIds.png").label[0, :3], [0, 255, 255])


def test_cli_ambiguous_labels(tmp_path, tiny_checkpoints):
    """A job over unnamed labels that fit both encodings stops with the file and a request to choose."""
    images, labels = _all_ignore_folders(tmp_path)
    (labels / "void_trainIds.png").rename(labels / "void.png")
    cv2.imwrite(str(labels / "void.png"), np.zeros((64, 128), np.uint8))
    proc = cli(
        "gald_viz.evaluate", "model", "--model", str(tiny_checkpoints["aspp"]), "--data",
        f"folders:{images},{labels}", "--device", "cpu", "--db", str(tmp_path / "r.sqlite"),
    )  # fmt: skip
    assert_user_error(proc, str(labels / "void.png"), "ambiguous", "choose the encoding explicitly")


# -- Compare and Boundary F pages (issue 13, items 17-19) -------------------------------------------------
def test_app_compare_label_wrong_size(app_models):
    label = encode(Image.fromarray(np.zeros((41, 60), np.uint8)))
    at = upload(open_page("ga_vs_gald.py"), GOOD, ("street_trainIds.png", label))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("street_trainIds.png:") and "unlabelled" in errors[0]
    # The upload itself is shown (not SynthCity), without labels, and the page says what is missing.
    assert any(i.value.startswith("`street.png` has no ground truth") for i in at.info), [
        i.value for i in at.info
    ]
    assert not at.warning


def test_app_compare_ga_in_gald_slot(app_models):
    at = open_page("ga_vs_gald.py")
    at.selectbox(key="sb.gald_model").set_value(state.OTHER_CHECKPOINT).run()
    at.text_input(key="sb.gald_path").set_value(str(app_models["aspp"])).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    assert any(
        w.startswith("The GALD slot holds a model without local distribution (aspp)") for w in warnings
    )


def test_app_compare_missing_folder(app_models, tmp_path):
    at = open_page("ga_vs_gald.py")
    at.selectbox(key="sb.source").set_value(state.SOURCES[2]).run()
    assert not at.exception, [e.message for e in at.exception]  # both fields still empty: no crash
    at.text_input(key="sb.images_dir").set_value(str(tmp_path / "no_images")).run()
    assert not at.exception, [e.message for e in at.exception]  # the labels field still empty
    assert any("no_images" in e.value for e in at.sidebar.error), [e.value for e in at.sidebar.error]
    notice = [w.value for w in at.main.warning]
    assert any(w.startswith("The image and label folders could not be opened") for w in notice), notice


def test_app_boundary_runs_unmatched(app_models, tmp_path):
    db = tmp_path / "results.sqlite"
    run_job(str(app_models["aspp"]), TINY_DATA, limit=1, device="cpu", db=db, progress=False)
    run_job(str(app_models["aspp_ldv2"]), TINY_DATA, limit=2, device="cpu", db=db, progress=False)
    at = _boundary_page(db)
    assert not at.error, [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    assert "The two runs do not match: 1 image(s) scored by only one run are left out." in warnings, warnings
    rows = next(d.value for d in at.dataframe if "open" in d.value.columns)
    assert len(rows) == 1 and rows["open"].str.startswith("compare?page=compare&data=").all()
    assert any("not established (1 image(s))" in m.value for m in at.markdown)


def test_app_boundary_nothing_chosen(app_models, tmp_path):
    at = _boundary_page(tmp_path / "none.sqlite")
    at.multiselect(key="bf.classes").set_value([]).run()
    at.multiselect(key="bf.rows").set_value([]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "source" in (d.value.index.names or []))
    assert list(table.columns) == ["mean"]
    from gald_viz.views import boundary_f as view

    shown = view.table(None, [], {}, "live: x", (64, 128)).shown([], "(table order)", True)
    assert (
        view.Table(shown, [], [], "x").latex(shown, []).startswith("% Boundary F-score: no rows were chosen")
    )


# -- paths, links and formats (issue 13: items 6, 7, 10, 13) --------------------------------------------
EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n0 0 moveto 8 8 lineto stroke\nshowpage\n%%EOF\n"


def _link(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / page), default_timeout=APP_TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _link_warning(at: AppTest) -> str:
    texts = [w.value for w in at.warning if "could not be restored" in w.value]
    assert len(texts) == 1, [w.value for w in at.warning]
    return texts[0]


def _only_roots(monkeypatch, root: Path, models: dict[str, Path]) -> None:
    """The app's roots: ``root`` and the tiny models' folder (besides the working folder)."""
    root.mkdir(exist_ok=True)
    monkeypatch.setenv("GALD_VIZ_ROOTS", os.pathsep.join([str(root), str(models["aspp"].parent)]))


def test_url_model_traversal(app_models, tmp_path, monkeypatch):
    _only_roots(monkeypatch, tmp_path / "root", app_models)
    at = _link("home.py", ga="/etc/shadow", gald="../../etc/passwd")
    text = _link_warning(at)
    assert "'/etc/shadow': outside the folders" in text and "'../../etc/passwd': outside the folders" in text
    assert not at.error, [e.value for e in at.error]
    assert at.query_params["ga"] == state.DEFAULT_GA_MODEL


def test_url_data_outside_roots(app_models, tmp_path, monkeypatch):
    _only_roots(monkeypatch, tmp_path / "root", app_models)
    at = _link("home.py", data="folders:/etc,/etc", image="passwd")
    text = _link_warning(at)
    assert "Images folder '/etc': outside the folders" in text and "image 'passwd' is not among" in text
    assert at.selectbox(key="sb.source").value == state.SOURCES[0]
    assert "passwd" not in "\n".join(m.value for m in at.markdown)


BAD_URL_VALUES = {
    "threshold": ({"threshold": "7"}, "tolerance '7': not one of 3/5/9/12 px"),
    "pixel": ({"x": "-5", "y": "1e3"}, "pixel x='-5', y='1e3': not a pixel"),
    "count": ({"data": "synthcity:val:count=100000"}, "SynthCity val at 1024×2048, seed 0, 1–500 images"),
    "inspect": ({"inspect": "both"}, "inspect 'both': not one of gald, ga"),
    "upload": ({"data": "upload"}, "upload it again"),
}


@pytest.mark.parametrize("value", list(BAD_URL_VALUES))
def test_url_bad_value(app_models, value):
    params, problem = BAD_URL_VALUES[value]
    at = _link("home.py", **params)
    assert problem in _link_warning(at)
    assert at.number_input(key="sb.synthcity_count").value == state.DEFAULT_SYNTHCITY_COUNT


def test_app_folder_outside_roots(app_models, tmp_path, monkeypatch):
    _only_roots(monkeypatch, tmp_path / "root", app_models)
    (tmp_path / "x_exists").mkdir()
    Image.fromarray(RGB).save(tmp_path / "x_exists" / "a.png")
    at = open_page("home.py")
    at.selectbox(key="sb.source").set_value(state.SOURCES[2]).run()
    messages = []
    for folder in (tmp_path / "x_exists", tmp_path / "x_missing"):
        at.text_input(key="sb.images_dir").set_value(str(folder)).run()
        at.text_input(key="sb.labels_dir").set_value(str(folder)).run()
        assert not at.exception, [e.message for e in at.exception]
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and f"Images folder {str(folder)!r}: outside" in errors[0], errors
        messages.append(errors[0].replace(folder.name, "NAME"))
    assert messages[0] == messages[1]  # existence is not revealed
    assert "synthcity" in shown_image(at)


def test_app_db_symlink_out(app_models, tmp_path, monkeypatch):
    root, outside = tmp_path / "root", tmp_path / "outside"
    _only_roots(monkeypatch, root, app_models)
    outside.mkdir()
    (root / "link").symlink_to(outside)
    at = _boundary_page(root / "link" / "results.sqlite")
    assert any("Results database" in w.value and "outside the folders" in w.value for w in at.warning)
    at.number_input(key="bf.job_images").set_value(1)
    at.button(key="bf.run_job").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(e.value.startswith("Evaluation failed: Results database") for e in at.error)
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("fmt", ["eps", "gif", "tga"])
def test_disguised_format(tmp_path, monkeypatch, fmt):
    from PIL import EpsImagePlugin

    data = EPS if fmt == "eps" else encode(Image.fromarray(RGB), fmt.upper())
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    started = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: started.append(a))
    with pytest.raises(ImageReadError, match=re.escape(str(path)) + ": not an image file of a supported"):
        read_image(path)
    assert started == []


def test_unreadable_image(tmp_path, monkeypatch):
    import builtins

    path = tmp_path / "locked.png"
    Image.fromarray(RGB).save(path)
    real_open = builtins.open

    def denied(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    with pytest.raises(
        ImageReadError, match=re.escape(str(path)) + r": cannot be read \(Permission denied\)"
    ):
        read_image(path)


def test_checkpoint_bytes_not_echoed(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"SECRETpw" + np.random.default_rng(3).bytes(4096))
    with pytest.raises(CheckpointError, match="not a checkpoint") as err:
        load_model(path)
    assert "SECRET" not in str(err.value) and "\\x" not in str(err.value)


def test_cli_folders_disguised_format(tmp_path):
    pred_dir, gt_dir = _label_folders(tmp_path, RGB[:, :, 0], RGB[:, :, 1])
    (pred_dir / "a.png").write_bytes(EPS)
    proc = cli("gald_viz.evaluate", "folders", "--pred", str(pred_dir), "--gt", str(gt_dir))
    assert_user_error(proc, str(pred_dir / "a.png"), "not an image file of a supported format")


def test_app_upload_eps(app_models):
    at = upload(open_page("home.py"), ("street.png", EPS))
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("street.png: not an image file of a supported"), errors
    assert "PS-Adobe" not in errors[0]
