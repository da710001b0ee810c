"""`mangacolor data fetch|build|show`: argument parsing only; the work lives in fetch/build/show."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", required=True, metavar="{fetch,build,show}")

    f = sub.add_parser("fetch", help="get a public illustration set from npm or Debian into data/raw/",
                       description="Fetch a public illustration set through the package registries into RAW/NAME, "
                                   "with a source.json recording its licence. openmoji: hand-drawn colour + line-art "
                                   "pairs (CC BY-SA 4.0, needs npm). openclipart: colour clip art (public domain, "
                                   "needs apt-get). Character art: wesnoth, naev, flare (painted portraits from Debian), "
                                   "dicebear (drawn faces from npm, needs node); licences in fetch_art.py.")
    f.add_argument("name", choices=["openmoji", "openclipart", "wesnoth", "naev", "flare", "dicebear"])
    f.add_argument("--raw", default="data/raw", help="folder for raw sources (default: %(default)s)")
    f.set_defaults(func=_fetch)

    b = sub.add_parser("build", help="clean, deduplicate and split source folders into a dataset",
                       description="Build a dataset from source folders. A folder with color/ and line/ subfolders is "
                                   "paired (files matched by name); any other folder is colour-only. Drops unreadable, "
                                   "too small, near blank, near monochrome, extreme aspect and duplicate images, with "
                                   "reasons in dropped.jsonl; splits 70/20/10 by perceptual-hash group; writes "
                                   "manifest.json and a dataset card.")
    b.add_argument("sources", nargs="+", metavar="SOURCE", help="source folders, e.g. data/raw/openmoji")
    b.add_argument("--out", default="data/datasets/default", help="output folder (default: %(default)s)")
    b.add_argument("--license", default=None, help="licence of sources without a source.json")
    b.add_argument("--max-side", type=int, default=512, help="longest side of stored images (default: %(default)s)")
    b.add_argument("--seed", type=int, default=0, help="salt of the deterministic split (default: %(default)s)")
    b.add_argument("--holdout", action="append", default=[], metavar="NAME",
                   help="source kept whole out of training as the 'characters' split (repeatable)")
    b.add_argument("--workers", type=int, default=0, help="processes, 0 = all cores (default: %(default)s)")
    b.set_defaults(func=_build)

    s = sub.add_parser("show", help="contact sheet of samples exactly as the network receives them",
                       description="Draw one batch from the DataLoader and decode it back from the tensors: input, "
                                   "hints, mask, target per row; plus a histogram of every input and target plane.")
    s.add_argument("--data", default="data/datasets/default", help="dataset folder (default: %(default)s)")
    s.add_argument("--split", default="train", choices=["train", "val", "test", "characters"])
    s.add_argument("-n", type=int, default=8, help="samples (default: %(default)s)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--crop", type=int, nargs=2, default=[256, 256], metavar=("H", "W"))
    s.add_argument("--out", default="runs/data_show.png", help="PNG to write (default: %(default)s)")
    s.set_defaults(func=_show)


def _fetch(args) -> int:
    from .fetch import fetch

    t = time.time()
    fetch(args.name, args.raw)
    print(f"done in {time.time() - t:.0f} s")
    return 0


def _build(args) -> int:
    from .build import BuildConfig, build
    from .sources import read_source

    sources = [read_source(p, license=args.license) for p in args.sources]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"two sources share a name: {names}; rename a folder or add a source.json")
    cfg = BuildConfig(out=args.out, max_side=args.max_side, seed=args.seed, workers=args.workers,
                      holdout=tuple(args.holdout))
    print(cfg)
    t = time.time()
    manifest = build(sources, cfg)
    print((Path(args.out) / "card.md").read_text())
    print(f"{len(manifest['items'])} images kept, manifest hash {manifest['hash'][:12]}, {time.time() - t:.0f} s")
    return 0


def _show(args) -> int:
    from .show import show

    for p in show(args.data, args.split, args.out, n=args.n, seed=args.seed, crop=tuple(args.crop)):
        print("wrote", p)
    return 0



