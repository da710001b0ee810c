"""Safe image loading for anything a user uploads, and PNG encoding.

Every front end (dataset builder, CLI, service, demo) loads pictures through
`load_image`, which returns an (H, W, 3) uint8 RGB array or raises a typed
`ImageError` whose `status` is the HTTP code the service answers with.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own bomb guard stays on; ours is stricter and checked from the header.
DEFAULT_MAX_PIXELS = 40_000_000  # e.g. 5000 x 8000; a 4000 x 6000 page fits
DEFAULT_MAX_SIDE = 16_384
MIN_SIDE = 8  # smaller than this there is nothing to colour
ALLOWED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF", "TIFF"})
SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


class ImageError(ValueError):
    """An image that cannot be used; `status` is the HTTP status to answer with."""

    status = 422
    code = "unreadable_image"


class NotAnImage(ImageError):
    """The bytes are not an image in a format we accept."""

    status = 415
    code = "not_an_image"


class ImageTooLarge(ImageError):
    """Too many pixels or too many bytes (decided before decoding)."""

    status = 413
    code = "too_large"


class UnreadableImage(ImageError):
    """An image header we recognise, but pixels that cannot be decoded."""

    status = 422
    code = "unreadable_image"


def load_image(
    source: bytes | str | os.PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> np.ndarray:
    """Decode `source` (bytes or a path) to an (H, W, 3) uint8 RGB array, safely.

    EXIF orientation is applied, alpha is composited on white, palette, 16-bit,
    CMYK and grayscale images become RGB, animations give their first frame.
    """
    data = Path(source).read_bytes() if isinstance(source, (str, os.PathLike)) else source
    if not data:
        raise NotAnImage("the file is empty (0 bytes)")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            if data.startswith(SIGNATURES):  # it says it is an image, but the header is broken
                raise UnreadableImage("the image header is truncated or corrupt") from None
            raise NotAnImage("not an image: expected PNG, JPEG, WebP, BMP or GIF") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageTooLarge(f"image header declares too many pixels: {e}") from None
        except Exception as e:  # Pillow raises many types on hostile headers
            raise UnreadableImage(f"cannot read the image header: {e}") from None
        if im.format not in ALLOWED_FORMATS:
            raise NotAnImage(f"image format {im.format} is not supported; use PNG, JPEG, WebP, BMP or GIF")
        check_size(im.size, max_pixels=max_pixels, max_side=max_side)
        try:
            im.seek(0)  # first frame of an animation
            im.load()
            im = ImageOps.exif_transpose(im)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageTooLarge(str(e)) from None
        except Exception as e:
            raise UnreadableImage(f"the image is truncated or corrupt: {e}") from None
    return to_rgb(im)


def check_size(size: tuple[int, int], *, max_pixels: int, max_side: int) -> None:
    """Raise ImageTooLarge/UnreadableImage for an absurd (width, height)."""
    w, h = size
    if w < MIN_SIDE or h < MIN_SIDE:
        raise UnreadableImage(f"the image is {w}x{h}; it needs at least {MIN_SIDE}x{MIN_SIDE} pixels")
    if w > max_side or h > max_side or w * h > max_pixels:
        raise ImageTooLarge(
            f"the image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} pixels "
            f"and {max_side} per side: downscale it first"
        )


def to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode to (H, W, 3) uint8 RGB; transparency goes on white."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        # 16-bit files use 0..65535; 'I' may hold either range, so scale by its max
        top = 65535.0 if im.mode.startswith("I;16") or a.max(initial=0) > 255 else 255.0
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(a[:, :, None], 3, axis=2)
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def encode_png(rgb: np.ndarray, compress_level: int = 3) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes (fast compression level: pages are big)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG", compress_level=compress_level)
    return buf.getvalue()


def save_png(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB or grayscale array as PNG, atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    Image.fromarray(rgb).save(tmp, format="PNG", compress_level=3)
    os.replace(tmp, path)
