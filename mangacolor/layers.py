"""A coloured page as layers an artist can edit: an OpenRaster file (.ora), which Krita (checked: docs/api.md),
MyPaint, Pinta and GIMP 3 open. Built from the page and its colouring alone (numpy + Pillow + scipy), so every front
end can offer it without touching the model.

The two layers undo the composition of mangacolor.compose:

- line art: "lines" (the page, Multiply) over "colours" (the flat colours, under the lines too): the
  same product compose makes, so the layers show the result to a level (under dark lines, up to what
  the line lets through where two colours meet);
- grayscale / screentone: "colour" (the coloured page, blend mode Color: its hue and saturation, the
  lightness of what is below) over "page" (the page as it was; a screentone page descreened, as the
  pipeline coloured it, see mangacolor.descreen). Color keeps the painter's luminosity
  (0.3 R + 0.59 G + 0.11 B), not CIE L*, so the layers come within a few levels of the result on most
  pixels, not exactly; `mergedimage.png` inside the file is the result itself.

Repaint the colour layer with any colour: the lines and the page's shading stay on top or below.
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image

from .color import gray_levels
from .contract import KINDS
from .descreen import descreen
from .filters import nearest_outside
from .image_io import encode_png

MIMETYPE = "image/openraster"
THUMB_SIDE = 256  # the OpenRaster thumbnail's longest side
# Under a line darker than this (0 to 255) the page says too little to divide the colour out of the
# result: the flat colour there is a nearest lighter pixel's.
LINE_LEVEL = 128


def page_layer(page: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 page -> its layer: (H, W) gray when it is neutral (a third the bytes), else as it is."""
    levels = gray_levels(page)
    return page if levels is None else levels


def flat_colours(page: np.ndarray, coloured: np.ndarray) -> np.ndarray:
    """Line art: (H, W, 3) page and its colouring (colour x page / 255, mangacolor.compose) -> (H, W, 3)
    uint8 flat colours, colour = coloured x 255 / page where the page is light; under dark lines,
    the colour of a nearest light pixel."""
    # a line, in any channel (np.minimum of the planes: 25x faster than page.min(axis=2) on a 1200x1700 page)
    dark = np.minimum(np.minimum(page[..., 0], page[..., 1]), page[..., 2]) < LINE_LEVEL
    if dark.all():  # no light pixel: no colour to carry, white flats
        return np.full_like(coloured, 255)
    # coloured x 255 / page, rounded, in integers: coloured x 255 + 127 fits in uint16, and on light pixels
    # (page >= LINE_LEVEL) the quotient is at most 255 x 255 / 128 + 1, so the clip only trims what rounding adds
    p = np.maximum(page, 1).astype(np.uint16)
    flats = np.minimum((coloured.astype(np.uint16) * 255 + p // 2) // p, 255).astype(np.uint8)
    if dark.any():
        iy, ix = nearest_outside(dark)
        ys, xs = np.nonzero(dark)
        flats[ys, xs] = flats[iy[ys, xs], ix[ys, xs]]
    return flats


def layers(page: np.ndarray, coloured: np.ndarray, kind: str,
           base: np.ndarray | None = None) -> list[tuple[str, np.ndarray, str]]:
    """(name, pixels, OpenRaster composite-op) from top to bottom for a page coloured as `kind`. base: the page
    the colour was composed onto when the caller has it (mangacolor.pipeline.Prepared.base); None: made here."""
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {KINDS}")
    if page.shape != coloured.shape or page.ndim != 3 or page.shape[2] != 3:
        raise ValueError(f"page {page.shape} and coloured page {coloured.shape} must be the same (H, W, 3)")
    if kind == "lineart":
        return [("lines", page_layer(page), "svg:multiply"), ("colours", flat_colours(page, coloured), "svg:src-over")]
    if base is None:
        base = descreen(page) if kind == "screentone" else page  # the tones the colour was composed on
    return [("colour", coloured, "svg:color"), ("page", page_layer(base), "svg:src-over")]


def to_ora(page: np.ndarray, coloured: np.ndarray, kind: str, png: bytes | None = None,
           base: np.ndarray | None = None) -> bytes:
    """The page's layers as an OpenRaster file (bytes): `mimetype` first and stored, as the format asks,
    stack.xml, one PNG per layer, mergedimage.png (the coloured page) and a thumbnail. png: the coloured
    page as PNG when the caller has it already; it is also a gray page's colour layer, so encoded once.
    base: as in `layers` (a screentone page's descreened copy is not made twice)."""
    stack = layers(page, coloured, kind, base)
    merged = encode_png(coloured, 1) if png is None else png
    h, w = page.shape[:2]
    thumb = Image.fromarray(coloured)
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    entries = [f'<layer name={quoteattr(name)} src="data/{name}.png" composite-op="{op}" opacity="1.0" '
               f'visibility="visible" x="0" y="0"/>' for name, _, op in stack]
    xml = (f"<?xml version='1.0' encoding='UTF-8'?>\n<image version=\"0.0.5\" w=\"{w}\" h=\"{h}\">\n<stack>\n"
           + "\n".join(entries) + "\n</stack>\n</image>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:  # PNGs are compressed already
        z.writestr("mimetype", MIMETYPE)
        z.writestr("stack.xml", xml, compress_type=zipfile.ZIP_DEFLATED)
        for name, pixels, _ in stack:
            z.writestr(f"data/{name}.png", merged if pixels is coloured else encode_png(pixels, 1))
        z.writestr("mergedimage.png", merged)
        z.writestr("Thumbnails/thumbnail.png", encode_png(np.asarray(thumb), 1))
    return buf.getvalue()
