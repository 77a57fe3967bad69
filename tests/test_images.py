"""read_image / read_label_map: formats, modes, EXIF orientation, and clear refusals."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from gald_viz.data.images import MAX_PIXELS, ImageReadError, read_image, read_label_map

RGB = np.random.default_rng(0).integers(0, 256, (12, 16, 3), dtype=np.uint8)


def _save(tmp_path, image: Image.Image, name: str, **kwargs):
    path = tmp_path / name
    image.save(path, **kwargs)
    return path


@pytest.mark.parametrize("name", ["a.png", "a.bmp", "a.tiff"])
def test_lossless_formats_round_trip(tmp_path, name):
    path = _save(tmp_path, Image.fromarray(RGB), name)
    got = read_image(path)
    assert got.dtype == np.uint8 and got.shape == (12, 16, 3)
    np.testing.assert_array_equal(got, RGB)


def test_jpeg_and_bytes_input(tmp_path):
    flat = np.full((16, 16, 3), (200, 60, 30), np.uint8)
    data = io.BytesIO()
    Image.fromarray(flat).save(data, format="JPEG", quality=95)
    got = read_image(data.getvalue(), name="upload.jpg")
    assert np.abs(got.astype(int) - flat).max() <= 4


def test_rgba_drops_alpha(tmp_path):
    rgba = np.dstack([RGB, np.full((12, 16), 7, np.uint8)])
    np.testing.assert_array_equal(read_image(_save(tmp_path, Image.fromarray(rgba), "a.png")), RGB)


def test_grey_becomes_three_equal_channels(tmp_path):
    grey = RGB[:, :, 0]
    got = read_image(_save(tmp_path, Image.fromarray(grey), "g.png"))
    for c in range(3):
        np.testing.assert_array_equal(got[:, :, c], grey)


def test_palette_image_gives_palette_colours(tmp_path):
    pal = Image.new("P", (4, 2))
    pal.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    pal.putdata([0, 1, 1, 0, 1, 0, 0, 1])
    got = read_image(_save(tmp_path, pal, "p.png"))
    assert got[0, 0].tolist() == [10, 20, 30] and got[0, 1].tolist() == [200, 100, 50]


def test_16_bit_grey_is_scaled_to_8_bits(tmp_path):
    values = np.array([[0, 1000, 65535, 32896]], np.uint16)
    img = Image.fromarray(values)
    assert img.mode.startswith("I")
    got = read_image(_save(tmp_path, img, "d.png"))
    assert got[0, :, 0].tolist() == [0, 4, 255, 128]


def test_cmyk_is_converted_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (8, 8), (255, 0, 0, 0))  # pure cyan ink
    got = read_image(_save(tmp_path, cmyk, "c.tiff"))
    assert got[0, 0].tolist() == [0, 255, 255]


def test_exif_orientation_turns_the_image_upright(tmp_path):
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:5, :5] = (255, 0, 0)  # red mark in the stored top-left
    img = Image.fromarray(stored)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    got = read_image(_save(tmp_path, img, "e.jpg", exif=exif, quality=95))
    assert got.shape == (40, 20, 3)
    assert got[1, -2, 0] > 200 and got[1, 1, 0] < 60  # the mark is now top-right


def test_empty_file_is_refused_by_name(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.png.*empty"):
        read_image(path)
    with pytest.raises(ImageReadError, match="upload.png"):
        read_image(b"", name="upload.png")


def test_truncated_file_is_refused(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageReadError, match=r"cut\.png.*truncated"):
        read_image(path)


def test_non_image_and_missing_files_are_refused(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError, match=r"notes\.png.*not an image"):
        read_image(path)
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "missing.png")
    assert issubclass(ImageReadError, ValueError)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds almost no data (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [9000, 60000])
def test_decompression_bombs_are_refused_before_decoding(tmp_path, side):
    assert side * side > MAX_PIXELS
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(ImageReadError, match=r"bomb\.png.*(pixels|decompression)"):
        read_image(path)


def test_pixel_limit_is_a_parameter(tmp_path):
    path = _save(tmp_path, Image.fromarray(RGB), "a.png")
    with pytest.raises(ImageReadError, match="exceeds the limit of 100 pixels"):
        read_image(path, max_pixels=100)


def test_label_maps_keep_ids(tmp_path):
    ids = np.array([[0, 7, 255], [18, 33, 1]], np.uint8)
    np.testing.assert_array_equal(read_label_map(_save(tmp_path, Image.fromarray(ids), "l.png")), ids)
    pal = Image.fromarray(ids, mode="L").convert("P")
    pal.putpalette([(i * 7) % 256 for i in range(768)])
    pal.putdata(ids.ravel().tolist())
    np.testing.assert_array_equal(read_label_map(_save(tmp_path, pal, "p.png")), ids)
    wide = Image.fromarray(ids.astype(np.uint16))
    np.testing.assert_array_equal(read_label_map(_save(tmp_path, wide, "w.png")), ids)


def test_label_maps_refuse_colour_and_out_of_range_ids(tmp_path):
    with pytest.raises(ImageReadError, match="single-channel"):
        read_label_map(_save(tmp_path, Image.fromarray(RGB), "colour.png"))
    big = Image.fromarray(np.array([[0, 300]], np.uint16))
    with pytest.raises(ImageReadError, match=r"big\.png.*0\.\.255"):
        read_label_map(_save(tmp_path, big, "big.png"))


def test_write_png_round_trips_ids_and_rgb(tmp_path):
    from gald_viz.data.images import encode_jpeg, write_png

    rng = np.random.default_rng(0)
    ids = rng.integers(0, 256, (7, 9), dtype=np.uint8)
    rgb = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    write_png(tmp_path / "a" / "ids.png", ids, atomic=True)
    write_png(tmp_path / "rgb.png", rgb)
    np.testing.assert_array_equal(read_label_map(tmp_path / "a" / "ids.png"), ids)
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["ids.png"]  # no temporary left behind
    assert read_image(encode_jpeg(rgb)).shape == rgb.shape


def test_write_png_refuses_what_it_cannot_store_losslessly(tmp_path):
    from gald_viz.data.images import write_png

    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "x.png", np.zeros((2, 2), np.int32))
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "x.png", np.zeros((2, 2, 4), np.uint8))
    assert not (tmp_path / "x.png").exists()


EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n0 0 moveto 10 10 lineto stroke\nshowpage\n%%EOF\n"


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("EPS", EPS),
        ("GIF", None),
        ("PPM", None),
        ("ICO", None),
        ("TGA", None),
    ],
)
def test_other_pillow_formats_named_png_are_refused_by_content(tmp_path, monkeypatch, fmt, data):
    """No other Pillow plugin is ever asked (an EPS would start Ghostscript wherever it is installed)."""
    if data is None:
        buf = io.BytesIO()
        Image.fromarray(RGB).save(buf, fmt)
        data = buf.getvalue()
    path = tmp_path / "photo.png"
    path.write_bytes(data)
    from PIL import EpsImagePlugin

    started = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: started.append(a) or b"")
    for read in (read_image, read_label_map):
        with pytest.raises(
            ImageReadError, match=r"photo\.png: not an image file of a supported format"
        ) as err:
            read(path)
        assert "PS-Adobe" not in str(err.value)
        with pytest.raises(ImageReadError, match="<uploaded bytes>"):
            read(data)
    assert started == []


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "TIFF", "WEBP"])
def test_supported_formats_are_read_whatever_their_name(tmp_path, fmt):
    buf = io.BytesIO()
    Image.fromarray(RGB).save(buf, fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    path = tmp_path / "named_wrongly.gif"
    path.write_bytes(buf.getvalue())
    out = read_image(path)
    assert out.shape == RGB.shape
    if fmt != "JPEG":
        np.testing.assert_array_equal(out, RGB)


def test_file_size_limit_applies_before_reading(tmp_path, monkeypatch):
    import gald_viz.data.images as images

    path = _save(tmp_path, Image.fromarray(RGB), "big.png")
    monkeypatch.setattr(images, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(ImageReadError, match=r"big\.png: .* bytes exceeds the limit"):
        read_image(path)
    with pytest.raises(ImageReadError, match="exceeds the limit"):
        read_image(path.read_bytes())


def test_unreadable_file_is_an_image_read_error(tmp_path):
    path = _save(tmp_path, Image.fromarray(RGB), "locked.png")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file (root)")
        with pytest.raises(ImageReadError, match=r"locked\.png: cannot be read \(Permission denied\)"):
            read_image(path)
    finally:
        path.chmod(0o644)


def test_unreadable_file_as_root_via_a_failing_open(tmp_path, monkeypatch):
    """Root reads any file, so the PermissionError is raised by open() itself here."""
    import builtins

    path = _save(tmp_path, Image.fromarray(RGB), "locked.png")
    real_open = builtins.open

    def deny(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", deny)
    with pytest.raises(ImageReadError, match=r"locked\.png: cannot be read \(Permission denied\)"):
        read_label_map(path)


def test_decoder_messages_never_quote_file_bytes():
    """Pillow quotes chunk ids and markers in some messages (``broken PNG file (chunk b'...')``)."""
    from gald_viz.data.images import _reason

    assert _reason(SyntaxError("broken PNG file (chunk b'SeCr')")) == "broken PNG file (chunk …)"
    assert _reason(OSError('bad marker b"\\xff\\xd9secret"')) == "bad marker …"
    assert len(_reason(OSError("x" * 1000))) <= 161
