"""`mangacolor data fetch|build|show|shard`: argument parsing only; the work lives in fetch/build/show."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", required=True, metavar="{fetch,build,show,shard}")

    f = sub.add_parser("fetch", help="get a public illustration set from npm or Debian into data/raw/",
                       description="Fetch a public illustration set through the package registries into RAW/NAME, "
                                   "with a source.json recording its licence. openmoji: hand-drawn colour + line-art "
                                   "pairs (CC BY-SA 4.0, needs npm). openclipart: colour clip art (public domain, "
                                   "needs apt-get). Character art: wesnoth, naev, flare, 0ad (painted and rendered "
                                   "portraits from Debian; 0ad is a 1.4 GB download and needs 3.3 GB of temporary "
                                   "disk), dicebear (drawn faces from npm, needs node); licences in fetch_art.py.")
    f.add_argument("name", choices=["openmoji", "openclipart", "wesnoth", "naev", "flare", "0ad", "dicebear"])
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

    from .shard import ShardConfig

    d = ShardConfig()
    h = sub.add_parser("shard", help="a small copy of a dataset to carry to a GPU machine (training + some validation)",
                       description="Copy a built dataset's training split and part of its validation split into a "
                                   "small dataset: pictures shrunk to --max-side and stored as WebP, manifest "
                                   "rewritten, licences (card.md) kept. Train on it like on any dataset "
                                   "(--data.root=OUT); evaluate on the full dataset. Fails without writing anything "
                                   "when the result would exceed --max-mb.")
    h.add_argument("--data", default=d.data, help="dataset folder (default: %(default)s)")
    h.add_argument("--out", default=d.out, help="shard folder, replaced if present (default: %(default)s)")
    h.add_argument("--max-side", type=int, default=d.max_side,
                   help="long side of stored pictures; crops of C px read up to 1.5*C (default: %(default)s)")
    h.add_argument("--quality", type=int, default=d.quality, help="WebP quality 1-100 (default: %(default)s)")
    h.add_argument("--lossless", action="store_true", help="lossless WebP (about 2.5x larger)")
    h.add_argument("--val-limit", type=int, default=d.val_limit,
                   help="validation pictures kept, 0 = all (default: %(default)s)")
    h.add_argument("--max-mb", type=float, default=d.max_mb, help="size limit in MB (default: %(default)s)")
    h.add_argument("--workers", type=int, default=0, help="processes, 0 = all cores (default: %(default)s)")
    h.set_defaults(func=_shard)


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


def _shard(args) -> int:
    from .shard import ShardConfig, make_shard

    cfg = ShardConfig(data=args.data, out=args.out, max_side=args.max_side, quality=args.quality,
                      lossless=args.lossless, val_limit=args.val_limit, max_mb=args.max_mb, workers=args.workers)
    print(cfg)
    m = make_shard(cfg)
    splits = {s: sum(r["split"] == s for r in m["items"]) for s in ("train", "val")}
    print(f"wrote {args.out}: {splits['train']} training and {splits['val']} validation pictures, "
          f"{m['shard']['mb']} MB, hash {m['hash'][:12]} (shard of {m['shard']['of'][:12]})")
    return 0
