"""Demo handlers: plain typed functions, callable (and tested) without Gradio.

A backend colours pages: `LocalBackend` runs the shared inference code in this
process (inside the service: the live models), `RemoteBackend` calls an HTTP
API. Both offer `colorize(rgb, mode, hints, work_size, skip_colored, quality, refine,
references=)`, the signature the chapter code uses too.
"""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mangacolor.compose import gray_input, working_size
from mangacolor.contract import KINDS, WORK_SIZE, fit_hints, read_hint_set
from mangacolor.hints import Hint, Point, hints_to_json
from mangacolor.image_io import encode_png, load_image, to_rgb
from mangacolor.kinds import detect_kind
from mangacolor.layers import to_ora
from mangacolor.reference import MAX_REFERENCES, as_hints, transfer
from serving.inference import Colorizer, Result
from serving.references import coloured_pages, load_references, pick

MAX_HINT_POINTS = 800


class RemoteBackend:
    """Colours pages through a running mangacolor HTTP API."""

    def __init__(self, url: str, timeout: float = 300):
        self.url, self.timeout = url.rstrip("/"), timeout
        self._sent: tuple[list[np.ndarray], list[tuple]] = ([], [])  # the last references and their encoding

    def colorize(self, rgb: np.ndarray, mode: str = "auto", hints: list[Hint] | None = None, work_size: int = WORK_SIZE,
                 skip_colored: bool = False, quality: str = "fast", refine: str = "auto",
                 references: list[np.ndarray] | None = None) -> Result:
        import httpx

        from mangacolor.kinds import is_colored

        if skip_colored and is_colored(rgb):
            return Result(rgb, "colour", skipped=True)
        size = (rgb.shape[1], rgb.shape[0])
        data = {"mode": mode, "quality": quality, "refine": refine, "hints": hints_to_json(hints or [], size)}
        files = [("image", ("page.png", encode_png(rgb), "image/png")), *self.reference_files(references or [])]
        r = httpx.post(f"{self.url}/colorize", files=files, data=data, timeout=self.timeout)
        if r.status_code != 200:
            try:
                detail = r.json()["detail"]
            except (ValueError, KeyError, TypeError):
                detail = r.text[:200]
            raise ValueError(f"the API answered {r.status_code}: {detail}")
        return Result(load_image(r.content), r.headers.get("x-input-kind", mode))

    def reference_files(self, references: list[np.ndarray]) -> list[tuple]:
        """References as repeated multipart `reference` files of POST /colorize, in JPEG (only their colours
        count, and the request stays small); a chapter sends the same ones with every page: encoded once."""
        if len(references) > MAX_REFERENCES:
            raise ValueError(f"at most {MAX_REFERENCES} references, got {len(references)}")
        last, files = self._sent
        if len(last) != len(references) or any(a is not b for a, b in zip(last, references)):
            files = [("reference", (f"reference{i}.jpg", _jpeg(r), "image/jpeg")) for i, r in enumerate(references)]
            self._sent = (list(references), files)
        return files


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[..., :3])).save(buf, "JPEG", quality=92)
    return buf.getvalue()


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


def colorize_page(backend, editor: dict | None, mode: str = "auto", quality: str = "fast", work_size: int = WORK_SIZE,
                  refine: str = "auto", references: list[str] | None = None
                  ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], str, str, str | None]:
    """Colour the page in the editor with its hints, like the uploaded reference pictures (if any).

    Returns (result, (before, after) for the comparison slider, path of the full-size PNG, status line,
    path of its layers as OpenRaster (mangacolor.layers), None when the backend did not say the kind).
    """
    page, hints = page_and_hints(editor)
    refs = load_references(references)
    res = backend.colorize(page, mode, hints, int(work_size), False, quality, refine,
                           references=[r.rgb for r in refs] or None)
    folder = Path(tempfile.mkdtemp(prefix="mangacolor-"))
    png, png_path = encode_png(res.image), folder / "coloured.png"
    png_path.write_bytes(png)
    ora = None
    if res.kind in KINDS:  # (an API too old to say which kind it coloured: no layers, the page still comes back)
        ora = folder / "coloured.ora"
        ora.write_bytes(to_ora(page, res.image, res.kind, png))
    status = (f"{page.shape[1]}x{page.shape[0]} page, input kind: {res.kind}, {len(hints)} hint points, "
              f"{len(refs)} references, quality: {quality}, refine: {refine}")
    return res.image, (page, res.image), str(png_path), status, ora and str(ora)


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


def suggest_hints(editor: dict | None, references: list[str] | None, mode: str = "auto",
                  work_size: int = WORK_SIZE) -> tuple[dict, str]:
    """The colours the references give this page, as hint dots drawn into the editor's hint layer (where the
    user has not painted), to be seen, edited or erased before colouring; returns (editor value, status)."""
    page, _ = page_and_hints(editor)
    refs = load_references(references)
    if not refs:
        raise ValueError("upload one or more reference pictures first")
    kind = detect_kind(page) if mode == "auto" else mode
    (h, w), (H, W) = working_size(*page.shape[:2], int(work_size)), page.shape[:2]
    tr = transfer(gray_input(page, (h, w)), kind, [r.rgb for r in refs])
    hints = as_hints(tr, (H, W), page=None if kind == "lineart" else page)
    layers = [_rgba(a) for a in editor.get("layers") or []]
    layer = layers[0] if layers and layers[0].shape[:2] == (H, W) else np.zeros((H, W, 4), np.uint8)
    dots = draw_hints((W, H), hints)
    free = (layer[..., 3] == 0) & (dots[..., 3] > 0)  # the user's own strokes stay as they are
    layer = layer.copy()
    layer[free] = dots[free]
    status = (f"{len(hints)} hints suggested from {len(refs)} references ({kind}): erase or repaint any, then press "
              "**Colour**" if hints else "the references gave no colour here with confidence: draw hints instead")
    return {"background": page, "layers": [layer, *layers[1:]], "composite": None}, status


def colorize_chapter(backend, files: list[str] | None, mode: str = "auto", quality: str = "fast",
                     skip_colored: bool = True, progress=None, refine: str = "auto", references: list[str] | None = None,
                     use_coloured: bool = False) -> tuple[str, str]:
    """A CBZ/ZIP (or several images) -> a coloured CBZ and a report line. `progress(fraction, desc=)` is optional.
    references: pictures every page is coloured like; use_coloured: the pages already in colour too (kept)."""
    from serving.chapter import colorize_chapter as run_chapter

    if not files:
        raise ValueError("upload a .cbz/.zip chapter or some page images")
    given = load_references(references)
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

    used, line = pick(given, coloured_pages(src, MAX_REFERENCES - len(given)) if use_coloured else [])
    rep = run_chapter(src, dst, backend, mode, skip_colored=skip_colored or use_coloured, progress=report,
                      quality=quality, refine=refine, references=[r.rgb for r in used] or None)
    return str(dst), rep.summary() + (f"; {line}" if used or use_coloured else "")


def example_pages(folder: Path) -> list[str]:
    """Example images shipped with the demo (see demo/examples/LICENSE.md)."""
    return sorted(str(p) for p in folder.glob("*.png"))

