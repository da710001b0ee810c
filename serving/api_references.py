"""Reference pictures for POST /colorize: coloured pictures of the same characters (mangacolor.reference).

Each `reference` file is read within the request's one byte budget (the image and every reference
together), decoded like the page (same formats, pixel limits and error codes) and named by its
position, counted from 1, in every error: "reference 2: not an image ...".
"""

from __future__ import annotations

import numpy as np
from fastapi import File

from mangacolor.image_io import ImageError, load_image
from mangacolor.reference import MAX_REFERENCES

from .api import ApiError
from .references import shrink

DESCRIPTION = (f"up to {MAX_REFERENCES} coloured pictures of the same characters (PNG, JPEG, WebP, BMP or GIF; "
               "repeat the field): their colours are carried to matching places of the page; hints win")


def reference_field():
    """The optional, repeatable `reference` file field, documented in the OpenAPI schema."""
    return File([], description=DESCRIPTION)


def check_count(n: int) -> None:
    """More references than the pipeline takes is a 400 naming the limit (checked before any is read)."""
    if n > MAX_REFERENCES:
        raise ApiError(400, "too_many_references", f"at most {MAX_REFERENCES} reference pictures, got {n}")


async def read_references(uploads, budget: int, limit: int) -> list[bytes]:
    """The references' bytes, in order; `budget`: the bytes the request has left after its image, so N
    references never get N times the limit (`limit`, the whole request's, is named in the error)."""
    out = []
    for i, upload in enumerate(uploads, 1):
        data = await upload.read(max(budget, 0) + 1)
        if len(data) > budget:
            raise ApiError(413, "too_large", f"reference {i}: the image and its references together are over "
                                             f"the {limit:,} byte limit")
        budget -= len(data)
        out.append(data)
    return out


def decode_references(blobs: list[bytes], max_pixels: int) -> list[np.ndarray]:
    """Bytes -> (H, W, 3) uint8 pictures, each shrunk right after decoding (serving.references.shrink: a
    request holds at most one full-size reference in memory at a time); an
    ApiError naming the reference (counted from 1) for one that cannot be used."""
    check_count(len(blobs))
    refs = []
    for i, data in enumerate(blobs, 1):
        try:
            rgb = load_image(data, max_pixels=max_pixels)
        except ImageError as e:
            raise ApiError(e.status, e.code, f"reference {i}: {e}") from None
        refs.append(shrink(rgb))
    return refs
