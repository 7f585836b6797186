"""Reading and writing image files with Pillow, safely.

:func:`read_image` decodes a file into an array augkit accepts (EXIF
orientation applied, unusual modes converted); :func:`write_image` encodes an
array to a file *atomically*: it encodes into a new temporary file in the
same folder and renames it into place, so a killed process never leaves a
truncated image under the final name.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from augkit.io import read_image, write_image
>>> path = os.path.join(tempfile.mkdtemp(), "x.png")
>>> _ = write_image(np.zeros((4, 5, 3), np.uint8), path)
>>> read_image(path).shape
(4, 5, 3)
"""
from __future__ import annotations

import errno
import itertools
import numbers
import os
import shutil
import stat
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
MODES = ("RGB", "L", "RGBA", None)
TMP_SUFFIX = ".augkit-tmp"
# Characters of the final name kept in a temporary name: enough to tell whose it is, short enough
# that the temporary name of any legal name (up to 255 bytes) is legal too (at most 4 bytes each).
_TMP_NAME_CHARS = 40
_ORIENTATION = 0x0112

_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_KEEP = {"1": "L", "L": "L", "LA": "LA", "RGB": "RGB", "RGBA": "RGBA", "PA": "RGBA"}


def _name(path):
    return os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else "the image"


def _natural_mode(img):
    if img.mode == "P":
        return "RGBA" if "transparency" in img.info else "RGB"
    return _KEEP.get(img.mode, "RGB")


def read_image(path, mode="RGB") -> np.ndarray:
    """Decode an image file into a uint8 (or, for 16-bit files with ``mode=None``, float32) array.

    Parameters
    ----------
    path : str or Path
    mode : {"RGB", "L", "RGBA", None}
        ``"RGB"`` gives ``(H, W, 3)``, ``"L"`` ``(H, W)``, ``"RGBA"`` ``(H, W, 4)``,
        all uint8. Palette, CMYK, grayscale and RGBA files are converted by
        Pillow (converting RGBA to RGB drops the alpha channel); 16-bit files
        are scaled to 0..255. ``None`` keeps the file's own layout: grayscale
        stays ``(H, W)``, RGBA stays RGBA, palette becomes RGB (RGBA when it
        has transparency), CMYK becomes RGB, and 16-bit grayscale becomes
        float32 in 0..255 units (so that no precision is lost and the
        pipeline's fill and tint values keep their 8-bit meaning).

    Returns
    -------
    numpy.ndarray
        C-contiguous, writable, upright (EXIF orientation applied).

    Raises
    ------
    ValueError
        For a bad ``mode``.
    OSError, PIL.UnidentifiedImageError
        When the file cannot be read or decoded (zero bytes, truncated, not an
        image; ``IsADirectoryError`` for a folder).

    Examples
    --------
    >>> from augkit.io import read_image
    >>> from augkit.data import sample_path
    >>> read_image(sample_path("images", "astronaut.png"), mode="L").ndim
    2
    """
    image = _decode(path, mode)
    return image if image.flags.writeable else image.copy()


