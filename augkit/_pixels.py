"""RGB pixels between Pillow and NumPy without holding the GIL for the copy.

Pillow stores an RGB image as 4 bytes a pixel (R, G, B and a padding byte), so
both ``np.asarray(img)`` and ``Image.fromarray(array)`` repack 4 <-> 3 bytes a
pixel, and both do it in C while holding the GIL: with two worker threads,
one waits for the other's copy. Here the same repacking runs in two small numba
kernels compiled with ``nogil=True``:

- in: Pillow (>= 11.2) exports an image's storage without a copy through the
  Arrow C data interface (``img.__arrow_c_array__()``); :func:`rgb_array`
  checks the exported layout and repacks it into a new ``(H, W, 3)`` array;
- out: :func:`rgbx_image` packs an ``(H, W, 3)`` array into a ``(H, W, 4)``
  buffer that Pillow wraps without a copy as an ``RGBX`` image, which the JPEG
  and WebP encoders take as they take ``RGB`` (same bytes out, tested).

Both return None when anything is not as expected (an older Pillow, an image
whose rows are not one block, another layout, a big-endian machine); the
caller then takes Pillow's own path. The kernels call no compiled code from
another module (numba's cache checks only this file) and compile once each,
lazily, on first use.
"""
from __future__ import annotations

import ctypes
import sys

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic
from PIL import Image

from ._cache_load import load_without_refresh

_OPTS = dict(cache=True, nogil=True)
_LITTLE_ENDIAN = sys.byteorder == "little"
_OPAQUE = np.uint32(0xFF000000)  # Pillow's padding byte of an RGB pixel is 255


class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p), ("name", ctypes.c_char_p), ("metadata", ctypes.c_void_p),
    ("flags", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))), ("dictionary", ctypes.c_void_p),
    ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]


class _ArrowArray(ctypes.Structure):
    pass


_ArrowArray._fields_ = [
    ("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
    ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
    ("buffers", ctypes.POINTER(ctypes.c_void_p)), ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))),
    ("dictionary", ctypes.c_void_p), ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]

try:
    _capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    _capsule_pointer.restype = ctypes.c_void_p
    _capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
except AttributeError:  # pragma: no cover - not CPython
    _capsule_pointer = None


@intrinsic
def _u32_pointer(typingctx, address):
    """The integer ``address`` as a pointer to uint32 (for :func:`numba.carray`)."""
    pointer = types.CPointer(types.uint32)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(pointer))
    return pointer(types.uint64), codegen


@njit(**_OPTS)
def _rgbx_to_rgb(src_address, out):
    """Repack ``H * W`` 4-byte pixels at ``src_address`` (4-aligned) into ``out`` ``(H, W, 3)``.

    Four pixels at a time as three 32-bit words (little-endian), so that the
    loop moves words, not bytes.
    """
    n = out.shape[0] * out.shape[1]
    src = carray(_u32_pointer(src_address), (n,))
    flat = out.reshape(n * 3)
    start = 0
    address = np.uint64(out.ctypes.data)
    if address % 4 == 0:
        groups = n // 4
        dst = carray(_u32_pointer(address), (groups * 3,))
        for g in range(groups):
            p0, p1, p2, p3 = src[4 * g], src[4 * g + 1], src[4 * g + 2], src[4 * g + 3]
            dst[3 * g] = (p0 & np.uint32(0xFFFFFF)) | (p1 << np.uint32(24))
            dst[3 * g + 1] = ((p1 >> np.uint32(8)) & np.uint32(0xFFFF)) | (p2 << np.uint32(16))
            dst[3 * g + 2] = ((p2 >> np.uint32(16)) & np.uint32(0xFF)) | (p3 << np.uint32(8))
        start = groups * 4
    for i in range(start, n):
        p = src[i]
        flat[3 * i] = p & np.uint32(0xFF)
        flat[3 * i + 1] = (p >> np.uint32(8)) & np.uint32(0xFF)
        flat[3 * i + 2] = (p >> np.uint32(16)) & np.uint32(0xFF)


