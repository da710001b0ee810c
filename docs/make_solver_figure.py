"""Before/after of the colour solver on line-art pages with a few hints (docs/solver_before_after.png).

    python docs/make_solver_figure.py --data data/datasets/default --model models/default

Each row: the page with its hint dots | the network alone (refine=off) | with the solver
(refine=auto) | the original. Pages are test-split OpenMoji figures (CC BY-SA 4.0) at 256 px, named by
id so that a rebuilt dataset, whose split lists another order, gives the same pictures; hints sampled from
the original with seeds from the id, as in `mangacolor eval`.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from mangacolor.color import net_to_rgb
from mangacolor.hints import Point, rasterize
from mangacolor.pipeline import colorize
from training.data.build import load_manifest
from training.data.hint_sampling import HintSamplerConfig, sample_n_hints
from training.evaluate.run import make_page, resize_long

# A teacher before a board, an artist and a guard: figures of several closed parts, some open to the paper round them.
FIGURE_IDS = ("openmoji/1F469-1F3FB-200D-1F3EB", "openmoji/1F469-1F3FE-200D-1F3A8", "openmoji/1F482-1F3FF")


def with_dots(page: np.ndarray, hints) -> np.ndarray:
    """The page with each hint drawn in its colour, ringed in black so it shows on any colour."""
    H, W = page.shape[:2]
    hint, mask = rasterize(hints, (W, H), (W, H))
    ring = rasterize([Point(h.x, h.y, (0, 0, 0), h.radius + 2) for h in hints], (W, H), (W, H))[1][0] > 0
    out = page.copy()
    out[ring] = 0
    colours = net_to_rgb(hint)
    out[mask[0] > 0] = colours[mask[0] > 0]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/datasets/default")
    p.add_argument("--model", default="models/default")
    p.add_argument("--ids", nargs="+", default=list(FIGURE_IDS), help="test-split item ids with line art")
    p.add_argument("--hints", type=int, default=6)
    p.add_argument("--out", default="docs/solver_before_after.png")
    args = p.parse_args(argv)
    from serving.runtime import load_model

    model = load_model(args.model)
    manifest = load_manifest(args.data)
    items = {r["id"]: r for r in manifest["items"] if r["split"] == "test" and r["line"]}
    missing = [i for i in args.ids if i not in items]
    if missing:
        p.error(f"not test-split items with line art in {args.data}: {', '.join(missing)}")
    rows = []
    for item_id in args.ids:
        r, i = items[item_id], zlib.crc32(item_id.encode())  # a seed that does not depend on the split's order
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), 256)
        line = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['line']}").convert("RGB")), 256)
        page = make_page(target, line, "lineart", np.random.default_rng([0, i]))
        hints = sample_n_hints(target, args.hints, np.random.default_rng([0, i, 1]), HintSamplerConfig(p_stroke=0.0))
        hints = [Point(h.x, h.y, h.color, max(h.radius, 3.0)) for h in hints]  # visible dots
        off = colorize(page, model, "lineart", hints, work_size=256, refine="off")
        auto = colorize(page, model, "lineart", hints, work_size=256, refine="auto")
        row = [with_dots(page, hints), off, auto, target]
        h = max(a.shape[0] for a in row)
        rows.append(np.concatenate([np.pad(a, ((0, h - a.shape[0]), (0, 256 - a.shape[1]), (0, 0)),
                                           constant_values=255) for a in row], axis=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, axis=0)).save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