def _decode(path, mode) -> np.ndarray:
    """:func:`read_image` without its last copy: the array may be read-only (it wraps Pillow's bytes).

    For callers that only read the pixels (``augkit augment`` hands them to a
    pipeline, which never writes its input): this saves one copy per image.
    RGB pixels come through :func:`augkit._pixels.rgb_array` (a new array,
    repacked from Pillow's storage without holding the GIL) where it applies.
    """
    if mode not in MODES:
        raise ValueError(f"read_image: mode must be one of 'RGB', 'L', 'RGBA' or None, got {mode!r}")
    if isinstance(path, (str, bytes, os.PathLike)):
        kind = os.stat(path).st_mode
        if stat.S_ISDIR(kind):
            raise IsADirectoryError(errno.EISDIR, "is a directory, not an image file", _name(path))
        if not stat.S_ISREG(kind):
            # Opening a FIFO blocks until something writes to it (Ctrl-C and SIGTERM included).
            raise OSError(f"not a regular file (a FIFO, device or socket): {_name(path)}")
    with Image.open(path) as img:
        img.load()
        if img.getexif().get(_ORIENTATION, 1) != 1:  # exif_transpose copies even when nothing turns
            img = ImageOps.exif_transpose(img)
    if img.mode == "F":
        raise ValueError(f"32-bit float images (Pillow mode F) are not supported: their range of values is "
                         f"unknown (0..1? 0..255?); save them with 8 or 16 bits: {_name(path)}")
    if img.mode in _SIXTEEN_BIT:
        values = np.asarray(img)
        if img.mode == "I" and values.size and (int(values.max()) > 65535 or int(values.min()) < 0):
            raise ValueError(f"32-bit integer images with values outside 0..65535 are not supported (got "
                             f"{int(values.min())}..{int(values.max())}); save them with 8 or 16 bits: {_name(path)}")
        scaled = values.astype(np.float32) / np.float32(257.0)
        if mode is None:
            return np.ascontiguousarray(np.clip(scaled, 0, 255))
        img = Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8))
    target = _natural_mode(img) if mode is None else mode
    if img.mode == "P" and target != "RGBA":
        # Palette transparency survives only through RGBA; go there first so
        # that a later conversion to RGB or L sees real colours.
        img = img.convert("RGBA") if "transparency" in img.info else img.convert("RGB")
    if img.mode != target:
        img = img.convert(target)
    if target == "RGB":
        from . import _pixels  # imports numba: on first use, not with augkit.io

        pixels = _pixels.rgb_array(img)  # Pillow's 4-byte pixels repacked without holding the GIL
        if pixels is not None:
            return pixels
    # np.asarray is ~5x faster than np.array(img) (which walks Pillow's array
    # interface element-wise); read_image copies it to make it writeable.
    return np.asarray(img)


def walk_folder(top, skip=None, onerror=None):
    """``os.walk(top)`` in sorted order over visible files, following linked folders without looping.

    Yields ``(dirpath, filenames)``; names starting with ``.`` (hidden files
    and folders) are left out. Linked folders are followed, as torchvision's
    ``ImageFolder`` does (datasets often link class folders kept elsewhere),
    except a link to a folder of its own branch (a loop) and ``skip`` (a
    folder written during the walk, such as an output folder) with everything
    in it. ``onerror(OSError)`` hears of folders that cannot be listed
    (``os.walk`` skips them silently by default).
    """
    top = os.path.normpath(os.fspath(top))
    skip = None if skip is None else os.path.realpath(skip)
    branches = {}  # dirpath -> real paths of it and its ancestors: a link to one of them is a loop
    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror, followlinks=True):
        real = os.path.realpath(dirpath)
        branch = frozenset() if dirpath == top else branches.get(os.path.dirname(dirpath), frozenset())
        if real in branch or (skip is not None and (real == skip or real.startswith(skip + os.sep))):
            dirnames[:] = []
            continue
        branches[dirpath] = branch | {real}
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield dirpath, sorted(name for name in filenames if not name.startswith("."))


def pillow_format(ext: str) -> str:
    """The Pillow format name for a file extension such as ``".jpg"``; ``ValueError`` if unknown."""
    fmt = Image.registered_extensions().get(ext.lower())
    if fmt is None:
        raise ValueError(f"cannot write {ext!r} files: Pillow knows no encoder for that extension")
    return fmt


# Encoders that take Pillow's RGBX images as they take RGB ones, with the same bytes out
# (tests/test_pixels.py); PNG and the others do not take RGBX.
_RGBX_ENCODERS = ("JPEG", "WEBP")


def _to_pil(array: np.ndarray, fmt: str) -> Image.Image:
    if array.dtype == np.float32:
        if fmt in ("PNG", "TIFF") and array.ndim == 2:
            return Image.fromarray(np.clip(np.rint(array * 257.0), 0, 65535).astype(np.uint16))
        array = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if fmt in _RGBX_ENCODERS:
        from . import _pixels

        img = _pixels.rgbx_image(array)  # packed off the GIL; Image.fromarray packs holding it
        if img is not None:
            return img
    img = Image.fromarray(np.ascontiguousarray(array))
    if fmt == "JPEG" and img.mode not in ("L", "RGB", "CMYK"):
        img = img.convert("RGB")  # JPEG holds no alpha channel
    return img


_tmp_names = itertools.count()  # next() on a count is atomic under the GIL: unique per process


