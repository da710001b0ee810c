"""Colour hints: parsing and rasterizing into network planes (sampling for training: training/data/hint_sampling.py).

A hint is a `Point` (a disc of colour) or a `Stroke` (a polyline of colour),
given in the input image's pixels. `rasterize` turns any list of hints into the
network's two planes at any resolution:

    hint (3, h, w) float32 = normalised Lab colour * mask
    mask (1, h, w) float32 = 1 where a hint was drawn, else 0
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image, ImageDraw

from .color import parse_hex_color, rgb_to_net

MAX_HINTS = 1000
MAX_STROKE_POINTS = 2000
MAX_RADIUS = 256
DEFAULT_RADIUS = 3
DEFAULT_WIDTH = 4


class HintError(ValueError):
    """Malformed hints; the service answers 400 with this message."""

    status = 400
    code = "bad_hints"


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    color: tuple[int, int, int]
    radius: float = DEFAULT_RADIUS


@dataclass(frozen=True)
class Stroke:
    points: tuple[tuple[float, float], ...]
    color: tuple[int, int, int]
    width: float = DEFAULT_WIDTH


Hint = Point | Stroke


# ----------------------------------------------------------------------------- parsing


def _number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise HintError(f"{what} must be a number, got {str(v)[:40]}")
    try:
        f = float(v)  # a huge JSON integer overflows here
    except OverflowError:
        f = math.inf
    if not math.isfinite(f):
        raise HintError(f"{what} must be a finite number, got {str(v)[:40]}")
    return f


def _in_bounds(x: float, y: float, size: tuple[int, int] | None, what: str) -> None:
    if size is not None and not (0 <= x < size[0] and 0 <= y < size[1]):
        raise HintError(f"{what} ({x:g}, {y:g}) is outside the {size[0]}x{size[1]} image")


def _color(v, what: str) -> tuple[int, int, int]:
    try:
        return parse_hex_color(v)
    except ValueError as e:
        raise HintError(f"{what}: {e}") from None


def parse_hints(data, size: tuple[int, int] | None = None) -> list[Hint]:
    """JSON text or a parsed list -> hints, validated against an image `size` (width, height).

    Points: {"x", "y", "color": "#rrggbb", "radius"?}; strokes: {"points": [[x, y], ...],
    "color", "width"?}. Raises HintError with a message that names the bad item.
    """
    if isinstance(data, (str, bytes)):
        if not data.strip():
            return []
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as e:  # also: too deep, too many digits, bad UTF-8
            raise HintError(f"hints are not valid JSON: {str(e)[:200]}") from None
    if isinstance(data, dict) and "hints" in data:  # a saved hint set
        data = data["hints"]
    if not isinstance(data, list):
        raise HintError("hints must be a JSON list of points and strokes")
    if len(data) > MAX_HINTS:
        raise HintError(f"too many hints: {len(data)} (at most {MAX_HINTS})")
    hints: list[Hint] = []
    for i, item in enumerate(data):
        what = f"hint {i}"
        if not isinstance(item, dict):
            raise HintError(f"{what} must be an object, got {json.dumps(item)[:40]}")
        color = _color(item.get("color"), what)
        if "points" in item:
            pts = item["points"]
            if not isinstance(pts, list) or not 1 <= len(pts) <= MAX_STROKE_POINTS:
                raise HintError(f"{what}: 'points' must be a list of 1 to {MAX_STROKE_POINTS} [x, y] pairs")
            coords = []
            for p in pts:
                if not isinstance(p, (list, tuple)) or len(p) != 2:
                    raise HintError(f"{what}: each stroke point must be [x, y]")
                x, y = _number(p[0], f"{what} x"), _number(p[1], f"{what} y")
                _in_bounds(x, y, size, f"{what} point")
                coords.append((x, y))
            width = _number(item.get("width", DEFAULT_WIDTH), f"{what} width")
            if not 1 <= width <= MAX_RADIUS:
                raise HintError(f"{what}: width must be between 1 and {MAX_RADIUS}")
            hints.append(Stroke(tuple(coords), color, width))
        elif "x" in item and "y" in item:
            x, y = _number(item["x"], f"{what} x"), _number(item["y"], f"{what} y")
            _in_bounds(x, y, size, what)
            radius = _number(item.get("radius", DEFAULT_RADIUS), f"{what} radius")
            if not 0 <= radius <= MAX_RADIUS:
                raise HintError(f"{what}: radius must be between 0 and {MAX_RADIUS}")
            hints.append(Point(x, y, color, radius))
        else:
            raise HintError(f"{what} needs either 'x' and 'y' (a point) or 'points' (a stroke)")
    return hints


def hints_to_json(hints: list[Hint], size: tuple[int, int] | None = None) -> str:
    """Hints -> JSON text that `parse_hints` reads back; `size` is stored so a set can be rescaled."""
    items = []
    for h in hints:
        d = asdict(h)
        d["color"] = "#%02x%02x%02x" % tuple(h.color)
        if isinstance(h, Stroke):
            d["points"] = [list(p) for p in h.points]
        items.append(d)
    return json.dumps({"size": list(size) if size else None, "hints": items})


def scale_hints(hints: list[Hint], sx: float, sy: float) -> list[Hint]:
    """Hints moved to an image scaled by (sx, sy): a hint set re-applied to another page."""
    s = math.sqrt(sx * sy)
    out: list[Hint] = []
    for h in hints:
        if isinstance(h, Point):
            out.append(Point(h.x * sx, h.y * sy, h.color, h.radius * s))
        else:
            out.append(Stroke(tuple((x * sx, y * sy) for x, y in h.points), h.color, max(1.0, h.width * s)))
    return out


# ----------------------------------------------------------------------------- rasterizing


def rasterize(hints: list[Hint], src_size: tuple[int, int], out_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Draw hints given in a `src_size` (w, h) image at `out_size` (w, h).

    Returns (hint (3, h, w) = net colour * mask, mask (1, h, w)); later hints
    paint over earlier ones. A hint never vanishes: it covers at least one pixel.
    """
    ow, oh = out_size
    sx, sy = ow / src_size[0], oh / src_size[1]
    s = math.sqrt(sx * sy)
    color_im = Image.new("RGB", (ow, oh))
    mask_im = Image.new("L", (ow, oh))
    cdraw, mdraw = ImageDraw.Draw(color_im), ImageDraw.Draw(mask_im)
    for h in hints:
        if isinstance(h, Point):
            cx, cy, r = h.x * sx, h.y * sy, max(0.0, h.radius * s)
            if r < 1.0:  # a sub-pixel disc would draw nothing: one pixel instead
                px = (min(int(cx), ow - 1), min(int(cy), oh - 1))
                cdraw.point(px, fill=h.color)
                mdraw.point(px, fill=255)
                continue
            box = [cx - r, cy - r, cx + r, cy + r]
            cdraw.ellipse(box, fill=h.color)
            mdraw.ellipse(box, fill=255)
        else:
            pts = [(x * sx, y * sy) for x, y in h.points]
            w = max(1, round(h.width * s))
            if len(pts) == 1:
                pts = pts * 2
            cdraw.line(pts, fill=h.color, width=w, joint="curve")
            mdraw.line(pts, fill=255, width=w, joint="curve")
            if w > 2:  # round caps
                r = w / 2
                for x, y in (pts[0], pts[-1]):
                    cdraw.ellipse([x - r, y - r, x + r, y + r], fill=h.color)
                    mdraw.ellipse([x - r, y - r, x + r, y + r], fill=255)
    mask = (np.asarray(mask_im) > 127).astype(np.float32)[None]  # (1, h, w)
    hint = np.zeros((3, oh, ow), np.float32)                      # (3, h, w)
    ys, xs = np.nonzero(mask[0])
    if len(ys):  # Lab of the hinted pixels only: the whole plane would cost ~14 ms a page for nothing
        hint[:, ys, xs] = rgb_to_net(np.asarray(color_im)[ys, xs][None])[:, 0]
    return hint, mask
