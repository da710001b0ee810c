"""The evaluation protocol: every model and baseline on the same pages and hints.

For each image of the split (resized to a long side of `size`) and each input kind
(line art, grayscale page, screentone page), a page is made with seeds fixed by
(seed, item, kind). It is coloured under several hint settings:
- "mix": hints drawn as in training (none for ~45% of pages, else a geometric count);
- 0, 1, 2, 5, 8, 10, 20, 32, 50 hint patches sampled from the target with fixed seeds
  (the PSNR-vs-hints curve of Zhang et al. 2017).
Every method goes through mangacolor.pipeline, the code path the product serves, with the
product's refinement (`refine`, mangacolor.refine: "auto" runs the solver where there are hints).
Hint dE (colour error at the hinted pixels) is scored at every setting; on gray pages on the
chroma plane only, since their luminance is the page's own; on line art at hinted paper pixels
only, since lines stay black under any colour.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
from PIL import Image
from tqdm import tqdm

from mangacolor.color import net_to_rgb, rgb_to_net, to_uint8
from mangacolor.contract import KINDS
from mangacolor.hints import rasterize
from mangacolor.pipeline import decoding_of, finish, prepare, with_fill
from mangacolor.regions import LINE_THRESHOLD
from mangacolor.solver import DEFAULT as DEFAULT_SOLVER
from mangacolor.solver import SolverConfig
from training.data.build import load_manifest
from training.data.hint_sampling import HintSamplerConfig, sample_hints, sample_n_hints
from training.data.lineart import random_lineart
from training.data.screentone import random_manga_page

from . import metrics
from .baselines import BASELINES, run_baseline
from .predictors import predict_all

CURVE_HINTS = (0, 1, 2, 5, 8, 10, 20, 32, 50)
GALLERY = 16


@dataclass(frozen=True)
class EvalConfig:
    data: str
    split: str = "val"
    size: int = 256                 # long side of evaluated pages (= the working size)
    limit: int = 100                # images of the split (0 = all); chosen deterministically
    seed: int = 0
    hint_counts: tuple[int, ...] = CURVE_HINTS
    kinds: tuple[str, ...] = KINDS  # a subset scores the same pages and hints as a run of all three
    baselines: tuple[str, ...] = BASELINES
    refine: str = "auto"            # the models' refinement, as the product runs them
    sources: tuple[str, ...] = ()   # only the split's images from these sources (empty: all)
    solver: SolverConfig = DEFAULT_SOLVER  # the models' solver settings (`--solver`): the product's by default


@dataclass
class Results:
    rows: list[dict] = field(default_factory=list)   # one per (method, item, kind, setting)
    worst: list = field(default_factory=list)        # heap of (-psnr, tiebreak, images) for the first model
    mean_lab: list[float] = field(default_factory=list)


def resize_long(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = size / max(h, w)
    return np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS))


def make_page(target: np.ndarray, line: np.ndarray | None, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The (H, W, 3) uint8 page a user would upload for this kind."""
    if kind == "lineart":
        gray = (line.astype(np.float32).mean(axis=2) / 255.0) if line is not None else random_lineart(target, rng)
    else:
        gray = random_manga_page(target, rng, screentone=kind == "screentone")
    return np.repeat(to_uint8(gray)[..., None], 3, axis=2)


def training_mean_lab(manifest: dict, n: int = 200) -> np.ndarray:
    """Mean normalised Lab over (up to n) training images: the input-independent baseline."""
    items = [r for r in manifest["items"] if r["split"] == "train"][:n]
    acc = np.zeros(3)
    for r in items:
        rgb = np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB").resize((64, 64), Image.BOX))
        acc += rgb_to_net(rgb).reshape(3, -1).mean(axis=1)
    return (acc / max(1, len(items))).astype(np.float32)


