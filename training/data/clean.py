"""Cleaning checks and perceptual hashing for the dataset builder (numpy + Pillow).

Each check returns a reason string when an image should be dropped, or None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from mangacolor.color import chroma, to_gray


@dataclass(frozen=True)
class CleanConfig:
    min_side: int = 64             # shorter side in pixels
    max_aspect: float = 4.0        # long side / short side
    blank_std: float = 0.02        # gray std below this is blank
    min_ink_fraction: float = 0.01 # share of pixels that differ from paper
    colour_chroma: float = 15.0    # Lab chroma that counts as "coloured"
    min_colour_fraction: float = 0.03
    dup_phash: int = 4             # near-duplicate: hashes this close ...
    dup_colour: float = 6.0        # ... and thumbnails this close in Lab
    group_phash: int = 8           # same split group when hashes are this close


def check(rgb: np.ndarray, cfg: CleanConfig) -> str | None:
    """Reason to drop an (H, W, 3) uint8 colour image, or None to keep it."""
    h, w = rgb.shape[:2]
    if min(h, w) < cfg.min_side:
        return f"too small ({w}x{h} < {cfg.min_side} px)"
    if max(h, w) / min(h, w) > cfg.max_aspect:
        return f"extreme aspect ratio ({w}x{h})"
    small = _thumb(rgb, 128)
    gray = to_gray(small)
    ink = np.abs(gray - np.median(gray)) > 0.1
    if gray.std() < cfg.blank_std or ink.mean() < cfg.min_ink_fraction:
        return "near blank"
    if (chroma(small) > cfg.colour_chroma).mean() < cfg.min_colour_fraction:
        return "near monochrome (nothing to learn colour from)"
    return None


def _thumb(rgb: np.ndarray, side: int) -> np.ndarray:
    im = Image.fromarray(rgb)
    im.thumbnail((side, side), Image.BOX)
    return np.asarray(im)


_DCT32 = np.cos(np.pi / 32 * (np.arange(32)[None, :] + 0.5) * np.arange(32)[:, None])


def phash(rgb: np.ndarray) -> int:
    """64-bit perceptual hash: low 8x8 DCT coefficients of a 32x32 gray, above their median."""
    g = np.asarray(Image.fromarray(rgb).convert("L").resize((32, 32), Image.BOX), dtype=np.float64)
    d = (_DCT32 @ g @ _DCT32.T)[:8, :8].ravel()
    bits = d > np.median(d[1:])
    return int(np.packbits(bits).view(">u8")[0])


def colour_thumb(rgb: np.ndarray) -> np.ndarray:
    """8x8 RGB thumbnail (flattened float32) to tell colour variants of one drawing apart."""
    return np.asarray(Image.fromarray(rgb).resize((8, 8), Image.BOX), dtype=np.float32).ravel()


def hamming_matrix(hashes: np.ndarray, rows: slice) -> np.ndarray:
    """(len(rows), N) Hamming distances between uint64 hashes."""
    x = hashes[rows, None] ^ hashes[None, :]
    return np.bitwise_count(x).astype(np.int16)


class UnionFind:
    """Groups near-duplicates so they land in the same split."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)
