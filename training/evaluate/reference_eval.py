"""The reference protocol (`mangacolor eval --protocol reference`): colour a page given another
picture of the same character.

For each image of the split, the page (grayscale and line art, made as in the main protocol) is
coloured with a reference that shows the same character in the same outfit in another pose. The
characters split has almost no such pairs (naev ships two), so the second picture is made from the
first: mirrored, rescaled by 0.8 to 0.95, rotated by up to 8 degrees and shifted by up to 8% of its
size, on its own background. Mirroring moves every part to the other side, so methods that copy
colour by position fail; what stays is what a new pose keeps: the same colours on the same parts.

Scored at 0 hints, through the product's pipeline: every model with the reference (global hints +
the transfer's soft prior and the solver) and without it; leaving the page uncoloured; and Welsh,
Ashikhmin and Mueller 2002 (luminance-statistics transfer, gray pages only; on line art the page
has no luminance to match).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from mangacolor.color import rgb_to_net
from mangacolor.compose import compose
from mangacolor.pipeline import decoding_of, finish, prepare, run_model
from mangacolor.reference import prepare_reference, welsh
from training.data.build import load_manifest

from . import metrics
from .run import make_page, resize_long

KINDS = ("grayscale", "lineart")
METRICS = ("psnr", "chroma_de", "colourfulness")


def reference_view(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another view of the same picture: mirrored, smaller, turned and shifted, on its own border colour."""
    h, w = rgb.shape[:2]
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    bg = tuple(int(c) for c in np.median(border, axis=0))
    im = Image.fromarray(rgb).transpose(Image.FLIP_LEFT_RIGHT)
    s = rng.uniform(0.8, 0.95)
    im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
    im = im.rotate(rng.uniform(-8, 8), Image.BILINEAR, expand=False, fillcolor=bg)
    canvas = Image.new("RGB", (w, h), bg)
    dx = round((w - im.width) / 2 + rng.uniform(-0.08, 0.08) * w)
    dy = round((h - im.height) / 2 + rng.uniform(-0.08, 0.08) * h)
    canvas.paste(im, (dx, dy))
    return np.asarray(canvas)


def welsh_page(page: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The Welsh 2002 baseline on a gray page, composed like a prediction (the page keeps its gray)."""
    x = rgb_to_net(page)[:1]
    ab = welsh(x[0], [prepare_reference(ref, max(page.shape[:2]))])
    return compose(page, np.concatenate([x, ab]), "grayscale")


def _score(out: np.ndarray, target: np.ndarray) -> dict:
    return {"psnr": metrics.psnr(out, target), "chroma_de": metrics.chroma_error(out, target),
            "colourfulness": metrics.relative_colourfulness(out, target)}


def evaluate_references(predictors: list, data: str, split: str, limit: int, size: int = 256, seed: int = 0,
                        sources: tuple[str, ...] = (), progress: bool = True) -> list[dict]:
    """One row per (method, item, kind) with PSNR, chroma dE and colourfulness ratio."""
    manifest = load_manifest(data)
    items = [r for r in manifest["items"] if r["split"] == split and (not sources or r["source"] in sources)]
    if limit and len(items) > limit:
        items = [items[i] for i in sorted(np.random.default_rng(seed).choice(len(items), limit, replace=False))]
    rows = []
    for idx, r in enumerate(tqdm(items, desc=f"reference protocol {split}", unit="img", disable=not progress)):
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), size)
        ref = reference_view(target, np.random.default_rng([seed, idx, 99]))
        for k, kind in enumerate(KINDS):
            page = make_page(target, None, kind, np.random.default_rng([seed, idx, k]))
            base = {"item": r["id"], "kind": kind}
            rows.append(base | {"method": "no colour"} | _score(page, target))
            if kind != "lineart":
                rows.append(base | {"method": "welsh 2002"} | _score(welsh_page(page, ref), target))
            for pr in predictors:
                for refs, name in (([ref], f"{pr.name} + reference"), (None, pr.name)):
                    p = prepare(page, [], size, fill=pr.hint_fill, references=refs, kind=kind)
                    out = finish(page, run_model(pr, p)[0], p, kind, "auto", **decoding_of(pr))
                    rows.append(base | {"method": name} | _score(out, target))
    return rows


def summarize(rows: list[dict]) -> dict:
    """{method: {kind: {metric: mean, n}}}."""
    acc = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in rows:
        for m in METRICS:
            acc[r["method"]][r["kind"]][m].append(r[m])
    return {meth: {k: {m: float(np.mean(v)) for m, v in ms.items()} | {"n": len(ms["psnr"])} for k, ms in ks.items()}
            for meth, ks in acc.items()}


def write_reference_report(out: Path, rows: list[dict], split: str) -> str:
    """reference.md and reference.json in `out`; returns the markdown."""
    agg = summarize(rows)
    lines = [f"# Reference protocol, split {split}", "",
             "0 hints; the reference is another view of the same picture (mirrored, scaled, turned, shifted).", "",
             "| method | kind | PSNR | chroma dE | colourfulness | n |", "|---|---|---|---|---|---|"]
    for meth, ks in agg.items():
        for k, s in ks.items():
            lines.append(f"| {meth} | {k} | {s['psnr']:.2f} | {s['chroma_de']:.1f} | {s['colourfulness']:.2f} | {s['n']} |")
    out.mkdir(parents=True, exist_ok=True)
    (out / "reference.json").write_text(json.dumps({"split": split, "summary": agg, "rows": rows}, indent=1))
    text = "\n".join(lines) + "\n"
    (out / "reference.md").write_text(text)
    return text
