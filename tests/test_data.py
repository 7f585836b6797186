"""augkit.data and augkit.io: datasets, the threaded loader, image reading and writing."""
import threading

import numpy as np
import pytest
from PIL import Image

import augkit as A
from augkit.data import AugmentedDataset, ImageFolder, Loader, collate, sample_path
from augkit.io import read_image, write_image


def _pipe():
    return A.Compose([A.Shift(dx=0.2, dy=0.2, p=0.9), A.Tint(shift=40, p=0.9), A.BoxErase(p=0.5)])


def _images(n=12, size=8):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# ------------------------------------------------------------------ AugmentedDataset
def test_sample_depends_only_on_seed_epoch_index():
    images = _images()
    ds = AugmentedDataset(images, _pipe(), seed=3)
    first = [ds[i] for i in range(len(ds))]
    again = [ds[i] for i in reversed(range(len(ds)))][::-1]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ds[5], _pipe()(image=images[5], rng=(3, 0, 5))["image"])
    np.testing.assert_array_equal(ds[-1], ds[len(ds) - 1])


def test_epochs_and_seeds_differ():
    images = _images()
    ds = AugmentedDataset(images, _pipe(), seed=0)
    epoch0 = np.stack([ds[i] for i in range(len(ds))])
    ds.set_epoch(1)
    epoch1 = np.stack([ds[i] for i in range(len(ds))])
    other_seed = np.stack([AugmentedDataset(images, _pipe(), seed=1)[i] for i in range(len(ds))])
    assert not np.array_equal(epoch0, epoch1)
    assert not np.array_equal(epoch0, other_seed)
    np.testing.assert_array_equal(ds.get(4, 0), epoch0[4])
    assert ds.epoch == 1  # get() leaves the epoch alone


def test_item_kinds_pairs_dicts_and_passthrough():
    image = _images(1, 16)[0]
    mask = np.zeros((16, 16), np.uint8)
    mask[4:8, 4:8] = 1
    pairs = AugmentedDataset([(image, 7)], A.Compose([A.HorizontalFlip(p=1.0)]))
    out, label = pairs[0]
    np.testing.assert_array_equal(out, image[:, ::-1])
    assert label == 7
    dicts = AugmentedDataset([{"image": image, "mask": mask, "bboxes": np.array([[4, 4, 8, 8, 1]]), "id": "a"}],
                             A.Compose([A.HorizontalFlip(p=1.0)]))
    item = dicts[0]
    np.testing.assert_array_equal(item["mask"], mask[:, ::-1])
    np.testing.assert_allclose(item["bboxes"], [[8, 4, 12, 8, 1]])
    assert item["id"] == "a"
    pil = AugmentedDataset([Image.fromarray(image)], A.Compose([A.HorizontalFlip(p=1.0)]))
    np.testing.assert_array_equal(pil[0], image[:, ::-1])
    assert AugmentedDataset([(image, 1)], None)[0][1] == 1


def test_augmented_dataset_errors():
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        AugmentedDataset(iter([]), _pipe())
    with pytest.raises(ValueError, match="seed must be an int >= 0, got -1"):
        AugmentedDataset(_images(), _pipe(), seed=-1)
    ds = AugmentedDataset(_images(3), _pipe())
    with pytest.raises(IndexError, match="index 3 out of range for 3 items"):
        ds[3]
    with pytest.raises(ValueError, match="epoch"):
        ds.set_epoch("1")
    with pytest.raises(ValueError, match="length 3"):
        AugmentedDataset([(_images(1)[0], 1, 2)], _pipe())[0]
    with pytest.raises(ValueError, match="'image' key"):
        AugmentedDataset([{"mask": 1}], _pipe())[0]


