"""Small generated illustration folders for tests: real files, planted problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

PALETTE = [(220, 40, 40), (40, 160, 60), (50, 80, 220), (240, 200, 40), (200, 90, 200), (30, 190, 200), (250, 140, 30)]


def drawing(seed: int, size: tuple[int, int] = (150, 110)) -> tuple[Image.Image, Image.Image]:
    """A colour picture (random flat shapes with black outlines) and its line art, size (W, H)."""
    rng = np.random.default_rng(seed)
    w, h = size
    color = Image.new("RGB", size, "white")
    line = Image.new("RGB", size, "white")
    for _ in range(int(rng.integers(3, 6))):
        x0, y0 = int(rng.integers(0, w * 2 // 3)), int(rng.integers(0, h * 2 // 3))
        x1, y1 = x0 + int(rng.integers(w // 5, w // 2)), y0 + int(rng.integers(h // 5, h // 2))
        fill = PALETTE[int(rng.integers(len(PALETTE)))]
        shape = "ellipse" if rng.random() < 0.5 else "rectangle"
        getattr(ImageDraw.Draw(color), shape)([x0, y0, x1, y1], fill=fill, outline=(0, 0, 0), width=3)
        getattr(ImageDraw.Draw(line), shape)([x0, y0, x1, y1], fill="white", outline=(0, 0, 0), width=3)
    return color, line


def make_sources(root: Path, n_paired: int = 24, n_color: int = 24) -> dict[str, Path]:
    """Two source folders under root: 'pairs' (color/ + line/) and 'clips' (colour only).

    Planted in 'clips': an exact copy, a near copy (named to sort after their originals), a blank, a tiny, a monochrome,
    a corrupt file and a text file named .png; in 'pairs' one colour file with no line art.
    """
    pairs, clips = root / "pairs", root / "clips"
    for d in (pairs / "color", pairs / "line", clips / "sub"):
        d.mkdir(parents=True, exist_ok=True)
    for i in range(n_paired):
        colour, line = drawing(1000 + i)
        colour.save(pairs / "color" / f"p{i:03d}.png")
        line.save(pairs / "line" / f"p{i:03d}.png")
    drawing(5000)[0].save(pairs / "color" / "lonely.png")  # no matching line art
    (pairs / "source.json").write_text(json.dumps({"name": "pairs", "license": "CC0 (test fixture)",
                                                "version": "1.2-3test"}))
    for i in range(n_color):
        drawing(2000 + i, size=(130, 170))[0].save(clips / "sub" / f"c{i:03d}.png")
    shutil.copy(clips / "sub" / "c000.png", clips / "zz_exact_copy.png")
    near = np.asarray(Image.open(clips / "sub" / "c001.png")).copy()
    near[5:8, 5:8] = 0  # a few pixels changed: same picture to any eye
    Image.fromarray(near).save(clips / "zz_near_copy.png")
    Image.new("RGB", (140, 120), "white").save(clips / "blank.png")
    drawing(3000, size=(40, 30))[0].save(clips / "tiny.png")
    drawing(3001)[0].convert("L").convert("RGB").save(clips / "mono.png")
    good = (clips / "sub" / "c002.png").read_bytes()
    (clips / "corrupt.png").write_bytes(good[: len(good) // 2])
    (clips / "notes.png").write_text("this is not an image")
    return {"pairs": pairs, "clips": clips}