def _open_temporary(path: str):
    """Create a new, empty temporary file beside ``path``; returns ``(fd, temporary path)``.

    The name is ``.{name}.{pid}-{n}.augkit-tmp``, hidden, ending in
    :data:`TMP_SUFFIX` (what ``augkit augment`` removes on its next run), with
    ``name`` cut to its first 40 characters so that a final name near the
    file system's limit still has a legal temporary name. The process id and
    a per-process counter make it unique among threads and processes;
    ``O_EXCL`` refuses a name already taken (a file left by a killed process
    whose id came back), and the next number is tried. ``os.open`` applies the
    umask, so the file gets the permissions a plain ``open()`` would give it.
    """
    folder, name = os.path.split(path)
    name = name[:_TMP_NAME_CHARS]
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = os.path.join(folder, f".{name}.{os.getpid()}-{next(_tmp_names)}{TMP_SUFFIX}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue


def atomic_write(path, write) -> Path:
    """Call ``write(binary_file)`` on a new temporary file beside ``path``, then rename it into place.

    A crash or kill at any moment leaves either the old file or the new one
    under ``path``, never a truncated one; when ``write`` raises, the
    temporary file is removed and the old file kept. (Nothing is fsync'ed:
    this guards against a killed process, not against a power cut.)

    ``write`` gets a real file rather than an in-memory buffer so that
    Pillow's encoders write straight to its descriptor, which they do with
    the GIL released (encoding into a ``BytesIO`` holds it throughout).
    """
    path = os.fspath(path)
    try:
        fd, tmp = _open_temporary(path)
    except OSError as exc:  # name the file being written, not its temporary name
        raise type(exc)(exc.errno, exc.strerror, path) from None
    try:
        with open(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return Path(path)


def write_image(array, path, quality=None) -> Path:
    """Encode ``array`` to ``path`` atomically; the format follows the extension.

    Parameters
    ----------
    array : numpy.ndarray
        uint8 ``(H, W)``, ``(H, W, 1|2|3|4)``, or float32 in 0..255 units
        (written as 16-bit for PNG/TIFF when 2-D, else rounded to uint8).
    path : str or Path
        The parent folder must exist.
    quality : int or None
        JPEG/WebP quality (1..100); Pillow's default when None.

    Raises
    ------
    TypeError, ValueError
        For an array of another dtype or shape, a ``quality`` outside 1..100,
        or a path whose extension names no format Pillow writes.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from augkit.io import write_image
    >>> write_image(np.zeros((8, 8), np.uint8), os.path.join(tempfile.mkdtemp(), "a.jpg"), quality=90).name
    'a.jpg'
    """
    array = _check_writable(array)
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, numbers.Integral)):
        raise TypeError(f"write_image: quality must be an int from 1 to 100 or None, got {quality!r}")
    if quality is not None and not 1 <= quality <= 100:
        raise ValueError(f"write_image: quality must be an int from 1 to 100 or None, got {quality!r}")
    path = os.fspath(path)
    ext = os.path.splitext(path)[1]
    if not ext:
        raise ValueError(f"write_image: path {path!r} has no extension; the format follows it "
                         "(.png, .jpg, .webp, ...)")
    fmt = pillow_format(ext)
    img = _to_pil(array, fmt)
    options = {}
    if quality is not None and fmt in ("JPEG", "WEBP"):
        options["quality"] = int(quality)
    return atomic_write(path, lambda fh: img.save(fh, format=fmt, **options))


def _check_writable(array) -> np.ndarray:
    """``array`` as an ndarray :func:`write_image` can encode, or a ValueError/TypeError saying why not."""
    given = type(array).__name__
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except Exception as exc:
            raise TypeError(f"write_image: array must be uint8 or float32 image data, got {type(array).__name__} "
                            f"({exc})") from None
    if array.dtype not in (np.uint8, np.float32):
        what = f"a {given}" if array.dtype == object or array.dtype.kind in "US" else array.dtype
        raise TypeError(f"write_image: array must be uint8 or float32 (0..255 units), got {what}; "
                        "convert it first, e.g. np.clip(a, 0, 255).astype(np.uint8)")
    if not (array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)) or not array.size:
        raise ValueError(f"write_image: array must be (H, W) or (H, W, 1|2|3|4) with H, W >= 1, "
                         f"got shape {array.shape}")
    return array


def copy_file(src, dst) -> Path:
    """Copy the bytes of ``src`` to ``dst`` atomically (temporary name, then rename)."""
    with open(src, "rb") as source:
        return atomic_write(dst, lambda fh: shutil.copyfileobj(source, fh))
