"""Safe image loading for anything a user uploads, and PNG encoding.

Every front end (dataset builder, CLI, service, demo) loads pictures through
`load_image`, which returns an (H, W, 3) uint8 RGB array or raises a typed
`ImageError` whose `status` is the HTTP code the service answers with.
`encode_png` writes PNG itself (numpy filter, zlib on every core): a colour page
in about half the time of Pillow's encoder at the same compression.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
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
            ImageOps.exif_transpose(im, in_place=True)  # not in place, it copies every unrotated page
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
    if im.mode == "L":  # gray pages, the common case: one plane read, written three times
        gray = np.asarray(im)
        rgb = np.empty(gray.shape + (3,), np.uint8)
        for c in range(3):
            rgb[..., c] = gray
        return rgb
    rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> gray, gray + alpha, RGB, RGBA
_PNG_BAND = 64  # rows filtered at a time, into one reused buffer that stays in the CPU cache
_PNG_PIECE_BYTES = 1 << 20  # at least this much raw image per piece: small images stay in one
_PNG_PIECES = min(4, os.cpu_count() or 1)  # one piece per core, the caller's thread doing one of them
_png_pool: tuple[int, ThreadPoolExecutor] | None = None  # (owning process id, pool)


def _png_threads() -> ThreadPoolExecutor:
    """The encoder's threads, started on first use (nothing starts at import) and anew in a forked
    child, where the parent's threads do not exist."""
    global _png_pool
    if _png_pool is None or _png_pool[0] != os.getpid():
        _png_pool = (os.getpid(), ThreadPoolExecutor(max(1, _PNG_PIECES - 1), thread_name_prefix="png"))
    return _png_pool[1]


def _adler32_combine(a1: int, a2: int, len2: int) -> int:
    """Adler-32 of A + B from adler(A), adler(B) and len(B) (zlib's adler32_combine)."""
    base = 65521
    rem = len2 % base
    s1 = ((a1 & 0xFFFF) + (a2 & 0xFFFF) + base - 1) % base
    s2 = (rem * (a1 & 0xFFFF) + (a1 >> 16) + (a2 >> 16) + base - rem) % base
    return s1 | (s2 << 16)


def _idat_piece(rows: np.ndarray, r0: int, r1: int, level: int, first: bytes, last: bool) -> tuple[list, int]:
    """Rows r0..r1 of the (H, stride) image, Up-filtered and deflated, as one IDAT chunk (a list of
    byte strings); and the Adler-32 of the filtered bytes. Pieces end on a sync flush, the last
    one on the stream's end, so their deflate data joins into one zlib stream."""
    n = rows.shape[1]
    buf = np.empty((min(_PNG_BAND, r1 - r0), n + 1), np.uint8)
    buf[:, 0] = 2  # filter type Up: each byte minus the byte above it (zero above the first row)
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)  # raw deflate: the zlib wrapper is ours
    parts, adler = [first] if first else [], 1
    for y in range(r0, r1, _PNG_BAND):
        y1 = min(y + _PNG_BAND, r1)
        f = buf[: y1 - y]
        if y == 0:
            f[0, 1:] = rows[0]
            np.subtract(rows[1:y1], rows[: y1 - 1], out=f[1:, 1:])
        else:
            np.subtract(rows[y:y1], rows[y - 1 : y1 - 1], out=f[:, 1:])
        adler = zlib.adler32(f, adler)
        parts.append(comp.compress(f))
    parts.append(comp.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH))
    size = sum(len(p) for p in parts)
    crc = zlib.crc32(b"IDAT")
    for p in parts:
        crc = zlib.crc32(p, crc)
    return [struct.pack(">I", size) + b"IDAT", *parts, struct.pack(">I", crc)], adler


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def encode_png(rgb: np.ndarray, compress_level: int = 3) -> bytes:
    """(H, W, 3) uint8 -> PNG bytes (also (H, W) gray, (H, W, 4) RGBA); level 1 is the fast one.

    Every row is Up-filtered (Pillow tries all five filters per row: the same size to 1%,
    at twice the time) and a big image is deflated in pieces on several cores."""
    a = np.asarray(rgb)
    channels = 1 if a.ndim == 2 else a.shape[-1] if a.ndim == 3 else 0
    if a.dtype != np.uint8 or channels not in _PNG_COLOUR_TYPE or 0 in a.shape:
        buf = io.BytesIO()  # anything else (16-bit, bool, empty): Pillow's encoder
        Image.fromarray(a).save(buf, format="PNG", compress_level=compress_level)
        return buf.getvalue()
    h, w = a.shape[:2]
    rows = np.ascontiguousarray(a).reshape(h, w * channels)
    level = min(9, max(0, int(compress_level)))
    flg = (0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3) << 6  # zlib's level hint
    header = bytes([0x78, flg + (31 - (0x78 * 256 + flg) % 31) % 31])  # deflate, 32K window; checksum bits
    k = max(1, min(_PNG_PIECES, rows.nbytes // _PNG_PIECE_BYTES, h))
    cuts = [h * i // k for i in range(k + 1)]
    jobs = [(rows, cuts[i], cuts[i + 1], level, header if i == 0 else b"", i == k - 1) for i in range(k)]
    later = [_png_threads().submit(_idat_piece, *job) for job in jobs[1:]]  # this thread does the first
    pieces = [_idat_piece(*jobs[0]), *(f.result() for f in later)]
    adler = pieces[0][1]
    for (r0, r1), (_parts, a2) in zip(zip(cuts[1:], cuts[2:]), pieces[1:]):
        adler = _adler32_combine(adler, a2, (r1 - r0) * (rows.shape[1] + 1))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, _PNG_COLOUR_TYPE[channels], 0, 0, 0)
    trailer = _chunk(b"IDAT", struct.pack(">I", adler))  # the zlib stream's checksum, in its own chunk
    return b"".join([_PNG_SIGNATURE, _chunk(b"IHDR", ihdr), *(p for parts, _ in pieces for p in parts), trailer,
                     _chunk(b"IEND", b"")])


def save_png(rgb: np.ndarray, path: str | os.PathLike) -> None:
    """Write an RGB or grayscale array as PNG, atomically (temp file + rename)."""
    write_atomic(path, encode_png(rgb, 3))


def write_atomic(path: str | os.PathLike, body: bytes) -> None:
    """Write a file whole or not at all: a temp file beside it, then a rename."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)
