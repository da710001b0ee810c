"""The dataset card: sources, licences, counts per split, what was dropped and why, colour statistics."""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from mangacolor.color import rgb_to_lab

HUE_BINS = 12


def colour_stats(rgb: np.ndarray) -> dict:
    """Mean L, mean chroma, coloured share and a 12-bin hue histogram of a 64 px thumbnail."""
    im = Image.fromarray(rgb)
    im.thumbnail((64, 64), Image.BOX)
    lab = rgb_to_lab(np.asarray(im)).reshape(-1, 3)
    c = np.hypot(lab[:, 1], lab[:, 2])
    coloured = c > 15
    hue = (np.degrees(np.arctan2(lab[coloured, 2], lab[coloured, 1])) + 360) % 360
    hist = np.histogram(hue, bins=HUE_BINS, range=(0, 360))[0]
    return {"L": float(lab[:, 0].mean()), "C": float(c.mean()), "coloured": float(coloured.mean()), "hue": hist.tolist()}


def _reason_kind(reason: str) -> str:
    """'too small (10x12 < 64 px)' -> 'too small': groups reasons for counting."""
    for sep in (" (", ":", " of "):
        reason = reason.split(sep)[0]
    return reason


def write_card(out: Path, sources, kept: list[dict], dropped: list[dict], unpaired: dict, cfg,
               built_with: dict[str, str]) -> dict:
    """Write card.json and card.md beside the manifest; returns the card."""
    per = defaultdict(Counter)
    stats = defaultdict(list)
    for r in kept:
        per[r["source"]][r["split"]] += 1
        per[r["source"]]["paired"] += r["line"] is not None
        stats[r["source"]].append(r["_stats"])
    drops = defaultdict(Counter)
    for r in dropped:
        drops[r["source"]][_reason_kind(r["dropped"])] += 1
    colour = {}
    for name, ss in stats.items():
        colour[name] = {
            "mean_L": round(float(np.mean([s["L"] for s in ss])), 2),
            "mean_chroma": round(float(np.mean([s["C"] for s in ss])), 2),
            "coloured_share": round(float(np.mean([s["coloured"] for s in ss])), 3),
            "hue_histogram_30deg": np.sum([s["hue"] for s in ss], axis=0).tolist(),
        }
    groups = Counter(r["group"] for r in kept)
    card = {
        "built": time.strftime("%Y-%m-%d %H:%M:%S"),
        "built_with": built_with,
        "config": asdict(cfg),
        "sources": [s.to_dict() for s in sources],
        "counts": {s: dict(c) for s, c in per.items()},
        "totals": dict(Counter(r["split"] for r in kept)) | {"kept": len(kept), "dropped": len(dropped)},
        "dropped": {s: dict(c) for s, c in drops.items()},
        "unpaired_colour_files": unpaired,
        "groups": {"count": len(groups), "largest": max(groups.values(), default=0)},
        "colour": colour,
    }
    (out / "card.json").write_text(json.dumps(card, indent=1))
    (out / "card.md").write_text(_markdown(card))
    return card


def _markdown(card: dict) -> str:
    t = card["totals"]
    lines = [
        "# Dataset card",
        "",
        f"Built {card['built']} by `mangacolor data build`. Kept {t['kept']} images, dropped {t['dropped']}.",
        f"Split by perceptual-hash group ({card['groups']['count']} groups, largest {card['groups']['largest']} images): "
        f"train {t.get('train', 0)}, val {t.get('val', 0)}, test {t.get('test', 0)}"
        + (f"; held out whole as the characters split: {', '.join(card['config']['holdout'])} "
           f"({t.get('characters', 0)} images, never trained on)." if card["config"].get("holdout") else "."),
        "Built with " + ", ".join(f"{k} {v}" for k, v in card["built_with"].items()) + ".",
        "",
        "## Sources and licences",
        "",
        "| source | package version | pairing | licence | url | attribution |",
        "|---|---|---|---|---|---|",
    ]
    for s in card["sources"]:
        lines.append(f"| {s['name']} | {s.get('version') or '-'} | {s['pairing']} | {s['license']} | {s['url']} "
                     f"| {s['attribution']} |")
    lines += ["", "## Counts", "", "| source | train | val | test | characters | with real line art |",
              "|---|---|---|---|---|---|"]
    for name, c in card["counts"].items():
        lines.append(f"| {name} | {c.get('train', 0)} | {c.get('val', 0)} | {c.get('test', 0)} | {c.get('characters', 0)} "
                     f"| {c.get('paired', 0)} |")
    lines += ["", "## Dropped", "", "| source | reason | count |", "|---|---|---|"]
    for name, c in card["dropped"].items():
        for reason, n in sorted(c.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {name} | {reason} | {n} |")
    lines += ["", "Every dropped file and its exact reason: `dropped.jsonl`.", "",
              "## Colour statistics (64 px thumbnails, CIELAB)", "",
              "| source | mean L | mean chroma | coloured share | hue histogram (30 deg bins from red) |",
              "|---|---|---|---|---|"]
    for name, c in card["colour"].items():
        lines.append(f"| {name} | {c['mean_L']} | {c['mean_chroma']} | {c['coloured_share']} | {c['hue_histogram_30deg']} |")
    return "\n".join(lines) + "\n"
