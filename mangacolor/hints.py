"""Colour hints: parsing, rasterizing into network planes, and sampling for training.

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
from .filters import box_mean

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


# ----------------------------------------------------------------------------- sampling for training


@dataclass(frozen=True)
class HintSamplerConfig:
    p_none: float = 0.45          # share of samples with no hints at all
    mean_count: float = 7.0       # geometric count of hints when there are some
    max_count: int = 60
    max_patch: int = 9            # mean-colour patches of 1..max_patch px
    p_stroke: float = 0.15        # share of hints that are short strokes
    flat_std: float = 6.0         # local Lab std below which colour counts as flat
    jitter: float = 3.0           # std of the colour jitter, 0..255 units


def flat_mask(rgb: np.ndarray, threshold: float, radius: int = 2) -> np.ndarray:
    """(H, W) bool: where the local colour is nearly flat (not on lines or edges)."""
    lab = rgb.astype(np.float32)  # RGB variance is a fine proxy and much cheaper
    var = np.zeros(rgb.shape[:2], np.float32)
    for c in range(3):
        m = box_mean(lab[..., c], radius)
        var += np.maximum(box_mean(lab[..., c] ** 2, radius) - m * m, 0.0)
    return np.sqrt(var / 3) < threshold


def sample_hints(rgb: np.ndarray, rng: np.random.Generator, cfg: HintSamplerConfig = HintSamplerConfig()) -> list[Hint]:
    """Draw training hints from a ground-truth (H, W, 3) uint8 image, as a user would place them."""
    if rng.random() < cfg.p_none:
        return []
    n = min(int(rng.geometric(1.0 / cfg.mean_count)), cfg.max_count)
    return sample_n_hints(rgb, n, rng, cfg)


def sample_n_hints(rgb: np.ndarray, n: int, rng: np.random.Generator, cfg: HintSamplerConfig = HintSamplerConfig()) -> list[Hint]:
    """Exactly up to `n` hints on flat colour (fewer when the image has no flat area)."""
    h, w = rgb.shape[:2]
    flat = flat_mask(rgb, cfg.flat_std)
    # users hint coloured areas, not the paper or the black outlines
    inked = flat & (rgb.min(axis=2) < 240) & (rgb.max(axis=2) > 40)
    ys, xs = np.nonzero(inked if inked.any() else flat)
    if len(ys) == 0 or n <= 0:
        return []
    hints: list[Hint] = []
    for i in rng.integers(0, len(ys), size=n):
        y, x = int(ys[i]), int(xs[i])
        if rng.random() < cfg.p_stroke:
            stroke = _walk_stroke(rgb, flat, x, y, rng, cfg.jitter)
            if stroke is not None:
                hints.append(stroke)
                continue
        s = int(rng.integers(1, cfg.max_patch + 1))
        y0, x0 = max(0, y - s // 2), max(0, x - s // 2)
        patch = rgb[y0:y0 + s, x0:x0 + s].reshape(-1, 3).astype(np.float32)
        # mean over the patch pixels of the same colour region (a patch may reach past an edge)
        same = np.abs(patch - rgb[y, x].astype(np.float32)).max(axis=1) <= 12
        color = patch[same].mean(axis=0) + rng.normal(0, cfg.jitter, 3)
        hints.append(Point(float(x), float(y), _clip_color(color), radius=(s - 1) / 2))
    return hints


def _clip_color(c) -> tuple[int, int, int]:
    r, g, b = np.clip(np.round(c), 0, 255).astype(int)
    return int(r), int(g), int(b)


def _walk_stroke(rgb, flat, x, y, rng, jitter: float, max_dist: float = 12.0):
    """A short straight-ish stroke from (x, y) that stays on flat, same-coloured pixels."""
    h, w = flat.shape
    start = rgb[y, x].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    pts = [(float(x), float(y))]
    cx, cy = float(x), float(y)
    for _ in range(int(rng.integers(2, 6))):
        ang += rng.normal(0, 0.4)
        step = rng.uniform(3, 8)
        nx, ny = cx + step * np.cos(ang), cy + step * np.sin(ang)
        if not (0 <= nx <= w - 1 and 0 <= ny <= h - 1):
            break
        ix, iy = int(round(nx)), int(round(ny))
        if not flat[iy, ix]:
            break
        if np.abs(rgb[iy, ix].astype(np.float32) - start).max() > max_dist:
            break
        pts.append((nx, ny))
        cx, cy = nx, ny
    if len(pts) < 2:
        return None
    return Stroke(tuple(pts), _clip_color(start + rng.normal(0, jitter, 3)), width=float(rng.integers(1, 4)))