def _score(out, target, hint_rgb, mask, page, kind: str, full: bool) -> dict:
    # line art keeps its lines black under any colour: its hint pixels are scored on the paper only
    paper = page[..., 0] >= 255 * LINE_THRESHOLD if kind == "lineart" else None
    row = {"psnr": metrics.psnr(out, target),
           "hint_de": metrics.hint_error(out, hint_rgb, mask, chroma_only=kind != "lineart", where=paper)}
    if full:
        row |= {"ssim": metrics.ssim(out, target), "chroma_de": metrics.chroma_error(out, target),
                "colourfulness": metrics.relative_colourfulness(out, target)}
    return row


def evaluate(predictors: list, cfg: EvalConfig, progress: bool = True) -> Results:
    """Run every predictor and baseline over the protocol; returns all rows."""
    manifest = load_manifest(cfg.data)
    items = [r for r in manifest["items"] if r["split"] == cfg.split and (not cfg.sources or r["source"] in cfg.sources)]
    if not items:
        raise ValueError(f"split {cfg.split!r} of {cfg.data} has no images" + (f" from {cfg.sources}" if cfg.sources else ""))
    if cfg.limit and len(items) > cfg.limit:
        pick = np.random.default_rng(cfg.seed).choice(len(items), cfg.limit, replace=False)
        items = [items[i] for i in sorted(pick)]
    res = Results(mean_lab=training_mean_lab(manifest).tolist())
    settings = ["mix", *cfg.hint_counts]
    point_hints = HintSamplerConfig(p_stroke=0.0)
    for idx, r in enumerate(tqdm(items, desc=f"eval {cfg.split}", unit="img", disable=not progress)):
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), cfg.size)
        line = (resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['line']}").convert("RGB")), cfg.size)
                if r["line"] else None)
        H, W = target.shape[:2]
        for kind in cfg.kinds:
            k = KINDS.index(kind)  # seeds by the kind, not its place in cfg.kinds: one kind alone gets the same pages
            page = make_page(target, line, kind, np.random.default_rng([cfg.seed, idx, k]))
            hint_sets = []
            for s, setting in enumerate(settings):
                rng = np.random.default_rng([cfg.seed, idx, k, s, 7])
                hint_sets.append(sample_hints(target, rng) if setting == "mix"
                                 else sample_n_hints(target, setting, rng, point_hints))
            prepared = [prepare(page, h, cfg.size, kind=kind) for h in hint_sets]
            planes = [rasterize(h, (W, H), (W, H)) for h in hint_sets]
            batches = {}  # hint_fill -> (x, hint, mask) of every setting: models trained with it get hints spread
            for f in {pr.hint_fill for pr in predictors}:
                ps = [with_fill(p) for p in prepared] if f else prepared
                batches[f] = [np.concatenate([getattr(p, a) for p in ps]) for a in ("x", "hint", "mask")]
            outputs = predict_all(predictors, batches)
            for s, setting in enumerate(settings):
                full = setting in ("mix", 0)  # the full metrics also with no hints: the prior alone
                hint_rgb, mask = net_to_rgb(planes[s][0]), planes[s][1][0]
                base = {"item": r["id"], "kind": kind, "setting": setting, "hints": len(hint_sets[s])}
                for m, pr in enumerate(predictors):
                    out = finish(page, outputs[pr.name][s], prepared[s], kind, cfg.refine, **decoding_of(pr),
                                 solver=cfg.solver)
                    row = base | {"method": pr.name} | _score(out, target, hint_rgb, mask, page, kind, full)
                    res.rows.append(row)
                    if m == 0 and full:
                        entry = (-row["psnr"], len(res.rows), (page, hint_rgb, mask, out, target, base))
                        heapq.heappush(res.worst, entry) if len(res.worst) < GALLERY else heapq.heappushpop(res.worst, entry)
                for b in cfg.baselines:
                    out = run_baseline(b, page, prepared[s], kind, np.array(res.mean_lab))
                    res.rows.append(base | {"method": b} | _score(out, target, hint_rgb, mask, page, kind, full))
    return res
