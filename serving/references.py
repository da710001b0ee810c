"""Reference pictures for the front ends (CLI, demo): load and check the user's, find a chapter's pages
already in colour, and pick at most MAX_REFERENCES of them (mangacolor.reference does the colouring).

    given = load_references(["hero.png", "villain.jpg"])          # BadReference (a ValueError) when bad
    found = coloured_pages(Path("ch1.cbz"), MAX_REFERENCES - len(given))
    used = given + found[:MAX_REFERENCES - len(given)]
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mangacolor.image_io import ImageError, load_image
from mangacolor.kinds import is_colored
from mangacolor.reference import MAX_REFERENCES

from .inference import MAX_WORK

# References are only ever seen at a page's working size (at most MAX_WORK) or smaller, so they are kept
# no larger: eight of them stay small in memory and in a request to the API.
REFERENCE_SIDE = MAX_WORK


class BadReference(ValueError):
    """A reference that cannot be used, or too many of them; the message names it."""


@dataclass(frozen=True)
class Reference:
    name: str          # what the user calls it: a file name, or a chapter page's name
    rgb: np.ndarray    # (h, w, 3) uint8, long side at most REFERENCE_SIDE


def shrink(rgb: np.ndarray, side: int = REFERENCE_SIDE) -> np.ndarray:
    """(H, W, 3) uint8 -> the same picture with a long side of at most `side` (area-averaged)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= side:
        return rgb
    s = side / max(h, w)
    return np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))), Image.BOX))


def load_references(paths: list[str | Path] | None) -> list[Reference]:
    """Files -> references, with the pages' loader and limits (mangacolor.image_io.load_image); a missing,
    unreadable or non-image file, or more than MAX_REFERENCES of them, raises BadReference."""
    paths = [Path(p) for p in paths or []]
    if len(paths) > MAX_REFERENCES:
        raise BadReference(f"at most {MAX_REFERENCES} references, got {len(paths)}")
    refs = []
    for p in paths:
        if not p.is_file():
            raise BadReference(f"reference {p} does not exist" if not p.exists() else f"reference {p} is not a file")
        try:
            refs.append(Reference(p.name, shrink(load_image(p))))
        except (ImageError, OSError) as e:
            raise BadReference(f"reference {p.name} cannot be used: {e}") from None
    return refs


def coloured_pages(src: Path, limit: int) -> list[Reference]:
    """The first `limit` + 1 pages of a CBZ/ZIP that are already in colour, in page order (one more than
    asked, so a caller can tell that some were left out). Unreadable pages and archives are passed over:
    colouring the chapter reports them."""
    from .chapter import MAX_PAGE_BYTES, ChapterError, page_names

    found: list[Reference] = []
    if limit <= 0:
        return found
    try:
        with zipfile.ZipFile(src) as zf:
            for info in page_names(zf):
                if info.file_size <= MAX_PAGE_BYTES:
                    _add_if_coloured(found, Path(info.filename).name, lambda: zf.read(info))
                if len(found) > limit:
                    break
    except (zipfile.BadZipFile, ChapterError, OSError):
        pass
    return found


def coloured_images(paths: list[Path], limit: int) -> list[Reference]:
    """Like `coloured_pages` for image files (a folder of pages)."""
    found: list[Reference] = []
    for p in paths:
        if len(found) > limit or limit <= 0:
            break
        _add_if_coloured(found, p.name, p.read_bytes)
    return found


def _add_if_coloured(found: list[Reference], name: str, read) -> None:
    try:
        rgb = load_image(read())
    except (ImageError, OSError, zipfile.BadZipFile):
        return
    if is_colored(rgb):
        found.append(Reference(name, shrink(rgb)))


def pick(given: list[Reference], found: list[Reference]) -> tuple[list[Reference], str]:
    """The user's references first, then pages in colour, at most MAX_REFERENCES in all -> (used, a line
    that says which are used)."""
    room = MAX_REFERENCES - len(given)
    used = given + found[:max(0, room)]
    parts = [f"{r.name} (given)" for r in given] + [f"{r.name} (page in colour)" for r in found[:max(0, room)]]
    line = "references: " + (", ".join(parts) if parts else "none (no page in colour found)")
    if len(found) > max(0, room):
        line += f"; more pages in colour left out (at most {MAX_REFERENCES} references)"
    return used, line
