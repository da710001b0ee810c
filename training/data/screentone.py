"""Manga-page synthesis: grayscale renders and screentone (halftone) renders.

A printed manga page keeps pure black and white, and renders mid tones as
screentone: a few flat densities of dots or lines at some pitch and angle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mangacolor.color import to_gray
from mangacolor.filters import gaussian_blur


@dataclass(frozen=True)
class ToneParams:
    pitch: float = 6.0      # pixels between dot centres
    angle: float = 45.0     # degrees
    pattern: str = "dots"   # "dots" | "lines"
    levels: int = 4         # distinct tone densities, as sheets of screentone
    white: float = 0.92     # lighter than this stays paper
    black: float = 0.12     # darker than this stays solid ink


def halftone(gray: np.ndarray, p: ToneParams = ToneParams()) -> np.ndarray:
    """(H, W) float gray in [0, 1] -> (H, W) float32 screentoned page."""
    h, w = gray.shape
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.deg2rad(p.angle)
    u = x * np.cos(t) + y * np.sin(t)
    v = -x * np.sin(t) + y * np.cos(t)
    f = 2 * np.pi / p.pitch
    if p.pattern == "dots":
        spot = (np.cos(f * u) + np.cos(f * v)) / 4 + 0.5  # AM dot spot function, 0..1
    elif p.pattern == "lines":
        spot = (np.cos(f * v) + 1) / 2
    else:
        raise ValueError(f"unknown screentone pattern {p.pattern!r}; use 'dots' or 'lines'")
    darkness = 1.0 - gray
    # flat densities: quantize the darkness of mid tones to a few levels
    dq = np.ceil(darkness * p.levels) / (p.levels + 1)
    toned = np.where(dq > spot, 0.0, 1.0)
    out = np.where(gray >= p.white, 1.0, np.where(gray <= p.black, 0.0, toned))
    return out.astype(np.float32)


def random_manga_page(rgb: np.ndarray, rng: np.random.Generator, screentone: bool) -> np.ndarray:
    """(H, W, 3) uint8 colour -> (H, W) float32 grayscale or screentoned page in [0, 1]."""
    gray = to_gray(rgb)
    gamma = float(rng.uniform(0.8, 1.25))
    gray = np.clip(gray, 0.0, 1.0) ** gamma
    if not screentone:
        return gray.astype(np.float32)
    p = ToneParams(
        pitch=float(rng.uniform(3.5, 9.0)),
        angle=float(rng.choice([0.0, 15.0, 30.0, 45.0, 60.0, 75.0]) + rng.uniform(-3, 3)),
        pattern="dots" if rng.random() < 0.75 else "lines",
        levels=int(rng.integers(2, 6)),
        white=float(rng.uniform(0.85, 0.95)),
        black=float(rng.uniform(0.05, 0.2)),
    )
    page = halftone(gray, p)
    if rng.random() < 0.5:  # scanned, slightly soft dots
        page = np.clip(gaussian_blur(page, float(rng.uniform(0.3, 0.7))), 0.0, 1.0)
    return page
