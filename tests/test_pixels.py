"""augkit._pixels: RGB pixels between Pillow and NumPy off the GIL, the same pixels and bytes as Pillow's own path."""
import io

import numpy as np
import pytest
from PIL import Image

import augkit.io as aio
from augkit import _pixels
from augkit.cli import main

from conftest import make_image

SHAPES = [(1, 1), (1, 3), (2, 3), (5, 7), (4, 4), (37, 53), (64, 65)]  # pixel counts with every remainder mod 4


def _photo(h=61, w=83):
    """Smooth gradients with some noise: JPEG and WebP encode these like photographs."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (h + w)], axis=-1)
    noise = np.random.default_rng(1).normal(0, 12, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _unaligned(array):
    """A copy of ``array`` whose data starts one byte past an aligned address."""
    raw = np.empty(array.size + 1, np.uint8)
    out = raw[1:].reshape(array.shape)
    out[...] = array
    return out


@pytest.mark.parametrize("shape", SHAPES)
def test_rgb_array_is_numpys_view_of_pillows_pixels(shape):
    image = make_image(*shape)
    img = Image.fromarray(image)
    pixels = _pixels.rgb_array(img)
    reference = np.asarray(img)
    assert pixels.dtype == np.uint8 and pixels.shape == reference.shape
    assert pixels.flags.writeable and pixels.flags.c_contiguous
    np.testing.assert_array_equal(pixels, reference)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("aligned", [True, False])
def test_rgbx_image_holds_the_pixels_and_opaque_padding(shape, aligned):
    image = make_image(*shape)
    source = image if aligned else _unaligned(image)
    img = _pixels.rgbx_image(source)
    assert img.mode == "RGBX" and img.size == (shape[1], shape[0])
    packed = np.asarray(img)
    np.testing.assert_array_equal(packed[:, :, :3], image)
    assert (packed[:, :, 3] == 255).all()  # what Pillow puts in an RGB pixel's fourth byte


def test_the_kernels_against_numpy_on_raw_buffers():
    # the repacking kernels themselves, on buffers made by NumPy (no Pillow involved)
    for h, w in SHAPES:
        rgb = make_image(h, w, seed=h * w)
        rgbx = np.concatenate([rgb, np.full((h, w, 1), 255, np.uint8)], axis=2)
        out = np.empty((h, w, 3), np.uint8)
        _pixels._rgbx_to_rgb(np.uint64(rgbx.ctypes.data), out)
        np.testing.assert_array_equal(out, rgb)
        unaligned_out = _unaligned(np.zeros((h, w, 3), np.uint8))
        _pixels._rgbx_to_rgb(np.uint64(rgbx.ctypes.data), unaligned_out)
        np.testing.assert_array_equal(unaligned_out, rgb)
        packed = np.zeros((h, w, 4), np.uint8)
        _pixels._rgb_to_rgbx(rgb, packed)
        np.testing.assert_array_equal(packed, rgbx)


def test_what_the_kernels_do_not_take_goes_back_to_pillow():
    for mode in ("L", "RGBA", "LA", "P", "CMYK", "I;16", "F", "1"):
        assert _pixels.rgb_array(Image.new(mode, (5, 3))) is None, mode
    # a large image's rows lie in several blocks: Pillow exports none of it
    assert _pixels.rgb_array(Image.new("RGB", (3000, 3000))) is None
    rgb = make_image(5, 7)
    for array in (rgb[:, :, 0], make_image(5, 7, c=4), rgb.astype(np.float32), rgb[:, ::2], rgb[:0]):
        assert _pixels.rgbx_image(array) is None
    readonly = rgb.copy()
    readonly.flags.writeable = False
    assert _pixels.rgbx_image(readonly) is None


class _FakeExport:
    """An RGB image whose Arrow export is replaced."""

    def __init__(self, img, export):
        self.mode, self.size, self._export = img.mode, img.size, export

    def __arrow_c_array__(self, requested_schema=None):
        return self._export()


def _raise():
    raise ValueError("Image rows are not contiguous in memory.")


def test_an_unexpected_export_is_refused():
    img = Image.fromarray(make_image(4, 6))
    np.testing.assert_array_equal(_pixels.rgb_array(_FakeExport(img, img.__arrow_c_array__)), np.asarray(img))
    refused = [
        _raise,                                      # Pillow cannot export this image
        Image.new("L", (6, 4)).__arrow_c_array__,    # one byte a pixel, not a list of four
        Image.new("RGB", (3, 4)).__arrow_c_array__,  # fewer pixels than the image has
        Image.new("F", (6, 4)).__arrow_c_array__,    # float32 pixels
        lambda: (1, 2),                              # not capsules
    ]
    for export in refused:
        assert _pixels.rgb_array(_FakeExport(img, export)) is None


def _encode_with_pillow(array, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt, options", [
    ("JPEG", {}), ("JPEG", {"quality": 95}), ("JPEG", {"quality": 50}), ("JPEG", {"quality": 100}),
    ("WEBP", {}), ("WEBP", {"quality": 95}), ("WEBP", {"quality": 30}),
])
@pytest.mark.parametrize("shape", [(61, 83), (1, 1), (7, 5), (256, 256)])
def test_rgbx_encodes_to_the_same_bytes_as_rgb(fmt, options, shape):
    for image in (_photo(*shape), make_image(*shape, seed=5)):
        expected = _encode_with_pillow(image, fmt, **options)
        img = _pixels.rgbx_image(image)
        buffer = io.BytesIO()
        img.save(buffer, format=fmt, **options)
        assert buffer.getvalue() == expected


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".png"])
@pytest.mark.parametrize("kind", ["rgb", "gray", "rgba", "float", "gray1"])
def test_write_image_bytes_unchanged(tmp_path, ext, kind):
    photo = _photo()
    array = {"rgb": photo, "gray": photo[:, :, 1], "rgba": np.dstack([photo, photo[:, :, :1]]),
             "float": photo.astype(np.float32) + 0.3, "gray1": photo[:, :, 1:2]}[kind]
    fmt = aio.pillow_format(ext)
    reference = array
    if kind == "float":
        reference = np.clip(np.rint(array), 0, 255).astype(np.uint8)
    if kind == "gray1":
        reference = array[:, :, 0]
    img = Image.fromarray(reference)
    if fmt == "JPEG" and img.mode == "RGBA":
        img = img.convert("RGB")
    buffer = io.BytesIO()
    img.save(buffer, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    assert aio.write_image(array, tmp_path / f"x{ext}", quality=90).read_bytes() == buffer.getvalue()


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp"])
@pytest.mark.parametrize("file_mode", ["RGB", "L", "RGBA", "P", "CMYK"])
@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", None])
def test_decoded_pixels_are_those_of_pillows_path(tmp_path, monkeypatch, ext, file_mode, mode):
    img = Image.fromarray(_photo())
    if file_mode == "P":
        img = img.quantize(64)
    else:
        img = img.convert(file_mode)
    if (ext == ".jpg" and file_mode in ("RGBA", "P")) or (ext in (".png", ".webp") and file_mode == "CMYK"):
        pytest.skip("the format does not store that mode")
    path = tmp_path / f"x{ext}"
    img.save(path)
    fast = aio._decode(path, mode)
    read = aio.read_image(path, mode)
    monkeypatch.setattr(_pixels, "rgb_array", lambda img: None)
    slow = aio._decode(path, mode)
    assert fast.dtype == slow.dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(read, slow)
    assert read.flags.writeable and read.flags.c_contiguous


def _folder(root):
    photo = _photo(40, 56)
    (root / "a").mkdir(parents=True)
    Image.fromarray(photo).save(root / "a" / "photo.jpg", quality=92)
    Image.fromarray(photo[:, :, 2]).save(root / "a" / "gray.jpg")
    Image.fromarray(photo).save(root / "a" / "rgb.png")
    Image.fromarray(np.dstack([photo, photo[:, :, :1]])).save(root / "rgba.png")
    Image.fromarray(photo).quantize(32).save(root / "palette.png")
    Image.fromarray(photo[::-1]).save(root / "b.webp", quality=80)
    return root


@pytest.mark.parametrize("fmt", ["jpg", "webp", "png", "same"])
def test_augment_writes_the_same_bytes_as_with_pillows_own_repacking(tmp_path, monkeypatch, fmt):
    src = _folder(tmp_path / "src")

    def run(name, workers):
        dst = tmp_path / name
        assert main(["augment", str(src), str(dst), "--copies", "2", "--workers", workers, "--format", fmt,
                     "--include-original", "-q"]) == 0
        return {p.relative_to(dst).as_posix(): p.read_bytes() for p in sorted(dst.rglob("*"))
                if p.is_file() and p.name != "augkit_run.json"}

    taken = {"in": 0, "out": 0}
    rgb_array, rgbx_image = _pixels.rgb_array, _pixels.rgbx_image

    def counted(name, fn):
        def call(arg):
            result = fn(arg)
            taken[name] += result is not None
            return result
        return call

    monkeypatch.setattr(_pixels, "rgb_array", counted("in", rgb_array))
    monkeypatch.setattr(_pixels, "rgbx_image", counted("out", rgbx_image))
    fast1 = run("fast1", "1")   # one worker works in this process, where the calls are counted
    assert taken["in"] >= 4 and (taken["out"] >= 4 or fmt == "png")  # the new paths did run
    fast = fast1, run("fast2", "2")   # (worker processes on Linux: the same code, in each child)
    monkeypatch.setattr(_pixels, "rgb_array", lambda img: None)
    monkeypatch.setattr(_pixels, "rgbx_image", lambda array: None)
    slow = run("slow", "1")
    assert fast[0] == slow and fast[1] == slow
    assert len(slow) == 6 * 3 + 1  # 6 sources x (original + 2 copies), and the manifest


def test_a_negative_zero_fill_keeps_its_sign_whatever_was_cached_before():
    from augkit import functional as F
    img = np.zeros((2, 2), np.float32)
    assert not np.signbit(F.pad(img, 1, 0, 0, 0, fill=0.0)[0, 0])
    assert np.signbit(F.pad(img, 1, 0, 0, 0, fill=-0.0)[0, 0])
