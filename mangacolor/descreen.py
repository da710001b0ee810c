"""Descreening: a screentone page's dots become the tones they print as, before it is coloured.

A screentone page is paper and ink only; its mid tones are dots (or lines) at some pitch. Coloured as it
is, its white dots stay white and its black dots black, so the colour barely shows, and the network sees
dots it cannot read at the working size. So a screentone page is first blurred at its own dot pitch, found
as the sharpest peak of its spectrum, and then coloured like a grayscale page (network input, solver and
composition alike). Ink that is not tone, lettering and lines on clean paper, stays as it was (mangacolor.ink);
lines that touch tone soften by the same blur (about a third of a dot pitch). A page with no clear dot screen
is left as it is.

Measured on validation (docs/benchmarks.md, "Screentone"): the pages score several dB higher than
composed under their own dots.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from .color import gray_levels, to_gray
from .ink import sharp_ink

PITCHES = (2.5, 12.0)  # dot pitches looked for, in page pixels (a 300 to 1200 dpi scan of a 100 lpi screen)
PEAK = 25.0            # a dot screen: a spectral peak this many times the median at those pitches
SIGMA = 0.35           # the blur's standard deviation, in dot pitches
WINDOW = 512           # the spectrum is taken over windows this big (a page's dots are the same everywhere)
HARMONIC_CONTRAST = 8.0  # a 0-degree screen's fundamental: a peak this many times its ring's median (_peak)


def _windows(page: np.ndarray) -> list[np.ndarray]:
    """(H, W, ...) -> up to five WINDOW-sized views: the centre and the middles of the four quarters (a window
    of paper alone has no peak; one of them usually holds tone). Each distinct window once: a page no bigger
    than WINDOW is one window."""
    H, W = page.shape[:2]
    h, w = min(H, WINDOW), min(W, WINDOW)
    origins = {}  # (y0, x0) -> None, in order
    for cy, cx in ((0.5, 0.5), (0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75)):
        origins[int(np.clip(cy * H - h / 2, 0, H - h)), int(np.clip(cx * W - w / 2, 0, W - w))] = None
    return [page[y0:y0 + h, x0:x0 + w] for y0, x0 in origins]


def _peak(g: np.ndarray) -> tuple[float, float, float]:
    """(h, w) gray -> (how far its sharpest spectral peak at a dot pitch stands above the median there,
    the screen's pitch in pixels, the direction of one of its axes in radians). A Hann window keeps the
    window's edges from adding peaks of their own. The bins next to the two axes are left out: a picture's
    straight horizontal or vertical edges spread their energy along them. A dot screen at 0 degrees then
    shows its diagonal harmonic first, at the pitch / sqrt(2), and its fundamentals beside the axes give its
    pitch and axes (_is_diagonal_harmonic); a screen of lines at 0 degrees is not found."""
    h, w = g.shape
    hann = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
    spectrum = np.abs(np.fft.rfft2((g - g.mean()) * hann))         # (h, w // 2 + 1)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    radius = np.sqrt(fy**2 + fx**2)
    band = (radius > 1 / PITCHES[1]) & (radius < 1 / PITCHES[0]) & (np.abs(fy) * h > 3) & (np.abs(fx) * w > 3)
    if not band.any():
        return 0.0, 0.0, 0.0
    values = np.where(band, spectrum, 0.0)
    i = np.unravel_index(np.argmax(values), values.shape)
    if values[i] <= 0:  # a flat window
        return 0.0, 0.0, 0.0
    pitch, angle = float(1.0 / radius[i]), float(np.arctan2(fy[i[0], 0], fx[0, i[1]]))
    if _is_diagonal_harmonic(spectrum, w, fy[i[0], 0], fx[0, i[1]], values[i]):
        pitch, angle = pitch * 2.0**0.5, angle + np.pi / 4  # the fundamentals lie 45 degrees either side
    return float(values[i] / (np.median(spectrum[band]) + 1e-9)), pitch, angle


def _is_diagonal_harmonic(spectrum: np.ndarray, w: int, fy: float, fx: float, peak: float) -> bool:
    """Whether the peak at (fy, fx) cycles per pixel is a dot screen's diagonal harmonic, its fundamentals lying
    on or next to the axes, which the search leaves out: a square screen's fundamentals sit 45 degrees either side
    of that harmonic at 1 / sqrt(2) of its frequency. Both must be peaks at least half as strong, and each HARMONIC_
    CONTRAST times the median of its own ring (rotated copies of the point), where a picture's straight edges give
    the axes a smooth ridge rather than a peak. w: the window's width (the rfft keeps w // 2 + 1 columns)."""
    for turn in (np.pi / 4, -np.pi / 4):
        c, s = np.cos(turn) / np.sqrt(2.0), np.sin(turn) / np.sqrt(2.0)
        gy, gx = c * fy + s * fx, -s * fy + c * fx
        value = _spectrum_at(spectrum, w, gy, gx)
        ring = [_spectrum_at(spectrum, w, gy * np.cos(a) + gx * np.sin(a), -gy * np.sin(a) + gx * np.cos(a))
                for a in np.linspace(0, np.pi, 24, endpoint=False)]
        if value < 0.5 * peak or value < HARMONIC_CONTRAST * np.median(ring):
            return False
    return True


def _spectrum_at(spectrum: np.ndarray, w: int, fy: float, fx: float) -> float:
    """The rfft2 magnitude of a window w wide at (fy, fx) cycles per pixel: the largest of the 3 x 3 bins around
    it (a peak between bins), the half plane the rfft leaves out read through the spectrum's symmetry."""
    if fx < 0:
        fy, fx = -fy, -fx
    h = spectrum.shape[0]
    y, x = int(round(fy * h)) % h, int(round(fx * w))
    return float(spectrum[np.arange(y - 1, y + 2)[:, None] % h, np.clip(np.arange(x - 1, x + 2), 0, spectrum.shape[1] - 1)].max())


def screen_peak(rgb: np.ndarray) -> tuple[float, float, float]:
    """(H, W, 3) uint8 page -> (the sharpest spectral peak at a dot pitch over the page's windows, as a
    multiple of the median there; the screen's pitch in pixels; one of its axes in radians). Input-kind
    detection reads the ratio too. Only the windows are made gray: a page may be 40 MP."""
    return max(_peak(to_gray(win)) for win in _windows(rgb))


def find_screen(rgb: np.ndarray) -> tuple[float, float]:
    """(H, W, 3) uint8 page -> (the pitch of its dot screen in pixels, or 0.0 when it shows none; the direction of
    one of the screen's axes in radians)."""
    ratio, pitch, angle = screen_peak(rgb)
    return (pitch, angle) if ratio > PEAK else (0.0, 0.0)


def dot_pitch(rgb: np.ndarray) -> float:
    """(H, W, 3) uint8 page -> the pitch of its dot screen in pixels, or 0.0 when it shows none."""
    return find_screen(rgb)[0]


def descreen(rgb: np.ndarray, screen: tuple[float, float] | None = None) -> np.ndarray:
    """(H, W, 3) uint8 screentone page -> (H, W, 3) uint8 neutral page, blurred by SIGMA dot pitches except for
    the ink that is not tone (mangacolor.ink), which stays as it was. screen: (pitch, axis) as find_screen gives
    it; None: found here. A page with no dot screen comes back unchanged (the same array)."""
    pitch, angle = find_screen(rgb) if screen is None else screen
    if pitch <= 0:
        return rgb
    levels = gray_levels(rgb)  # a neutral page (the usual case): its gray levels as they are
    plane = levels if levels is not None else np.round(to_gray(rgb) * 255).astype(np.uint8)
    keep = sharp_ink(plane, pitch, angle)
    # the kept ink stands on paper: blurred as paper, it leaves no dark halo on the paper round it.
    # Pillow's Gaussian blur works on the 8-bit page in C, with no full-size float copies (pages go to 40 MP)
    gray = Image.fromarray(np.ascontiguousarray(np.where(keep, np.uint8(255), plane)))
    soft = np.asarray(gray.filter(ImageFilter.GaussianBlur(float(SIGMA * pitch))))
    return np.repeat(np.where(keep, plane, soft)[..., None], 3, axis=2)
