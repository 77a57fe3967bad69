"""Every image and label-map file the project reads or writes goes through here.

Reading a user's image or label map safely: any common format and mode in, uint8 out.

Images come back as H×W×3 uint8 RGB whatever the file holds (RGB, RGBA, grey, palette, 16-bit,
CMYK), turned upright by their EXIF orientation. Only the formats in :data:`FORMATS` are read, decided
by the file's content, not its name (an EPS or any other Pillow plugin format named ``.png`` is
refused, so no external decoder such as Ghostscript is ever started). Files that are empty,
unreadable, truncated, not images, larger than :data:`MAX_FILE_BYTES` or with more pixels than
:data:`MAX_PIXELS` (checked from the header, before any decoding) are refused with an
:class:`ImageReadError` that names the file and never quotes its bytes.
"""

import io
import os
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 4096 * 8192
"""Largest image read (33,554,432 pixels, e.g. 4096×8192; 16× a Cityscapes frame).

Bounded memory: analysing a 4096×8192 image with the bundled models peaks at ~6.6 GiB on the CPU
(``python benchmarks/big_image.py``); the per-pixel class maps grow with the pixel count, so larger
images are refused rather than risk exhausting the machine's memory."""

FORMATS = ("PNG", "JPEG", "BMP", "TIFF", "WEBP")
"""The only formats read (Pillow's format names; recognised by content). JPEG files that carry several
pictures are opened by Pillow as "MPO", its JPEG variant, and accepted as JPEG."""
_OPENED_AS = {*FORMATS, "MPO"}

MAX_FILE_BYTES = 512 * 1024**2
"""Largest file read (512 MiB: an uncompressed 16-bit RGBA TIFF of :data:`MAX_PIXELS` is 256 MiB), checked
before the file is read."""


class ImageReadError(ValueError):
    """A file could not be read as an image or label map; the message names the file."""


def _describe(source, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, bytes | bytearray | memoryview):
        return "<uploaded bytes>"
    return str(source)


def _reason(err: BaseException) -> str:
    """A decoder's message without any of the file's bytes (Pillow quotes chunk ids and markers)."""
    text = re.sub(r"""b(['"]).*?\1""", "…", str(err))
    return text if len(text) <= 160 else text[:160] + "…"


def _size_check(size: int, label: str) -> None:
    if size == 0:
        raise ImageReadError(f"{label}: the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ImageReadError(
            f"{label}: {size:,} bytes exceeds the limit of {MAX_FILE_BYTES:,} bytes for an image file"
        )


def _read(path: Path, label: str) -> bytes:
    try:
        if not path.exists():
            raise ImageReadError(f"{label}: no such file")
        if path.is_dir():
            raise ImageReadError(f"{label}: is a folder, not an image file")
        _size_check(path.stat().st_size, label)
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:  # permissions, I/O errors, a file removed meanwhile
        raise ImageReadError(f"{label}: cannot be read ({err.strerror or type(err).__name__})") from err


def _open(source: str | os.PathLike | bytes, label: str, max_pixels: int) -> Image.Image:
    """Open (not yet decode) an image, refusing empty, unreadable, unsupported and over-large inputs."""
    data = bytes(source) if isinstance(source, bytes | bytearray | memoryview) else _read(Path(source), label)
    _size_check(len(data), label)
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is the one that applies; Pillow's warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as err:
        raise ImageReadError(f"{label}: refused, too many pixels to decode safely ({_reason(err)})") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(
            f"{label}: not an image file of a supported format "
            f"(by its content it is none of {', '.join(FORMATS)})"
        ) from err
    if image.format not in _OPENED_AS:
        raise ImageReadError(f"{label}: {image.format} images are not supported ({', '.join(FORMATS)} are)")
    width, height = image.size
    if width * height > max_pixels:
        raise ImageReadError(
            f"{label}: {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} pixels (too large to analyse in bounded memory, or a decompression bomb); "
            "resize it first"
        )
    if width == 0 or height == 0:
        raise ImageReadError(f"{label}: the image has no pixels ({width}x{height})")
    return image


def _decode(image: Image.Image, label: str) -> Image.Image:
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageReadError(f"{label}: the image data is truncated or corrupt ({_reason(err)})") from err
    return image