# ------------------------------------------------------------------ Loader
def test_loader_batches_identical_for_any_workers():
    ds = AugmentedDataset([(img, i % 3) for i, img in enumerate(_images(23))], _pipe(), seed=5)
    runs = []
    for workers in (0, 1, 3):
        loader = Loader(ds, batch_size=4, seed=9, workers=workers)
        runs.append([(x.copy(), y.copy()) for e in (0, 1) for x, y in loader.epoch(e)])
    assert len(runs[0]) == 2 * 6 and runs[0][-1][0].shape == (3, 8, 8, 3)
    for run in runs[1:]:
        for (xa, ya), (xb, yb) in zip(runs[0], run):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)


def test_loader_epochs_differ_and_iteration_advances():
    ds = AugmentedDataset([(img, i) for i, img in enumerate(_images(10))], _pipe(), seed=0)
    loader = Loader(ds, batch_size=5, seed=1)
    first, second = list(loader), list(loader)  # plain iteration runs epoch 0, then epoch 1
    assert loader.next_epoch == 2
    labels0 = np.concatenate([y for _, y in first])
    labels1 = np.concatenate([y for _, y in second])
    assert sorted(labels0) == list(range(10)) and not np.array_equal(labels0, labels1)
    np.testing.assert_array_equal(labels1, np.concatenate([y for _, y in loader(1)]))
    # same sample, two epochs: different pixels
    pos0, pos1 = list(labels0).index(4), list(labels1).index(4)
    x0 = np.concatenate([x for x, _ in first])[pos0]
    x1 = np.concatenate([x for x, _ in second])[pos1]
    assert not np.array_equal(x0, x1)


def test_loader_order_drop_last_and_plain_items():
    data = [np.full((2, 2), i, np.uint8) for i in range(10)]
    loader = Loader(data, batch_size=4, shuffle=False, drop_last=True)
    batches = list(loader.epoch(0))
    assert len(loader) == len(batches) == 2
    np.testing.assert_array_equal(np.concatenate(batches)[:, 0, 0], np.arange(8))
    assert len(Loader(data, batch_size=4)) == 3
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        Loader(data, batch_size=0)
    with pytest.raises(ValueError, match="workers"):
        Loader(data, batch_size=2, workers=-1)


def test_loader_stops_cleanly_when_consumer_stops_early():
    data = [(np.zeros((4, 4), np.uint8), i) for i in range(64)]
    iterator = Loader(data, batch_size=2, workers=3).epoch(0)
    next(iterator)
    iterator.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("augkit-loader")]
    for _ in Loader(data, batch_size=2, workers=3).epoch(0):
        break
    assert not [t for t in threading.enumerate() if t.name.startswith("augkit-loader")]


def test_loader_propagates_item_errors_and_shape_mismatch():
    class Broken:
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 4:
                raise OSError("disk on fire")
            return np.zeros((3, 3), np.uint8), i

    with pytest.raises(OSError, match="disk on fire"):
        list(Loader(Broken(), batch_size=2, shuffle=False, workers=2).epoch(0))
    with pytest.raises(ValueError, match=r"share one shape.*\(2, 2\).*\(3, 3\)"):
        collate([(np.zeros((2, 2)), 0), (np.zeros((3, 3)), 1)])
    batch = collate([{"image": np.zeros((2, 2)), "bboxes": np.zeros((k, 4))} for k in (1, 2)])
    assert batch["image"].shape == (2, 2, 2) and isinstance(batch["bboxes"], list)


