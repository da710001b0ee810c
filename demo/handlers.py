"""Demo handlers: plain typed functions, callable (and tested) without Gradio.

A backend colours pages: `LocalBackend` runs the shared inference code in this
process (inside the service: the live models), `RemoteBackend` calls an HTTP
API. Both offer `colorize(rgb, mode, hints, work_size, skip_colored, quality)`,
the signature the chapter code uses too.
"""

from __future__ import annotations

import math
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mangacolor.contract import WORK_SIZE, fit_hints, read_hint_set
from mangacolor.hints import Hint, Point, hints_to_json
from mangacolor.image_io import encode_png, load_image, to_rgb
from serving.inference import Colorizer, Result

MAX_HINT_POINTS = 800


class RemoteBackend:
    """Colours pages through a running mangacolor HTTP API."""

    def __init__(self, url: str, timeout: float = 300):
        self.url, self.timeout = url.rstrip("/"), timeout

    def colorize(self, rgb: np.ndarray, mode: str = "auto", hints: list[Hint] | None = None, work_size: int = WORK_SIZE,
                 skip_colored: bool = False, quality: str = "fast", refine: str = "auto") -> Result:
        import httpx

        from mangacolor.kinds import is_colored

        if skip_colored and is_colored(rgb):
            return Result(rgb, "colour", skipped=True)
        size = (rgb.shape[1], rgb.shape[0])
        data = {"mode": mode, "quality": quality, "refine": refine, "hints": hints_to_json(hints or [], size)}
        r = httpx.post(f"{self.url}/colorize", files={"image": ("page.png", encode_png(rgb), "image/png")},
                       data=data, timeout=self.timeout)
        if r.status_code != 200:
            try:
                detail = r.json()["detail"]
            except ValueError:
                detail = r.text[:200]
            raise ValueError(f"the API answered {r.status_code}: {detail}")
        return Result(load_image(r.content), r.headers.get("x-input-kind", mode))


def local_backend(model: str | None = None) -> Colorizer:
    """In-process colouring: an exported model folder, or the store's live models."""
    return Colorizer.load(model) if model else Colorizer.live()


# ----------------------------------------------------------------------------- hints from the editor


def _rgba(a) -> np.ndarray | None:
    if a is None:
        return None
    if isinstance(a, Image.Image):
        a = np.asarray(a.convert("RGBA"))
    a = np.asarray(a)
    if a.ndim == 2:
        a = np.stack([a] * 3 + [np.full_like(a, 255)], axis=-1)
    if a.shape[-1] == 3:
        a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255, a.dtype)], axis=-1)
    return a.astype(np.uint8)


def page_and_hints(editor: dict | None) -> tuple[np.ndarray, list[Hint]]:
    """Gradio ImageEditor value -> (page (H, W, 3) uint8, hints from every stroke drawn on a layer)."""
    if not editor or editor.get("background") is None:
        raise ValueError("upload a page first")
    bg = _rgba(editor["background"])
    page = to_rgb(Image.fromarray(bg, "RGBA"))
    hints: list[Hint] = []
    for layer in editor.get("layers") or []:
        hints += layer_hints(_rgba(layer))
    return page, hints[:MAX_HINT_POINTS]


def layer_hints(layer: np.ndarray | None) -> list[Hint]:
    """Painted pixels of an RGBA layer -> point hints on a grid over the stroke (at most ~800)."""
    if layer is None:
        return []
    ys, xs = np.nonzero(layer[..., 3] > 127)
    if len(ys) == 0:
        return []
    step = max(1, math.ceil(math.sqrt(len(ys) / MAX_HINT_POINTS)))
    keep = (ys % step == 0) & (xs % step == 0)
    if not keep.any():
        keep[0] = True
    return [Point(float(x), float(y), tuple(int(c) for c in layer[y, x, :3]), radius=step / 2)
            for y, x in zip(ys[keep], xs[keep])]


