"""Augment the sample photographs with a pipeline and save a side-by-side picture.

    python samples/augment_samples.py [--pipeline samples/pipelines/seed.json] [--out out/samples]

For every image in ``samples/images`` it writes ``--copies`` augmented
versions and one ``<name>_side_by_side.png`` (original, then the copies).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

import augkit

HERE = Path(__file__).resolve().parent


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pipeline", default=str(HERE / "pipelines" / "seed.json"))
    ap.add_argument("--out", default="out/samples")
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    pipe = augkit.load(args.pipeline)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(sorted((HERE / "images").glob("*.png"))):
        image = np.asarray(Image.open(path).convert("RGB"))
        tiles = [image]
        for k in range(args.copies):
            aug = pipe(image=image, rng=(args.seed, index, k))["image"]
            Image.fromarray(aug).save(out / f"{path.stem}_aug{k}.png")
            tiles.append(aug)
        gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
        row = np.concatenate([x for t in tiles for x in (t, gap)][:-1], axis=1)
        Image.fromarray(row).save(out / f"{path.stem}_side_by_side.png")
        print(f"{path.name}: {args.copies} copies -> {out}")


if __name__ == "__main__":
    main()