@njit(**_OPTS)
def _rgb_to_rgbx(src, out):
    """Pack ``src`` ``(H, W, 3)`` into ``out`` ``(H, W, 4)`` (4-aligned), padding byte 255."""
    n = src.shape[0] * src.shape[1]
    dst = carray(_u32_pointer(np.uint64(out.ctypes.data)), (n,))
    flat = src.reshape(n * 3)
    start = 0
    address = np.uint64(src.ctypes.data)
    if address % 4 == 0:
        groups = n // 4
        words = carray(_u32_pointer(address), (groups * 3,))
        for g in range(groups):
            a, b, c = words[3 * g], words[3 * g + 1], words[3 * g + 2]
            dst[4 * g] = a | _OPAQUE
            dst[4 * g + 1] = (a >> np.uint32(24)) | (b << np.uint32(8)) | _OPAQUE
            dst[4 * g + 2] = (b >> np.uint32(16)) | (c << np.uint32(16)) | _OPAQUE
            dst[4 * g + 3] = (c >> np.uint32(8)) | _OPAQUE
        start = groups * 4
    for i in range(start, n):
        dst[i] = (np.uint32(flat[3 * i]) | (np.uint32(flat[3 * i + 1]) << np.uint32(8))
                  | (np.uint32(flat[3 * i + 2]) << np.uint32(16)) | _OPAQUE)


def rgb_array(img: Image.Image):
    """A new, writable ``(H, W, 3)`` uint8 array of an ``RGB`` image, or None to use ``np.asarray(img)``.

    Takes Pillow's storage through its Arrow export (no copy) and checks that
    it is what the kernel reads: one fixed-size list of four uint8 per pixel,
    ``H * W`` of them, no offset, no nulls, 4-byte aligned. The exported
    capsules keep Pillow's storage alive while the kernel reads it.
    """
    if img.mode != "RGB" or not _LITTLE_ENDIAN or _capsule_pointer is None:
        return None
    w, h = img.size
    n = w * h
    if n == 0:
        return None
    try:
        schema_capsule, array_capsule = img.__arrow_c_array__()
        schema = _ArrowSchema.from_address(_capsule_pointer(schema_capsule, b"arrow_schema"))
        array = _ArrowArray.from_address(_capsule_pointer(array_capsule, b"arrow_array"))
    except Exception:  # no export (old Pillow), rows in several blocks (large images), ...
        return None
    if (schema.format != b"+w:4" or schema.n_children != 1 or schema.children[0].contents.format != b"C"
            or array.length != n or array.offset != 0 or array.null_count != 0 or array.n_children != 1):
        return None
    child = array.children[0].contents
    if child.length != 4 * n or child.offset != 0 or child.null_count != 0 or child.n_buffers != 2:
        return None
    address = child.buffers[1]
    if not address or address % 4:
        return None
    out = np.empty((h, w, 3), np.uint8)
    # the capsules, still referenced here, keep Pillow's storage alive while the kernel reads it
    _rgbx_to_rgb(np.uint64(address), out)
    return out


def rgbx_image(array: np.ndarray):
    """An ``RGBX`` Pillow image of a C-contiguous uint8 ``(H, W, 3)`` array (the pixels repacked off
    the GIL; Pillow wraps the buffer without a copy), or None where that path does not apply.

    Only for encoders that take ``RGBX`` as they take ``RGB`` (JPEG, WebP).
    """
    # read-only arrays would compile a second specialisation; they take Pillow's path
    if (not _LITTLE_ENDIAN or array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3
            or not array.flags.c_contiguous or not array.flags.writeable or array.size == 0):
        return None
    h, w = array.shape[:2]
    buffer = np.empty((h, w, 4), np.uint8)
    _rgb_to_rgbx(array, buffer)
    return Image.frombuffer("RGBX", (w, h), buffer, "raw", "RGBX", 0, 1)


# Cached code loads without numba's registry refresh (see augkit._cache_load).
load_without_refresh(globals())
