"""`mangacolor data build`: clean, deduplicate and split illustration folders into a dataset.

Output folder:
    images/<source>/<name>.png   colour pictures, long side <= max_side
    lines/<source>/<name>.png    real line art, same size, for paired sources
    manifest.json                items with split and group; its hash goes into checkpoints
    dropped.jsonl                every dropped file and why
    card.md, card.json           the dataset card: sources, licences, counts, colour statistics
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from mangacolor import PREPROCESSING_VERSION
from mangacolor.image_io import ImageError, ImageTooLarge, load_image, save_png

from .card import colour_stats, write_card
from .clean import CleanConfig, UnionFind, check, colour_thumb, hamming_matrix, phash
from .sources import IMAGE_EXTS, Item, Source, list_items

SPLITS = ("train", "val", "test")
HOLDOUT_SPLIT = "characters"  # every item of a held-out source, never trained on
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class BuildConfig:
    out: str
    max_side: int = 512
    split: tuple[float, float, float] = (0.7, 0.2, 0.1)
    seed: int = 0          # salt of the split hash: change it for another split
    workers: int = 0       # 0 = all cores
    holdout: tuple[str, ...] = ()  # sources put whole into the HOLDOUT_SPLIT
    clean: CleanConfig = field(default_factory=CleanConfig)


def _fit(rgb: np.ndarray, max_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    s = max_side / max(h, w)
    return np.asarray(Image.fromarray(rgb).resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS))


def _name(key: str) -> str:
    return key.split("/", 1)[1].replace("/", "__") + ".png"


def process_item(item: Item, cfg: BuildConfig) -> dict:
    """Load, check, normalise and hash one item. Returns a record or {'dropped': reason}."""
    base = {"id": item.key, "source": item.source, "file": item.color}
    try:
        rgb = load_image(item.color)
        line = load_image(item.line) if item.line else None
    except ImageTooLarge as e:
        return base | {"dropped": f"too large: {e}"}
    except (ImageError, OSError) as e:
        return base | {"dropped": f"unreadable: {e}"}
    reason = check(rgb, cfg.clean)
    if reason is None and line is not None and abs(line.shape[0] / line.shape[1] - rgb.shape[0] / rgb.shape[1]) > 0.02:
        reason = f"line art {line.shape[1]}x{line.shape[0]} does not match colour {rgb.shape[1]}x{rgb.shape[0]}"
    if reason:
        return base | {"dropped": reason}
    sha = hashlib.sha256(rgb.tobytes() + str(rgb.shape).encode()).hexdigest()
    rgb = _fit(rgb, cfg.max_side)
    out = Path(cfg.out)
    rec = base | {
        "color": f"images/{item.source}/{_name(item.key)}",
        "line": None,
        "width": int(rgb.shape[1]),
        "height": int(rgb.shape[0]),
        "sha256": sha,
        "phash": f"{phash(rgb):016x}",
    }
    save_png(rgb, out / rec["color"])
    if line is not None:
        line = np.asarray(Image.fromarray(line).resize((rgb.shape[1], rgb.shape[0]), Image.LANCZOS))
        rec["line"] = f"lines/{item.source}/{_name(item.key)}"
        save_png(line, out / rec["line"])
    rec["_thumb"] = colour_thumb(rgb).tolist()
    rec["_stats"] = colour_stats(rgb)
    return rec


def _process_star(args):
    return process_item(*args)


def deduplicate_and_group(records: list[dict], cfg: CleanConfig) -> tuple[list[dict], list[dict]]:
    """Drop exact and perceptual duplicates; give every kept record a split `group` id.

    Records must be sorted by id: the first of a duplicate set is the one kept.
    """
    kept, dropped, seen = [], [], {}
    for r in records:
        if r["sha256"] in seen:
            dropped.append(r | {"dropped": f"exact duplicate of {seen[r['sha256']]}"})
        else:
            seen[r["sha256"]] = r["id"]
            kept.append(r)
    hashes = np.array([int(r["phash"], 16) for r in kept], dtype=np.uint64)
    thumbs = np.array([r["_thumb"] for r in kept], dtype=np.float32).reshape(len(kept), -1)
    uf, dup_of = UnionFind(len(kept)), {}
    for start in range(0, len(kept), 512):
        rows = slice(start, min(start + 512, len(kept)))
        d = hamming_matrix(hashes, rows)
        for i, j in zip(*np.nonzero(d <= cfg.group_phash)):
            i += start
            if j <= i:
                continue
            uf.union(i, j)
            if d[i - start, j] <= cfg.dup_phash and j not in dup_of and i not in dup_of:
                if np.abs(thumbs[i] - thumbs[j]).mean() <= cfg.dup_colour:
                    dup_of[j] = i
    out = []
    for idx, r in enumerate(kept):
        if idx in dup_of:
            dropped.append(r | {"dropped": f"near duplicate of {kept[dup_of[idx]]['id']}"})
        else:
            out.append(r | {"group": kept[uf.find(idx)]["id"]})
    return out, dropped


def assign_split(group: str, seed: int, fractions: tuple[float, float, float]) -> str:
    """Deterministic split of a group: a hash of (seed, group) against the cumulative fractions."""
    u = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:12], 16) / 16**12
    if u < fractions[0]:
        return "train"
    return "val" if u < fractions[0] + fractions[1] else "test"


def split_records(kept: list[dict], cfg: BuildConfig) -> tuple[list[dict], list[dict]]:
    """Split every record; held-out sources go whole to HOLDOUT_SPLIT, and other records that share a
    perceptual-hash group with them are dropped so that no near copy of a held-out picture is trained on."""
    holdout = set(cfg.holdout)
    held_groups = {r["group"] for r in kept if r["source"] in holdout}
    out, dropped = [], []
    for r in kept:
        if r["source"] in holdout:
            out.append(r | {"split": HOLDOUT_SPLIT})
        elif r["group"] in held_groups:
            dropped.append(r | {"dropped": f"near copy of a held-out picture (group {r['group']})"})
        else:
            out.append(r | {"split": assign_split(r["group"], cfg.seed, cfg.split)})
    return out, dropped


def built_with() -> dict[str, str]:
    """Versions of what decodes, resizes and hashes the pictures. The manifest's hash covers only the items: when a
    rebuild gives another hash from the same package versions, compare these."""
    import PIL

    return {"python": platform.python_version(), "numpy": np.__version__, "pillow": PIL.__version__}


def manifest_hash(manifest: dict) -> str:
    """sha256 of the items (ids, splits, pixel hashes): identical data gives an identical hash."""
    body = json.dumps([(r["id"], r["split"], r["sha256"]) for r in manifest["items"]], sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def build(sources: list[Source], cfg: BuildConfig, progress: bool = True) -> dict:
    """Build the dataset at cfg.out from `sources`; returns the manifest."""
    if abs(sum(cfg.split) - 1.0) > 1e-6:
        raise ValueError(f"split fractions {cfg.split} must add up to 1")
    out = Path(cfg.out)
    items, unpaired = [], {}
    for s in sources:
        its, unpaired[s.name] = list_items(s)
        if not its:
            raise ValueError(f"source {s.name} ({s.root}) holds no images ({', '.join(sorted(IMAGE_EXTS))})")
        items += its
    for sub in ("images", "lines"):
        for s in sources:
            (out / sub / s.name).mkdir(parents=True, exist_ok=True)
    workers = cfg.workers or os.cpu_count() or 1
    jobs = [(it, cfg) for it in items]
    with ProcessPoolExecutor(workers) as pool:
        results = list(tqdm(pool.map(_process_star, jobs, chunksize=16), total=len(jobs),
                            desc="cleaning", unit="img", disable=not progress))
    results.sort(key=lambda r: r["id"])
    dropped = [r for r in results if "dropped" in r]
    kept, dups = deduplicate_and_group([r for r in results if "dropped" not in r], cfg.clean)
    for r in dups:  # their files were written before we knew
        for k in ("color", "line"):
            if r.get(k):
                (out / r[k]).unlink(missing_ok=True)
    dropped += dups
    unknown = set(cfg.holdout) - {s.name for s in sources}
    if unknown:
        raise ValueError(f"held-out source(s) {sorted(unknown)} are not among the sources {[s.name for s in sources]}")
    kept, leaks = split_records(kept, cfg)
    dropped += leaks
    manifest = {
        "format": MANIFEST_FORMAT,
        "preprocessing_version": PREPROCESSING_VERSION,
        "built_with": built_with(),
        "config": asdict(cfg),
        "sources": [s.to_dict() for s in sources],
        "items": [{k: v for k, v in r.items() if not k.startswith("_")} for r in kept],
    }
    manifest["hash"] = manifest_hash(manifest)
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, out / "manifest.json")
    with open(out / "dropped.jsonl", "w") as f:
        for r in sorted(dropped, key=lambda r: r["id"]):
            f.write(json.dumps({"id": r["id"], "file": r["file"], "reason": r["dropped"]}) + "\n")
    write_card(out, sources, kept, dropped, unpaired, cfg, manifest["built_with"])
    return manifest



def load_manifest(path: str | Path) -> dict:
    """Read a dataset's manifest.json (path to the file or to the dataset folder)."""
    p = Path(path)
    if p.is_dir():
        p = p / "manifest.json"
    if not p.is_file():
        raise FileNotFoundError(f"no manifest at {p}: build a dataset with `mangacolor data build` first")
    m = json.loads(p.read_text())
    if m.get("format") != MANIFEST_FORMAT:
        raise ValueError(f"{p} has manifest format {m.get('format')}, this version reads {MANIFEST_FORMAT}")
    m["root"] = str(p.parent)
    return m