# ------------------------------------------------------------------ ImageFolder and io
@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    (root / "b_dogs" / "sub").mkdir(parents=True)
    (root / "a_cats").mkdir()
    (root / ".hidden").mkdir()
    rgb = np.zeros((6, 4, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    Image.fromarray(rgb).save(root / "a_cats" / "rgb.png")
    Image.fromarray(np.full((6, 4), 100, np.uint8)).save(root / "a_cats" / "gray.png")
    Image.fromarray(np.full((6, 4, 4), 200, np.uint8)).save(root / "a_cats" / "rgba.png")
    Image.fromarray(rgb).convert("P").save(root / "b_dogs" / "palette.gif")
    Image.fromarray(rgb).convert("CMYK").save(root / "b_dogs" / "cmyk.jpg")
    Image.fromarray(np.full((6, 4), 65535 // 2, np.uint16)).save(root / "b_dogs" / "sub" / "deep16.png")
    rotated = Image.fromarray(rgb)
    exif = rotated.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    rotated.save(root / "b_dogs" / "exif.jpg", exif=exif)
    (root / "a_cats" / "notes.txt").write_text("not an image")
    (root / "a_cats" / ".DS_Store").write_bytes(b"\0")
    return root


def test_image_folder_classes_samples_and_modes(folder):
    ds = ImageFolder(folder)
    assert ds.classes == ["a_cats", "b_dogs"]
    names = [p.name for p, _ in ds.samples]
    assert names == ["gray.png", "rgb.png", "rgba.png", "cmyk.jpg", "exif.jpg", "palette.gif", "deep16.png"]
    assert ds.targets == [0, 0, 0, 1, 1, 1, 1]
    for i in range(len(ds)):
        image, _ = ds[i]
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert ds[4][0].shape == (4, 6, 3)  # EXIF orientation applied
    assert ds[5][0][0, 0].tolist() == [255, 0, 0]  # palette converted to real colours
    assert ds[6][0][0, 0].tolist() == [127, 127, 127]  # 16-bit scaled, not clipped
    gray = ImageFolder(folder, mode="L")
    assert gray[0][0].shape == (6, 4) and gray[0][0][0, 0] == 100
    assert ImageFolder(folder, mode="RGBA")[1][0].shape == (6, 4, 4)


def test_read_image_keeps_layout_with_mode_none(folder):
    assert read_image(folder / "a_cats" / "gray.png", mode=None).shape == (6, 4)
    assert read_image(folder / "a_cats" / "rgba.png", mode=None).shape == (6, 4, 4)
    deep = read_image(folder / "b_dogs" / "sub" / "deep16.png", mode=None)
    assert deep.dtype == np.float32 and abs(float(deep[0, 0]) - 32767 / 257) < 1e-3


def test_image_folder_errors(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(ValueError, match="mode must be one of"):
        ImageFolder(folder, mode="CMYK")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class sub-folders"):
        ImageFolder(tmp_path / "empty")
    (folder / "a_cats" / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(OSError, match="broken.png"):
        ImageFolder(folder)[0]


def test_write_image_atomic_and_sixteen_bit(tmp_path):
    deep = np.linspace(0, 255, 12, dtype=np.float32).reshape(3, 4)
    write_image(deep, tmp_path / "d.png")
    assert Image.open(tmp_path / "d.png").mode.startswith("I")
    np.testing.assert_allclose(read_image(tmp_path / "d.png", mode=None), deep, atol=1 / 257)
    write_image(np.zeros((3, 4, 4), np.uint8), tmp_path / "a.jpg", quality=80)
    assert read_image(tmp_path / "a.jpg").shape == (3, 4, 3)
    with pytest.raises(ValueError, match="'.xyz'"):
        write_image(np.zeros((2, 2), np.uint8), tmp_path / "a.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "d.png"]


def test_sample_path_finds_the_faces():
    faces = ImageFolder(sample_path("faces"), mode="L")
    assert faces.classes == ["face", "not_face"] and len(faces) == 200
    with pytest.raises(FileNotFoundError, match="samples"):
        sample_path("no_such_folder")


def test_written_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    from augkit.io import write_image

    old = os.umask(0o022)
    try:
        out = write_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_epoch_iterators_alive_together_keep_their_own_epoch():
    items = [(np.full((6, 6, 3), 10 * i, np.uint8), i) for i in range(8)]
    ds = AugmentedDataset(items, A.Compose([A.Tint(p=1), A.Shift(p=1)]), seed=3)
    loader = Loader(ds, batch_size=4, shuffle=True, seed=1)
    alone = [x for x, _ in loader.epoch(1)]
    first = loader.epoch(1)
    loader.epoch(2)  # sets the dataset's epoch to 2 before the first iterator is consumed
    together = [x for x, _ in first]
    assert all(np.array_equal(a, b) for a, b in zip(alone, together))


# ------------------------------------------------------------------ per-batch loading, seeds, the decode cache
def test_fast_generators_draw_exactly_like_default_rng():
    from augkit._seeds import generators

    rng = np.random.default_rng(11)
    cases = [((0, 0), [0, 1, 2]), ((5,), [7]), ((3, 1, 4, 1, 5), [9, 2 ** 32 - 1]), ((2 ** 32 - 1, 0), [0]),
             ((2 ** 40, 3), [1, 2]), ((7302550453602598619, 2 ** 64 + 5, 2 ** 32), [0, 4]),  # several words each
             ((1, 2), [2 ** 33])]  # an index of two words: numpy's own path
    cases += [(tuple(int(v) for v in rng.integers(0, 2 ** 32, k)), rng.integers(0, 2 ** 32, 5)) for k in (1, 2, 3, 4)]
    for prefix, indices in cases:
        for gen, i in zip(generators(prefix, indices), indices):
            ref = np.random.default_rng((*prefix, int(i)))
            assert gen.integers(0, 2 ** 63, 4).tolist() == ref.integers(0, 2 ** 63, 4).tolist()
            assert gen.random() == ref.random()
    gen = generators((4, 2), [6])[0]
    child, ref_child = gen.spawn(1)[0], np.random.default_rng((4, 2, 6)).spawn(1)[0]
    assert child.random() == ref_child.random()
    assert generators((0, 1), []) == []
    with pytest.raises(ValueError, match="non-negative"):
        generators((0, -1), [1])


def test_uniform_rows_draw_exactly_like_default_rng(monkeypatch):
    """augkit._seeds.uniform_rows: numpy's PCG64 in numba, drawing straight from the seeds, the
    same numbers as default_rng((*prefix, i)).random(k); numpy's own path where the seeds do
    not fit the fast path or the self-check fails."""
    from augkit import _seeds

    rng = np.random.default_rng(12)
    cases = [((0, 0), [0, 1, 2], 9), ((5,), [7], 1), ((3, 1, 4, 1, 5), [9, 2 ** 32 - 1], 70), ((2 ** 40, 3), [1], 5),
             ((1, 2), [2 ** 33], 3), ((0, 1), [], 4), ((6, 6), [3], 0)]
    cases += [(tuple(int(v) for v in rng.integers(0, 2 ** 32, k)), rng.integers(0, 2 ** 32, 6), int(rng.integers(1, 90)))
              for k in (1, 2, 3, 4) for _ in range(10)]

    def want(prefix, indices, k):
        return np.array([np.random.default_rng((*prefix, int(i))).random(k) for i in indices]).reshape(len(indices), k)
    for prefix, indices, k in cases:
        assert np.array_equal(_seeds.uniform_rows(prefix, indices, k), want(prefix, indices, k)), (prefix, k)
    assert _seeds._draws_verified is True
    monkeypatch.setattr(_seeds, "_draws_verified", False)    # as if a numpy drew differently
    assert np.array_equal(_seeds.uniform_rows((3, 1), [0, 8], 5), want((3, 1), [0, 8], 5))
    with pytest.raises(ValueError, match="non-negative"):
        _seeds.uniform_rows((0, -1), [1], 3)


def test_seeded_single_calls_draw_exactly_like_default_rng(monkeypatch):
    """A single call with rng=(seed, epoch, index) draws its uniforms straight from the seeds
    (augkit._seeds.seeded_uniforms, no Generator built): the same output as
    rng=default_rng(seq), on the short way in, the general path (with a mask) and for seeds
    the fast way does not take (one number, a last number of 2**32 or more, numpy ints)."""
    from augkit import _seeds

    pipe = A.Compose([A.RandomCrop(5, 6), A.HorizontalFlip(), A.Shift(p=0.8), A.Tint(p=0.7), A.BoxErase(p=0.6)])
    img = np.random.default_rng(4).integers(0, 256, (8, 9, 3), dtype=np.uint8)
    mask = np.zeros((8, 9), np.uint8)
    seqs = [(0, 0), (0, 0, 0), (3, 1, 4), (2 ** 40, 7, 2 ** 32 - 1), (1, 2, 2 ** 32), (5,), [9, 8], (1, 0, 2 ** 70)]
    seqs += [tuple(int(v) for v in np.random.default_rng(k).integers(0, 2 ** 32, 1 + k % 4)) for k in range(12)]
    pipe(image=img, rng=0)   # the next calls take the short way in
    for seq in seqs:
        want = pipe(image=img, rng=np.random.default_rng(seq))["image"]
        assert np.array_equal(pipe(image=img, rng=seq)["image"], want), seq
        assert np.array_equal(pipe(image=img, rng=seq, mask=mask)["image"], want), seq
        if max(seq) < 2 ** 64:
            assert np.array_equal(pipe(image=img, rng=np.array(seq, np.uint64))["image"], want), seq
    assert _seeds.seeded_uniforms((3, 1, 4), 6).tolist() == np.random.default_rng((3, 1, 4)).random(6).tolist()
    assert _seeds.seeded_uniforms((3,), 6) is None and _seeds.seeded_uniforms((3, 2 ** 32), 6) is None
    assert _seeds.seeded_uniforms((3, 1), 0).shape == (0,)
    monkeypatch.setattr(_seeds, "_draws_verified", False)    # as if a numpy drew differently: Generators
    assert _seeds.seeded_uniforms((3, 1, 4), 6) is None
    assert np.array_equal(pipe(image=img, rng=(3, 1, 4))["image"],
                          pipe(image=img, rng=np.random.default_rng((3, 1, 4)))["image"])


def test_batches_seeded_per_sample_check_their_seeds():
    from augkit._batch import SeedRows
    pipe = A.Compose([A.HorizontalFlip(), A.Tint(p=1)])
    imgs = np.random.default_rng(3).integers(0, 256, (3, 6, 7, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"one per sample \(3\), got 2"):
        pipe.batch(imgs, rng=SeedRows((1, 2), [0, 1]))
    out = pipe.batch(imgs, rng=SeedRows((1, 2), [4, 0, 7]))["image"]
    for k, i in enumerate([4, 0, 7]):
        assert np.array_equal(out[k], pipe(image=imgs[k], rng=(1, 2, i))["image"])


def test_get_batch_equals_get_and_the_rng_tuple():
    images = _images(9)
    ds = AugmentedDataset([(img, i) for i, img in enumerate(images)], _pipe(), seed=4)
    batch = ds.get_batch(np.array([8, 0, 3, -1, 3]), 2)
    for (x, y), i in zip(batch, [8, 0, 3, 8, 3]):
        ref_x, ref_y = ds.get(i, 2)
        np.testing.assert_array_equal(x, ref_x)
        np.testing.assert_array_equal(x, _pipe()(image=images[i], rng=(4, 2, i))["image"])
        assert y == ref_y == i
    assert ds.get_batch([], 0) == []
    np.testing.assert_array_equal(AugmentedDataset(images, None).get_batch([1], 0)[0], images[1])
    seen = []

    def custom(image, rng):  # not an augkit transform: gets the documented tuple
        seen.append(rng)
        return {"image": image}

    AugmentedDataset(images, custom, seed=1).get_batch([2, 5], 3)
    assert seen == [(1, 3, 2), (1, 3, 5)]

    class Blank(AugmentedDataset):
        def get(self, index, epoch):
            image, label = super().get(index, epoch)
            return image * 0, label

    blank = Blank([(img, i) for i, img in enumerate(images)], _pipe(), seed=4)
    x, y = next(iter(Loader(blank, batch_size=3, seed=0).epoch(0)))
    assert not x.any() and len(y) == 3  # the Loader goes through a subclass's own get()
    with pytest.raises(IndexError, match="index 9 out of range for 9 items"):
        ds.get_batch([1, 9], 0)
    with pytest.raises(TypeError, match="sequence of ints"):
        ds.get_batch([True, False], 0)
    with pytest.raises(ValueError, match="epoch"):
        ds.get_batch([1], -1)


def test_loader_batches_match_item_by_item_reads_for_any_workers_and_prefetch():
    items = [(img, i) for i, img in enumerate(_images(21))]
    ds = AugmentedDataset(items, _pipe(), seed=2)
    loader = Loader(ds, batch_size=4, seed=3)
    expected = [(np.stack([ds.get(int(i), 1)[0] for i in idx]), idx) for idx in
                np.array_split(loader.order(1), range(4, 21, 4))]
    for workers, prefetch in ((0, 2), (1, 1), (2, 1), (3, 5)):
        got = list(Loader(ds, batch_size=4, seed=3, workers=workers, prefetch=prefetch).epoch(1))
        assert len(got) == len(expected) == 6
        for (x, y), (ref_x, idx) in zip(got, expected):
            np.testing.assert_array_equal(x, ref_x)
            np.testing.assert_array_equal(y, idx)


def test_image_folder_cache_gives_the_same_items_and_cannot_be_corrupted(folder, monkeypatch):
    import augkit.data as data

    plain = ImageFolder(folder, mode=None)
    cached = ImageFolder(folder, mode=None, cache=True)
    assert "cache=True" in repr(cached) and "cache=" not in repr(plain)
    reads = []
    real_read = data.read_image
    monkeypatch.setattr(data, "read_image", lambda path, mode: reads.append(path) or real_read(path, mode))
    for _ in range(2):
        for i in range(len(plain)):
            (a, la), (b, lb) = plain[i], cached[i]
            assert la == lb and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    assert len(reads) == 2 * len(plain) + len(plain)  # plain twice, cached once
    image, _ = cached[0]
    assert image.flags.writeable
    image[...] = 7  # the caller's copy, not the cache
    np.testing.assert_array_equal(cached[0][0], plain[0][0])
    cached.mode = "L"  # a new mode reads the files again
    assert cached[0][0].ndim == 2
    with pytest.raises(ValueError, match="cache must be True or False"):
        ImageFolder(folder, cache="yes")


def test_image_folder_cache_does_not_keep_failures(folder):
    bad = folder / "a_cats" / "zz_broken.png"
    bad.write_bytes(b"not a png")
    ds = ImageFolder(folder, cache=True)
    k = [str(p) for p, _ in ds.samples].index(str(bad))
    with pytest.raises(OSError, match="cannot read"):
        ds[k]
    Image.fromarray(np.zeros((6, 4, 3), np.uint8)).save(bad, format="PNG")
    assert ds[k][0].shape == (6, 4, 3)


def test_loader_over_cached_folder_matches_uncached(folder):
    pipe = A.Compose([A.CenterCrop(4, 4), A.Tint(p=1)])

    def run(cache, workers, epoch):
        loader = Loader(AugmentedDataset(ImageFolder(folder, cache=cache), pipe, seed=1), batch_size=3, seed=0,
                        workers=workers)
        return list(loader.epoch(epoch))

    for epoch in (0, 1):
        ref = run(False, 0, epoch)
        for workers in (0, 2):
            for (xa, ya), (xb, yb) in zip(ref, run(True, workers, epoch)):
                np.testing.assert_array_equal(xa, xb)
                np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("pipe", [
    _pipe(),
    A.Compose([A.OneOf([A.Shift(p=1), A.Tint(p=1)], p=0.8), A.HorizontalFlip()]),   # general path
    A.Compose([A.RandomCrop(5, 5, p=0.5), A.Tint()]),                                 # sizes differ
])
@pytest.mark.parametrize("kind", ["pairs", "bare", "float", "mixed shapes", "dicts"])
def test_get_batch_stacked_or_not_equals_get(pipe, kind):
    images = list(_images(6))
    if kind == "float":
        images = [im.astype(np.float32) / 255 for im in images]
    if kind == "mixed shapes":
        images[2] = images[2][:7]
    items = {"pairs": [(im, i) for i, im in enumerate(images)], "dicts": [{"image": im, "id": i}
                                                                           for i, im in enumerate(images)]}
    ds = AugmentedDataset(items.get(kind, images), pipe, seed=9)
    batch = ds.get_batch([5, 1, 2, 0], 3)
    for got, i in zip(batch, [5, 1, 2, 0]):
        ref = ds.get(i, 3)
        if kind == "pairs":
            np.testing.assert_array_equal(got[0], ref[0])
            assert got[1] == ref[1] == i
        elif kind == "dicts":
            np.testing.assert_array_equal(got["image"], ref["image"])
            assert got["id"] == i
        else:
            np.testing.assert_array_equal(got, ref)


def test_session_gives_the_same_batches_keeps_one_pool_and_shuts_down():
    import threading
    ds = AugmentedDataset([(img, i) for i, img in enumerate(_images(11))], _pipe(), seed=2)
    loader = Loader(ds, batch_size=3, seed=5, workers=2)
    want = {e: [(x.copy(), y.copy()) for x, y in loader.epoch(e)] for e in range(4)}
    with loader.session() as epochs:
        for e in [0, 1, 2, 0, 3, 3]:        # in order (loaded ahead), out of order, repeated
            got = [(x.copy(), y.copy()) for x, y in epochs(e)]
            assert len(got) == len(want[e])
            for (x, y), (wx, wy) in zip(got, want[e]):
                np.testing.assert_array_equal(x, wx)
                np.testing.assert_array_equal(y, wy)
        pool = epochs.pool
        next(iter(epochs(1)))                # a consumer that stops early
        assert epochs.pool is pool           # one pool for the whole session
    assert not [t for t in threading.enumerate() if t.name.startswith("augkit-loader")]
    with Loader(ds, batch_size=3, seed=5, workers=0).session() as epochs:   # no threads at all
        np.testing.assert_array_equal(next(iter(epochs(2)))[0], want[2][0][0])


def test_rng_sequences_draw_exactly_like_default_rng():
    """rng=(seed, epoch, index) goes through augkit._seeds on every call: the same draws as numpy."""
    from augkit.core import resolve_rng

    rng = np.random.default_rng(5)
    cases = [(0, 0), [3, 1, 4], (7,), [2 ** 32 - 1, 2 ** 32 - 1], (1, 2 ** 32), (2 ** 40, 1, 2), (0, 0, 0, 0, 9),
             [0, 7302550453602598619, 0], (2 ** 96 + 3, 0, 2 ** 33 + 1)]   # augment's (seed, path key, copy)
    cases += [tuple(int(v) for v in rng.integers(0, 2 ** 32, k)) for k in (2, 3, 3, 4)]
    for seq in cases:
        gen, ref = resolve_rng(seq), np.random.default_rng(seq)
        assert gen.integers(0, 2 ** 63, 3).tolist() == ref.integers(0, 2 ** 63, 3).tolist(), seq
        assert gen.random(5).tolist() == ref.random(5).tolist(), seq
        assert gen.spawn(1)[0].random() == ref.spawn(1)[0].random(), seq
    from augkit._seeds import _Words
    assert isinstance(resolve_rng([0, 7302550453602598619, 0]).bit_generator.seed_seq, _Words)  # the fast path


# ------------------------------------------------------------------ review fixes: session epochs, checks, messages
class _Forwarding:
    """A torch-style wrapper (a Subset): items through ``__getitem__``, the epoch only through set_epoch."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        return self.ds[i]

    def set_epoch(self, epoch):
        self.ds.set_epoch(epoch)


@pytest.mark.parametrize("workers", [1, 2])
def test_session_sets_each_epoch_before_loading_it_for_set_epoch_datasets(workers):
    aug = AugmentedDataset(_images(10), A.Compose([A.Tint(p=1.0)]), seed=1)
    loader = Loader(_Forwarding(aug), batch_size=4, shuffle=False, workers=workers)
    want = [[b.copy() for b in loader.epoch(e)] for e in range(3)]
    with loader.session() as epochs:
        got = [[b.copy() for b in epochs(e)] for e in range(3)]
    for e in range(3):
        assert len(got[e]) == len(want[e]) == 3
        for g, w in zip(got[e], want[e]):
            np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(got[1][0], np.stack([aug.get(i, 1) for i in range(4)]))


def test_session_still_loads_ahead_when_the_epoch_is_pinned_per_batch():
    ds = AugmentedDataset(_images(8), _pipe(), seed=4)
    with Loader(ds, batch_size=4, workers=2).session() as epochs:
        list(epochs(0))
        assert epochs.ahead is not None and epochs.ahead[0] == 1
    with Loader(_Forwarding(ds), batch_size=4, workers=2).session() as epochs:
        list(epochs(0))
        assert epochs.ahead is None


def test_loader_order_checks_epoch_like_epoch_does():
    loader = Loader(list(range(10)), 4, seed=0)
    for bad in (-1, 1.5, "0", None, True):
        with pytest.raises(ValueError, match=r"Loader: epoch must be an int >= 0, got " + repr(repr(bad))[1:-1]):
            loader.order(bad)
    assert sorted(loader.order(np.int64(2)).tolist()) == list(range(10))


def test_mixed_channel_counts_advise_one_mode_not_a_crop(tmp_path):
    root = tmp_path / "mixed"
    (root / "c").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / "c" / "a.png")
    Image.fromarray(np.zeros((8, 8, 4), np.uint8)).save(root / "c" / "b.png")
    with pytest.raises(ValueError, match=r"\(8, 8, 3\) and \(8, 8, 4\).*mode=") as info:
        next(iter(Loader(ImageFolder(root, mode=None), 2, shuffle=False)))
    assert "Crop" not in str(info.value)
    with pytest.raises(ValueError, match=r"\(8, 8\) and \(8, 8, 3\).*mode="):
        collate([np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.uint8)])
    with pytest.raises(ValueError, match=r"\(2, 2\) and \(3, 3\).*Crop"):   # sizes differ: a crop helps
        collate([np.zeros((2, 2), np.uint8), np.zeros((3, 3), np.uint8)])


def test_image_folder_extensions_and_index_errors_name_the_argument(folder):
    for bad in (None, 3, ()):
        with pytest.raises(ValueError, match=r"ImageFolder: extensions must be a .*got " + repr(bad).replace("(", r"\(")
                           .replace(")", r"\)")):
            ImageFolder(folder, extensions=bad)
    ds = ImageFolder(folder)
    with pytest.raises(IndexError, match=rf"ImageFolder: index 1000 out of range for {len(ds)} images"):
        ds[1000]
    with pytest.raises(TypeError, match="ImageFolder: index must be an int, got str"):
        ds["a"]
    assert ds[-1][1] == ds[len(ds) - 1][1] and ds[np.int64(0)][0].shape == ds[0][0].shape


def test_collate_of_nothing_says_so():
    with pytest.raises(ValueError, match="collate: items must be a non-empty list"):
        collate([])
