"""How often input-kind detection (mangacolor.kinds.detect_kind) is right on synthetic pages.

    python bench/kinds.py [--data data/datasets/default] [--split val] [--n 150]

Each image of the split becomes the three pages the evaluation makes (its line art, a grayscale
page, a screentoned page, as in `mangacolor eval`) at a long side of 512 px; the script prints
the confusion table and the share detected right, and writes bench/results/kinds.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, save  # noqa: E402
from mangacolor.contract import KINDS  # noqa: E402
from mangacolor.kinds import detect_kind  # noqa: E402
from training.data.build import load_manifest  # noqa: E402
from training.evaluate.run import make_page, resize_long  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/datasets/default")
    p.add_argument("--split", default="val")
    p.add_argument("--n", type=int, default=150, help="images of the split (chosen with a fixed seed)")
    args = p.parse_args(argv)
    manifest = load_manifest(args.data)
    items = [r for r in manifest["items"] if r["split"] == args.split]
    pick = np.random.default_rng(0).choice(len(items), min(args.n, len(items)), replace=False)
    confusion = {k: {j: 0 for j in KINDS} for k in KINDS}
    for i in pick:
        r = items[i]
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), 512)
        line = (resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['line']}").convert("RGB")), 512)
                if r["line"] else None)
        for k, kind in enumerate(KINDS):
            page = make_page(target, line, kind, np.random.default_rng([0, int(i), k]))
            confusion[kind][detect_kind(page)] += 1
    n = len(pick)
    right = {k: confusion[k][k] / n for k in KINDS}
    overall = sum(confusion[k][k] for k in KINDS) / (n * len(KINDS))
    print("true \\ detected | " + " | ".join(KINDS))
    for k in KINDS:
        print(f"{k} | " + " | ".join(str(confusion[k][j]) for j in KINDS) + f" | right {right[k]:.2f}")
    print(f"overall {overall:.3f} on {n} {args.split} images x {len(KINDS)} kinds; {machine()}")
    save("kinds", {"machine": machine(), "split": args.split, "images": n, "confusion": confusion,
                   "right": right, "overall": overall})
    return 0


if __name__ == "__main__":
    sys.exit(main())