def draw_hints(size: tuple[int, int], hints: list[Hint]) -> np.ndarray:
    """Hints -> an (H, W, 4) RGBA layer for the editor, so a loaded hint set can be seen and edited."""
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    for h in hints:
        if isinstance(h, Point):
            r = max(1.0, h.radius)
            d.ellipse([h.x - r, h.y - r, h.x + r, h.y + r], fill=(*h.color, 255))
        else:
            d.line([tuple(p) for p in h.points], fill=(*h.color, 255), width=max(1, round(h.width)))
    return np.asarray(layer)


# ----------------------------------------------------------------------------- handlers


def colorize_page(backend, editor: dict | None, mode: str = "auto", quality: str = "fast",
                  work_size: int = WORK_SIZE, refine: str = "auto") -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], str, str]:
    """Colour the page in the editor with its hints.

    Returns (result, (before, after) for the comparison slider, path of the full-size PNG, status line).
    """
    page, hints = page_and_hints(editor)
    res = backend.colorize(page, mode, hints, int(work_size), False, quality, refine)
    out = Path(tempfile.mkdtemp(prefix="mangacolor-")) / "coloured.png"
    out.write_bytes(encode_png(res.image))
    status = (f"{page.shape[1]}x{page.shape[0]} page, input kind: {res.kind}, {len(hints)} hint points, "
              f"quality: {quality}, refine: {refine}")
    return res.image, (page, res.image), str(out), status


def save_hint_set(editor: dict | None) -> str:
    """The editor's hints as a JSON hint set (with the page size, so it can be rescaled)."""
    page, hints = page_and_hints(editor)
    if not hints:
        raise ValueError("draw some hints first: nothing to save")
    path = Path(tempfile.mkdtemp(prefix="mangacolor-")) / "hints.json"
    path.write_text(hints_to_json(hints, (page.shape[1], page.shape[0])))
    return str(path)


def load_hint_set(hint_file: str | None, editor: dict | None) -> dict:
    """Put a saved hint set onto the current page, scaled to its size; returns the new editor value."""
    if not hint_file:
        raise ValueError("choose a hints .json file")
    page, _ = page_and_hints(editor)
    hints, size = read_hint_set(Path(hint_file).read_text())
    hints = fit_hints(hints, size, (page.shape[1], page.shape[0]))
    return {"background": page, "layers": [draw_hints((page.shape[1], page.shape[0]), hints)], "composite": None}


def colorize_chapter(backend, files: list[str] | None, mode: str = "auto", quality: str = "fast",
                     skip_colored: bool = True, progress=None, refine: str = "auto") -> tuple[str, str]:
    """A CBZ/ZIP (or several images) -> a coloured CBZ and a report line. `progress(fraction, desc=)` is optional."""
    from serving.chapter import colorize_chapter as run_chapter

    if not files:
        raise ValueError("upload a .cbz/.zip chapter or some page images")
    work = Path(tempfile.mkdtemp(prefix="mangacolor-chapter-"))
    archives = [f for f in files if Path(f).suffix.lower() in (".cbz", ".zip")]
    if archives:
        if len(files) > 1:
            raise ValueError("upload one chapter archive at a time (or only images)")
        src, name = Path(archives[0]), Path(archives[0]).stem
    else:
        src, name = work / "pages.zip", "chapter"
        with zipfile.ZipFile(src, "w") as z:
            for f in files:
                z.write(f, Path(f).name)
    dst = work / f"{name}-coloured.cbz"

    def report(i, n, page):
        if progress is not None and n:
            progress(i / n, desc=f"page {min(i + 1, n)} of {n}")

    rep = run_chapter(src, dst, backend, mode, skip_colored=skip_colored, progress=report, quality=quality,
                     refine=refine)
    return str(dst), rep.summary()


def example_pages(folder: Path) -> list[str]:
    """Example images shipped with the demo (see demo/examples/LICENSE.md)."""
    return sorted(str(p) for p in folder.glob("*.png"))