def _to_uint8(array: np.ndarray, mode: str) -> np.ndarray:
    """Scale high-bit-depth pixel values to 0..255 (16-bit and 32-bit integer modes, float)."""
    if array.dtype == np.uint8:
        return array
    if mode == "F":
        values = np.nan_to_num(array.astype(np.float64))
        if values.size and values.max() <= 1.0:
            values = values * 255.0
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    # Pillow opens 16-bit files as "I;16*" or as 32-bit "I" holding 0..65535: both are 16-bit data.
    return np.clip(np.rint(array.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def read_image(
    source: str | os.PathLike | bytes, name: str | None = None, max_pixels: int = MAX_PIXELS
) -> np.ndarray:
    """Read an image file or its bytes as H×W×3 uint8 RGB.

    PNG, JPEG, BMP, TIFF and WebP (by content) in RGB, RGBA (alpha dropped), grey, palette, 16-bit
    (scaled to 8 bits) and CMYK are supported; EXIF orientation is applied so the image is upright.

    Args:
        source: a path or the file's bytes (e.g. an upload).
        name: the name to use in error messages (defaults to the path).
        max_pixels: refuse images with more pixels than this (decompression bombs).

    Returns:
        H×W×3 uint8 RGB array.

    Raises:
        ImageReadError: the file is missing, unreadable, empty, not a supported image, truncated or
            too large.
    """
    label = _describe(source, name)
    image = _open(source, label, max_pixels)
    image = _decode(image, label)
    try:
        image = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, KeyError) as err:
        raise ImageReadError(f"{label}: unreadable EXIF orientation ({_reason(err)})") from err
    mode = image.mode
    if mode in ("RGB",):
        rgb = np.array(image, dtype=np.uint8)
    elif mode.startswith("I") or mode == "F":
        grey = _to_uint8(np.asarray(image), mode)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
    elif mode == "P" and "transparency" in image.info:
        rgb = np.array(image.convert("RGBA").convert("RGB"), dtype=np.uint8)
    else:
        # L, LA, 1, P, RGBA, RGBa, CMYK, YCbCr, LAB, HSV: Pillow's conversion handles the colour maths.
        rgb = np.array(image.convert("RGB"), dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageReadError(f"{label}: unsupported image mode {mode!r}")
    return np.ascontiguousarray(rgb)


def read_label_map(source: str | os.PathLike | bytes, name: str | None = None) -> np.ndarray:
    """Read a single-channel label PNG (ids 0..255) as an H×W uint8 array, values unchanged.

    Palette PNGs give their palette indices (not colours); 16-bit files are accepted when every
    value fits in 0..255. Images with several channels are refused (also grey-looking RGB), since
    colours are not ids.

    Args:
        source: a path or the file's bytes.
        name: the name to use in error messages (defaults to the path).

    Returns:
        H×W uint8 array of ids.

    Raises:
        ImageReadError: unreadable file, or not a single-channel id map.
    """
    label = _describe(source, name)
    image = _decode(_open(source, label, MAX_PIXELS), label)
    mode = image.mode
    if mode in ("L", "P"):
        return np.array(image, dtype=np.uint8)
    if mode.startswith("I"):
        ids = np.asarray(image)
        if ids.size and (ids.min() < 0 or ids.max() > 255):
            raise ImageReadError(
                f"{label}: label values {int(ids.min())}..{int(ids.max())} do not fit ids 0..255"
            )
        return ids.astype(np.uint8)
    bands = len(image.getbands())
    got = f"{bands} channels, mode {mode!r}" if bands > 1 else f"mode {mode!r}"
    raise ImageReadError(
        f"{label}: a label map must be a single-channel image of class ids (got {got}; "
        "colour-coded labels such as *_gtFine_color.png cannot be read as ids)"
    )


def encode_png(array: np.ndarray, compression: int | None = None) -> bytes:
    """A uint8 H×W (ids or grey) or H×W×3 RGB array as PNG bytes, values unchanged.

    ``compression`` 0–9 is zlib's level; None keeps OpenCV's default (the bytes ``cv2.imwrite`` writes).

    >>> read_label_map(encode_png(np.array([[0, 255], [7, 18]], np.uint8))).tolist()
    [[0, 255], [7, 18]]
    """
    return _encode(array, ".png", [] if compression is None else [cv2.IMWRITE_PNG_COMPRESSION, compression])


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    """An H×W×3 uint8 RGB array as JPEG bytes (photographs and blends, where loss is fine)."""
    return _encode(rgb, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality])


def _encode(array: np.ndarray, ext: str, params: list[int]) -> bytes:
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3):
        raise ValueError(f"expected an H×W or H×W×3 uint8 array, got {array.shape} {array.dtype}")
    bgr = np.ascontiguousarray(array if array.ndim == 2 else array[:, :, ::-1])
    ok, buf = cv2.imencode(ext, bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {array.shape} {array.dtype} array as {ext}")
    return buf.tobytes()


def write_png(path: str | os.PathLike, array: np.ndarray, *, atomic: bool = False) -> None:
    """Write an id map or RGB image as PNG, creating the folder.

    Args:
        path: the file to write.
        array: H×W uint8 ids or H×W×3 uint8 RGB.
        atomic: write a temporary file beside it, fsync, then rename, so a reader never sees half a
            file (what the results store needs when a job may be killed at any moment).

    Raises:
        OSError: the file cannot be written (the temporary file is removed).
    """
    data = encode_png(array)
    if atomic:
        write_bytes_atomic(path, data)
        return
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    final.write_bytes(data)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync, then rename it to ``path``, creating the
    folder: a reader sees the old file or the whole new one, never half a file.

    Raises:
        OSError: the file cannot be written (the temporary file is removed).
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, final)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
