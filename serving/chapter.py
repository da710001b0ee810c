"""Whole chapters: CBZ/ZIP in, CBZ out, page order kept, resumable, bad pages reported.

Pages are coloured one by one into a parts folder beside the output; a rerun
skips the parts already there, so an interrupted chapter resumes where it
stopped. The CBZ is assembled (temp file + rename) only when every page is done.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from mangacolor.contract import WORK_SIZE, fit_hints
from mangacolor.hints import Hint
from mangacolor.image_io import ImageError, encode_png, load_image

from .inference import Colorizer

PAGE_EXTS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif")
MAX_PAGES = 2000
MAX_PAGE_BYTES = 64 * 1024 * 1024


class ChapterError(ValueError):
    """The archive itself is unusable (not a zip, no pages, too many pages)."""


@dataclass
class ChapterReport:
    pages: int = 0
    coloured: int = 0
    skipped_colour: int = 0
    resumed: int = 0
    failed: list[str] = field(default_factory=list)  # "name: reason"

    def summary(self) -> str:
        s = f"{self.pages} pages: {self.coloured} coloured, {self.skipped_colour} already in colour"
        if self.resumed:
            s += f", {self.resumed} done in an earlier run"
        if self.failed:
            s += f", {len(self.failed)} failed (kept as they were): " + "; ".join(self.failed)
        return s


def natural_key(name: str):
    """page2 < page10: numbers compare as numbers."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def page_names(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    infos = [i for i in zf.infolist() if not i.is_dir() and i.filename.lower().endswith(PAGE_EXTS)
             and not Path(i.filename).name.startswith(".") and "__MACOSX" not in i.filename]
    if not infos:
        raise ChapterError("the archive holds no pages (PNG, JPEG, WebP, BMP or GIF)")
    if len(infos) > MAX_PAGES:
        raise ChapterError(f"the archive holds {len(infos)} pages; the limit is {MAX_PAGES}")
    return sorted(infos, key=lambda i: natural_key(i.filename))


def colorize_chapter(src: Path, dst: Path, colorizer: Colorizer, mode: str = "auto", hints: list[Hint] | None = None,
                     hint_size: tuple[int, int] | None = None, skip_colored: bool = True, work_size: int = WORK_SIZE,
                     progress: Callable[[int, int, str], None] | None = None, quality: str = "fast",
                     refine: str = "auto", references: list[np.ndarray] | None = None) -> ChapterReport:
    """Colour every page of `src` (CBZ/ZIP) into `dst` (CBZ); returns what happened to each page.
    references: coloured pictures ((H, W, 3) uint8) every page is coloured like (serving.references)."""
    try:
        zf = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError) as e:
        raise ChapterError(f"{Path(src).name} is not a readable CBZ/ZIP archive: {e}") from None
    parts = dst.with_name(f".{dst.name}.parts")
    parts.mkdir(parents=True, exist_ok=True)
    report = ChapterReport()
    with zf:
        infos = page_names(zf)
        report.pages = len(infos)
        for n, info in enumerate(infos):
            done = _part(parts, n)
            if progress:
                progress(n, len(infos), info.filename)
            if done:
                report.resumed += 1
                continue
            try:
                if info.file_size > MAX_PAGE_BYTES:
                    raise ImageError(f"page is {info.file_size / 1e6:.0f} MB uncompressed; "
                                     f"the limit is {MAX_PAGE_BYTES / 1e6:.0f} MB")
                raw = zf.read(info)
                rgb = load_image(raw)
                res = colorizer.colorize(rgb, mode, fit_hints(hints, hint_size, (rgb.shape[1], rgb.shape[0])),
                                         work_size, skip_colored, quality, refine, references=references)
                if res.skipped:
                    report.skipped_colour += 1
                    body, ext = raw, Path(info.filename).suffix.lower()
                else:
                    report.coloured += 1
                    body, ext = encode_png(res.image), ".png"
            except (ImageError, zipfile.BadZipFile, OSError, ValueError) as e:
                report.failed.append(f"{info.filename}: {e}")
                body, ext = zf.read(info) if info.file_size <= MAX_PAGE_BYTES else b"", Path(info.filename).suffix.lower()
            _write_part(parts / f"{n:05d}{ext}", body)
        if progress:
            progress(len(infos), len(infos), "")
        _assemble(parts, dst, [Path(i.filename) for i in infos])
    return report


def _part(parts: Path, n: int) -> Path | None:
    """The finished part file of page n, if any (temp files do not count)."""
    return next((p for p in parts.glob(f"{n:05d}.*") if p.suffix != ".tmp"), None)


def _write_part(path: Path, body: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)


def _assemble(parts: Path, dst: Path, names: list[Path]) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as out:  # pages are already compressed
        for n, name in enumerate(names):
            part = _part(parts, n)
            out.write(part, str(name.with_suffix(part.suffix)))
    os.replace(tmp, dst)
    shutil.rmtree(parts, ignore_errors=True)

