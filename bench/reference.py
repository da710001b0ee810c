"""What colouring a page like its references costs: a page with 2 references against the same page without.

    python bench/reference.py [--model models/default] [--reps 7] [--no-save]

A detailed 850x1200 (width x height) grayscale page (bench/page.py's synthetic page) goes end to end through
`mangacolor.pipeline.colorize` with the model (ONNX Runtime), once with two coloured references of the
same figure (one mirrored, one smaller) and once without; the settings take turns run by run, so other
work on the machine falls on all alike, and the ratio comes from this one run (target: at most 1.5x).
With references twice: new ones (a single page: they are converted first), and ones already seen (every
page of a chapter after its first, or an API client's next page: mangacolor.reference keeps them prepared).
Then the stages the references add, each timed alone: their global hints, the transfer (patch
matching, mangacolor.reference) and the solver, which runs with references even without hints.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, save  # noqa: E402
from bench.page import _median_ms, _paired_diff_ms, detailed_page  # noqa: E402
from mangacolor.abbins import global_hints  # noqa: E402
from mangacolor.compose import gray_input, working_size  # noqa: E402
from mangacolor.pipeline import colorize, decoding_of, finish, prepare, run_model  # noqa: E402
from mangacolor.reference import forget_prepared, transfer  # noqa: E402

H, W = 1200, 850  # portrait page, (H, W)
KIND = "grayscale"
TARGET_RATIO = 1.5


def coloured(gray: np.ndarray, seed: int) -> np.ndarray:
    """(h, w) gray figure -> (h, w, 3) uint8 colour picture: flat colour patches (a coarse random palette)
    under the figure's own shading and lines, as a coloured picture of the same character looks."""
    rng = np.random.default_rng(seed)
    h, w = gray.shape
    patches = Image.fromarray(rng.integers(40, 256, (8, 6, 3), dtype=np.uint8)).resize((w, h), Image.NEAREST)
    return (np.asarray(patches, np.float32) * (gray[..., None] / 255.0)).astype(np.uint8)


def references() -> list[np.ndarray]:
    """Two references: the figure mirrored at the page's size, and the figure at 0.7 of it."""
    mirrored = coloured(detailed_page(H, W, seed=1), seed=2)[:, ::-1]
    smaller = coloured(detailed_page(int(H * 0.7), int(W * 0.7), seed=3), seed=2)
    return [np.ascontiguousarray(mirrored), smaller]


def turns(model, page: np.ndarray, refs: list[np.ndarray], reps: int) -> dict:
    """The whole pipeline without references, with new ones and with ones already seen, in turns: the median
    (wall, CPU) seconds of each and their ratios to the page without ("refs": new ones, "refs_seen": seen)."""
    runs = {"none": [], "refs": [], "refs_seen": []}
    colorize(page, model, KIND), colorize(page, model, KIND, references=refs)  # warm-up
    for _ in range(reps):
        for key, r in (("none", None), ("refs", refs), ("refs_seen", refs)):
            if key == "refs":
                forget_prepared()
            t, c = time.perf_counter(), time.process_time()
            colorize(page, model, KIND, references=r)
            runs[key].append((time.perf_counter() - t, time.process_time() - c))
    out = {}
    for key, rs in runs.items():
        out[f"{key}_wall_s"] = round(statistics.median(w for w, _ in rs), 3)
        out[f"{key}_cpu_s"] = round(statistics.median(c for _, c in rs), 3)
    for key, suffix in (("refs", ""), ("refs_seen", "_seen")):
        out[f"ratio_wall{suffix}"] = round(out[f"{key}_wall_s"] / out["none_wall_s"], 2)
        out[f"ratio_cpu{suffix}"] = round(out[f"{key}_cpu_s"] / out["none_cpu_s"], 2)
        out[f"ratio_wall_pairs{suffix}"] = round(
            statistics.median(b[0] / a[0] for a, b in zip(runs["none"], runs[key])), 2)
    return out


def stages(model, page: np.ndarray, refs: list[np.ndarray], reps: int) -> dict:
    """(wall, CPU) ms of each stage the references add, and of the model, for scale."""
    x = gray_input(page, working_size(*page.shape[:2]))
    p = prepare(page, [], references=refs, kind=KIND)
    pred = run_model(model, p)[0]
    decoding = decoding_of(model)
    t = {"model": _median_ms(lambda: run_model(model, p), reps)[0],
         "global_hints": _median_ms(lambda: global_hints(refs), reps)[0],
         "transfer": _median_ms(lambda: (forget_prepared(), transfer(x, KIND, refs)), reps)[0],
         "transfer_seen": _median_ms(lambda: transfer(x, KIND, refs), reps)[0],
         # finish with the references' prior (solver + compose) against compose alone, with the model's
         # decoding on gray pages as the service applies it
         "solver": _paired_diff_ms(lambda: finish(page, pred, p, KIND, "off", **decoding),
                                   lambda: finish(page, pred, p, KIND, "auto", **decoding), reps)}
    return {"wall_ms": {k: round(v[0], 1) for k, v in t.items()}, "cpu_ms": {k: round(v[1], 1) for k, v in t.items()}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--reps", type=int, default=7, help="timed runs of each setting, after one warm-up")
    p.add_argument("--no-save", action="store_true", help="print only; bench/results/reference.json stays as it is")
    args = p.parse_args(argv)
    if args.reps < 1:
        p.error("--reps must be at least 1")
    from serving.memory import tame_malloc
    from serving.runtime import load_model

    tame_malloc()  # the service's malloc settings
    model = load_model(args.model)
    page = np.repeat(detailed_page(H, W)[..., None], 3, axis=2)
    refs = references()
    res = {"model": args.model, "page": f"{W}x{H} grayscale, detailed (synthetic)",
           "references": [f"{r.shape[1]}x{r.shape[0]}" for r in refs], "load_average_at_start": os.getloadavg()[0]}
    res["end_to_end"] = e2e = turns(model, page, refs, args.reps)
    res["stages"] = st = stages(model, page, refs, args.reps)
    res["load_average_at_end"] = os.getloadavg()[0]
    print(f"machine: {machine()} (load average {res['load_average_at_start']:.2f} at start, "
          f"{res['load_average_at_end']:.2f} at end)")
    print(f"page {W}x{H} grayscale, colorize() median of {args.reps}: without references {e2e['none_wall_s']:.3f} s "
          f"(CPU {e2e['none_cpu_s']:.3f} s), with 2 references {e2e['refs_wall_s']:.3f} s (CPU {e2e['refs_cpu_s']:.3f} s)")
    print(f"ratio with/without: wall {e2e['ratio_wall']:.2f}x (median of pairs {e2e['ratio_wall_pairs']:.2f}x), "
          f"CPU {e2e['ratio_cpu']:.2f}x; target <= {TARGET_RATIO}x")
    print(f"with references already seen (a chapter's later pages) {e2e['refs_seen_wall_s']:.3f} s: wall "
          f"{e2e['ratio_wall_seen']:.2f}x (median of pairs {e2e['ratio_wall_pairs_seen']:.2f}x), "
          f"CPU {e2e['ratio_cpu_seen']:.2f}x")
    print("stages, wall ms (CPU ms): " + ", ".join(f"{k} {v:.0f} ({st['cpu_ms'][k]:.0f})" for k, v in st["wall_ms"].items()))
    if not args.no_save:
        print("wrote", save("reference", res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
