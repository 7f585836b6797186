"""Regenerate the sample data in this folder from scikit-image's bundled data.

Everything here comes from images that ship with scikit-image (no download):

- ``images/``: a few public sample photographs, resized to at most 256 px.
- ``faces/``: the "lfw_subset" array (200 grayscale 25x25 images; the first
  100 are faces, the last 100 are not) as an image folder with one sub-folder
  per class, the embedded default of ``augkit train``.

Run ``python samples/make_samples.py`` from the repository root.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

HERE = Path(__file__).resolve().parent
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry")
MAX_SIDE = 256


def export_photos(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        img = Image.fromarray(getattr(data, name)())
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        img.save(folder / f"{name}.png", optimize=True)


def export_faces(folder: Path) -> None:
    faces = data.lfw_subset()
    for i, arr in enumerate(faces):
        label = "face" if i < 100 else "not_face"
        out = folder / label
        out.mkdir(parents=True, exist_ok=True)
        pixels = np.clip(np.round(arr * 255), 0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(out / f"{label}_{i % 100:03d}.png")


if __name__ == "__main__":
    export_photos(HERE / "images")
    export_faces(HERE / "faces")
    print(f"wrote {HERE / 'images'} and {HERE / 'faces'}")
