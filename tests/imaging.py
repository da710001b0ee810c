"""Shared helpers of the imaging tests: page sizes, Hypothesis settings, small pictures.

Sizes are deliberately asymmetric (H != W, neither a multiple of 8) so that swapped axes,
(w, h) / (h, w) mix-ups and padding bugs fail loudly.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from hypothesis import HealthCheck, settings
from PIL import Image

from mangacolor.color import rgb_to_lab

H, W = 251, 173  # page height, width: asymmetric, neither a multiple of 8
SMALL_H, SMALL_W = 37, 61
FIG_H, FIG_W = 83, 61  # the reference tests' figure

FAST = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)




def png_bytes(im: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR (valid CRC) declares width x height RGB, with a tiny
    IDAT that cannot possibly hold those pixels: decoding it would fail."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def rect_page(h: int = H, w: int = W, color=(200, 40, 40)) -> np.ndarray:
    """A colour rectangle (rows 60..179, cols 40..129) on white paper."""
    rgb = np.full((h, w, 3), 255, np.uint8)
    rgb[60:180, 40:130] = color
    return rgb


def outlined_page() -> np.ndarray:
    """White paper, three flat colour areas separated by 2-px black outlines."""
    rgb = np.full((H, W, 3), 255, np.uint8)
    rgb[20:120, 10:90] = (220, 60, 50)
    rgb[20:120, 90:163] = (40, 90, 200)
    rgb[130:230, 10:163] = (60, 170, 80)
    rgb[18:20, 8:165] = 0
    rgb[120:122, 8:165] = 0
    rgb[20:120, 88:90] = 0
    rgb[128:130, 8:165] = 0
    rgb[230:232, 8:165] = 0
    rgb[18:232, 8:10] = 0
    rgb[18:232, 163:165] = 0
    return rgb


def mask_centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask[0])
    assert len(ys) > 0, "the hint drew nothing"
    return np.array([ys.mean(), xs.mean()])


def figure(h=FIG_H, w=FIG_W, left=(200, 40, 40), right=(40, 60, 200), skin=(240, 200, 170)) -> np.ndarray:
    """A figure on white: a red left half and a blue right half of different gray, a light face on top."""
    img = np.full((h, w, 3), 255, np.uint8)
    img[h // 3:h - 5, 8:w // 2] = left
    img[h // 3:h - 5, w // 2:w - 8] = right
    img[5:h // 3, w // 3:2 * w // 3] = skin
    return img


def outlines(rgb: np.ndarray) -> np.ndarray:
    """The line art of a flat picture: black 2 px lines where its colour changes, white paper elsewhere."""
    c = rgb.astype(int)
    edge = np.zeros(rgb.shape[:2], bool)
    edge[1:] |= (c[1:] != c[:-1]).any(-1)
    edge[:, 1:] |= (c[:, 1:] != c[:, :-1]).any(-1)
    edge[:-1] |= edge[1:].copy()
    edge[:, :-1] |= edge[:, 1:].copy()
    return np.repeat(np.where(edge, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def gray_page(rgb: np.ndarray) -> np.ndarray:
    """The page a colour picture prints as in gray: its CIE lightness on all three channels."""
    g = np.round(rgb_to_lab(rgb)[..., 0] / 100 * 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=2)


def like_the_figure(out: np.ndarray) -> bool:
    """Red left half, blue right half, as in `figure` (not gray)."""
    h, w = out.shape[:2]
    r, g, b = out[h // 2:h - 8, 11:w // 2 - 3].reshape(-1, 3).astype(int).mean(0)
    r2, g2, b2 = out[h // 2:h - 8, w // 2 + 3:w - 11].reshape(-1, 3).astype(int).mean(0)
    return r > b + 60 and r > g + 60 and b2 > r2 + 60 and b2 > g2 + 60
