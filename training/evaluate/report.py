"""Turn evaluation rows into report.md, metrics.json, plots and the worst-case gallery."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from .baselines import BASELINES
from .metrics import error_map

FULL_METRICS = ("psnr", "ssim", "chroma_de", "hint_de", "colourfulness")


def aggregate(rows: list[dict]) -> dict:
    """{method: {kind: {setting: {metric: mean}}}} (None values skipped in the means)."""
    acc: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list))))
    for r in rows:
        for m in FULL_METRICS:
            if r.get(m) is not None and np.isfinite(r[m]):
                acc[r["method"]][r["kind"]][str(r["setting"])][m].append(r[m])
    return {meth: {k: {s: {m: float(np.mean(v)) for m, v in ms.items()} | {"n": len(ms["psnr"])}
                       for s, ms in ss.items()} for k, ss in ks.items()} for meth, ks in acc.items()}


def shortfalls(agg: dict, models: list[str], settings: list[str]) -> list[str]:
    """Where a model does not beat every baseline in PSNR."""
    out = []
    for model in models:
        for kind, ss in agg[model].items():
            for s in settings:
                mine = ss[s]["psnr"]
                for b in BASELINES:
                    if b in agg and agg[b][kind][s]["psnr"] >= mine:
                        out.append(f"{model}, {kind}, hints {s}: {mine:.2f} dB does not beat {b} "
                                   f"({agg[b][kind][s]['psnr']:.2f} dB)")
    return out


def _fmt(v, nd=2):
    return "n/a" if v is None else f"{v:.{nd}f}"


def write_report(out: Path, res, models: list[str], cfg, extra: dict | None = None) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    agg = aggregate(res.rows)
    methods = models + [b for b in BASELINES if b in agg]
    kinds = list(cfg.kinds)
    settings = [str(s) for s in cfg.hint_counts]
    lines = [f"# Evaluation report: {cfg.split} split", "",
             f"{len({r['item'] for r in res.rows})} images of `{cfg.data}` at long side {cfg.size}, "
             f"kinds {', '.join(kinds)}. Same pages, hints and composition for every method.", "",
             "## Headline (hints as in training: none on ~45% of pages)", ""]
    lines += ["| method | kind | PSNR dB | SSIM | chroma dE | hint dE | colourfulness |", "|---|---|---|---|---|---|---|"]
    for meth in methods:
        for kind in kinds:
            s = agg[meth][kind]["mix"]
            lines.append(f"| {meth} | {kind} | {_fmt(s['psnr'])} | {_fmt(s.get('ssim'), 3)} | {_fmt(s.get('chroma_de'))} "
                         f"| {_fmt(s.get('hint_de'))} | {_fmt(s.get('colourfulness'))} |")
    lines += ["", "## PSNR (dB) against the number of hints", ""]
    for kind in kinds:
        lines += [f"### {kind}", "", "| method | " + " | ".join(settings) + " |", "|---|" + "---|" * len(settings)]
        for meth in methods:
            lines.append(f"| {meth} | " + " | ".join(_fmt(agg[meth][kind][s]["psnr"]) for s in settings) + " |")
        lines.append("")
    lines += ["## Hint dE against the number of hints (colour error at the hinted pixels; chroma only on gray pages)", ""]
    hinted = [s for s in settings if s != "0"]
    for kind in kinds:
        lines += [f"### {kind}", "", "| method | " + " | ".join(hinted) + " |", "|---|" + "---|" * len(hinted)]
        for meth in methods:
            lines.append(f"| {meth} | " + " | ".join(_fmt(agg[meth][kind][s].get("hint_de")) for s in hinted) + " |")
        lines.append("")
    short = shortfalls(agg, models, settings)
    lines += ["## Where a model does not beat a baseline", ""]
    lines += [f"- {s}" for s in short] or ["- nowhere: every model beats every baseline at every hint count and kind."]
    if extra:
        lines += ["", "## Notes", ""] + [f"- {k}: {v}" for k, v in extra.items()]
    lines += ["", "Plots: `curve.png`, `kinds.png`. The 16 worst pages of the first model: `worst.png` "
              "(page | hints | prediction | target | error map)."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    data = {"config": json.loads(json.dumps(dataclasses.asdict(cfg))),
            "models": models, "mean_training_lab": res.mean_lab, "metrics": agg, "shortfalls": short} | (extra or {})
    (out / "metrics.json").write_text(json.dumps(data, indent=1))
    _plots(out, agg, methods, kinds, settings)
    _gallery(out, res.worst)
    return data


def _plots(out: Path, agg: dict, methods: list[str], kinds: list[str], settings: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), squeeze=False)
    xs = [int(s) for s in settings]
    for ax, kind in zip(axes[0], kinds):
        for meth in methods:
            ax.plot([max(x, 0.5) for x in xs], [agg[meth][kind][s]["psnr"] for s in settings], marker="o", label=meth)
        ax.set_xscale("log")
        ax.set_xticks([max(x, 0.5) for x in xs], settings)
        ax.set_title(kind)
        ax.set_xlabel("hints")
        ax.set_ylabel("PSNR dB")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=90)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(methods)
    for i, meth in enumerate(methods):
        ax.bar(np.arange(len(kinds)) + i * width, [agg[meth][k]["mix"]["psnr"] for k in kinds], width, label=meth)
    ax.set_xticks(np.arange(len(kinds)) + 0.4 - width / 2, kinds)
    ax.set_ylabel("PSNR dB (training hint mix)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "kinds.png", dpi=90)
    plt.close(fig)


def _gallery(out: Path, worst: list, side: int = 160) -> None:
    if not worst:
        return
    rows = []
    for neg_psnr, _, (page, hint_rgb, mask, pred, target, _info) in sorted(worst, reverse=True):
        over = (page * 0.35 + 160).astype(np.uint8)
        over[mask > 0] = hint_rgb[mask > 0]
        tiles = [page, over, pred, target, error_map(pred, target)]
        tiles = [np.asarray(Image.fromarray(t).resize((side, side * t.shape[0] // t.shape[1] or 1))) for t in tiles]
        h = max(t.shape[0] for t in tiles)
        row = np.full((h + 4, len(tiles) * (side + 4), 3), 255, np.uint8)
        for j, t in enumerate(tiles):
            row[: t.shape[0], j * (side + 4): j * (side + 4) + side] = t
        rows.append(row)
    Image.fromarray(np.concatenate(rows)).save(out / "worst.png")
