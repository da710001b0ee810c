"""An exported model's card: card.json (everything) and model_card.md (what a person reads first): its input
contract, variants and their checks, decoding, provenance, evaluation and the licences of its training data."""

from __future__ import annotations

import json
from pathlib import Path


def metrics_table(metrics: dict | None, code_version: str = "") -> list[str]:
    """The attached evaluation as markdown: PSNR (dB) per method and kind at each hint count (all of it is in
    card.json). code_version: the code that measured it, named because later code (the solver, descreening) scores
    the same weights differently."""
    if not metrics:
        return ["## Evaluation", "", "None attached (export with --metrics)."]
    by_method = metrics["metrics"]
    settings = [k for k in next(iter(next(iter(by_method.values())).values())) if k != "mix"]
    lines = ["## Evaluation", "", f"PSNR in dB on the {metrics['split']} split by number of hints (`mangacolor eval`)"
             + (f", measured at export with code {code_version}; later code may score the same weights "
                "differently (newer reports: the model's `eval/` folder and the README)." if code_version else "."),
             "", "| method | kind | " + " | ".join(settings) + " |", "|---|---|" + "---|" * len(settings)]
    for method, kinds in by_method.items():
        for kind, curve in kinds.items():
            lines.append(f"| {method} | {kind} | " + " | ".join(f"{curve[k]['psnr']:.2f}" for k in settings) + " |")
    return lines


def write_card(folder: Path, meta: dict, checks: dict) -> None:
    (folder / "card.json").write_text(json.dumps({"meta": meta, "variants": checks}, indent=1))
    lines = [f"# Model card: {meta['name']}", "", f"Version `{meta['version']}`, code {meta['code_version']}, "
             f"{meta['structure']} model ({meta['members']} member(s){', rule ' + meta['rule'] if meta['rule'] else ''}).", "",
             "## Input contract", ""] + [f"- `{k}`: {v}" for k, v in meta["input_contract"].items()] + [
             f"- preprocessing version {meta['preprocessing_version']} (`mangacolor.pipeline`); working size "
             f"{meta['work_size']} px long side", "", "## Variants", "", "| variant | file | MB | val PSNR | change dB | note |",
             "|---|---|---|---|---|---|"]
    for v, r in checks.items():
        if "refused" in r:
            lines.append(f"| {v} | - | - | - | - | refused: {r['refused']} |")
        else:
            lines.append(f"| {v} | {r['file']} | {r['bytes'] / 1e6:.1f} | {r.get('val_psnr', '-')} | "
                         f"{r.get('psnr_change_db', '-')} | "
                         f"{'parity %.1e' % r['parity_max_abs_err'] if 'parity_max_abs_err' in r else ''} |")
    lines += ["", "## Decoding", ""] + [
        f"- member {i}: {c.get('name')} width {c.get('width')}, {c.get('head', 'l1')} head"
        + (f", temperature {c['temperature']}" if c.get("head") == "bins" else "")
        for i, c in enumerate(meta["model_configs"])]
    lines += [f"- gray gain {meta['gray_gain']}, fading to none below L* {meta.get('gray_shadow', 0.0)} (the chroma "
              "factor on grayscale and screentone pages; `mangacolor temperature` tunes both with the temperature)", "",
              "## Provenance", "", f"- training config hash: {meta['training_config_hash']}",
              f"- data manifest hash: {meta['data_manifest_hash']}", f"- trained steps: {meta['trained_steps']}",
              f"- trained on: {'; '.join(meta.get('trained_on', ['unknown']))}", ""]
    lines += metrics_table(meta["metrics"], meta.get("code_version", "")) + ["", "## Training data licences", ""]
    lic = meta["licenses"]
    lines += ([f"- {x['source']}: {x['license']}. {x['attribution']}" for x in lic] if isinstance(lic, list)
              else [f"- {lic}"])
    (folder / "model_card.md").write_text("\n".join(lines) + "\n")
