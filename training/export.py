"""`mangacolor export MODEL --out models/NAME/`: a checked ONNX export.

MODEL is a checkpoint folder or an ensemble manifest (exported as one graph:
members plus combination). Steps, any failure of which writes nothing:
1. torch.onnx export (training/onnx_graph.py: inputs x, hint, mask [, glob],
   outputs lab [, confidence]), dynamic batch, height and width, weights inline;
2. onnx.checker, then ONNX Runtime against PyTorch on asymmetric inputs at two
   sizes (fp32 max abs error <= 1e-4);
3. metadata inside the model (version, contract, preprocessing version, config
   and data hashes, metrics, licences) and model_card.md beside it;
4. variants: fp16 (for GPUs) and INT8 static QDQ calibrated on the validation
   split (for CPUs); INT8 is refused when it loses more than 0.5 dB. Each
   variant carries its checks (parity error, size, validation PSNR and its
   change from fp32) in its metadata under "checks".
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mangacolor import PREPROCESSING_VERSION
from training.model_card import write_card
from training.onnx_graph import ExportError, export_onnx, parity, set_metadata

PARITY_TOL = 1e-4
INT8_MAX_LOSS_DB = 0.5


def describe(pred, data_root: str | None) -> dict:
    """Hashes, configs and licences of what is being exported (single model or ensemble)."""
    metas = pred.meta.get("members") or [pred.meta]
    roots = {m["config"]["data"]["root"] for m in metas}
    root = data_root or next(iter(roots))
    licenses = []
    card = Path(root) / "card.json"
    if card.is_file():
        licenses = [{"source": s["name"], "license": s["license"], "attribution": s.get("attribution", "")}
                    for s in json.loads(card.read_text())["sources"]]
    return {
        "structure": "ensemble" if pred.meta.get("members") else "single",
        "hint_fill": pred.hint_fill,
        "gray_gain": pred.gray_gain,
        "gray_shadow": pred.gray_shadow,
        "members": len(metas),
        "rule": pred.meta["ensemble"].rule if pred.meta.get("ensemble") else None,
        "model_configs": [m["model_config"] for m in metas],
        "training_config_hash": [m["config_hash"] for m in metas],
        "data_manifest_hash": sorted({m["data_manifest_hash"] for m in metas}),
        "trained_steps": [m["step"] for m in metas],
        "trained_on": sorted({f"{m.get('device', 'unknown')}, amp {m.get('amp', 'unknown')}" for m in metas}),
        "code_version": metas[0]["code_version"],
        "licenses": licenses or "unknown: no dataset card found",
    }, root


def variant_psnr(paths: dict[str, Path], data_root: str, limit: int, size: int) -> dict[str, float]:
    """Mean PSNR (training hint mix, all kinds) of each ONNX variant on the validation split."""
    from training.evaluate.predictors import OnnxPredictor
    from training.evaluate.report import aggregate
    from training.evaluate.run import EvalConfig, evaluate

    preds = [OnnxPredictor(p, name=v, device="cpu") for v, p in paths.items()]
    res = evaluate(preds, EvalConfig(data=data_root, split="val", size=size, limit=limit, hint_counts=(0,), baselines=()),
                   progress=False)
    agg = aggregate(res.rows)
    return {v: float(np.mean([agg[v][k]["mix"]["psnr"] for k in agg[v]])) for v in paths}


def quantize_qdq(src: Path, dst: Path, feeds: list[dict]) -> None:
    """Static INT8 QDQ quantization (per-channel weights), calibrated on `feeds` (input name -> array)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    pre = dst.with_name("pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    # the bins head's distribution stays in float (its softmaxes, the products with the bin centres, the
    # entropy's log): 8 bits on 313 probabilities cost 0.04 dB on validation, the rest of the network 0.01
    head = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type in ("Softmax", "MatMul", "Log", "Clip")]
    quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, nodes_to_exclude=head)
    pre.unlink()


def calibrate_int8(src: Path, dst: Path, data_root: str, n: int, size: int, fill: bool = False,
                   glob: bool = False) -> None:
    """INT8 variant calibrated on `n` validation pages of every input kind, prepared as the runtime prepares them."""
    from PIL import Image

    from mangacolor.pipeline import prepare
    from training.data.build import load_manifest
    from training.data.hint_sampling import sample_hints
    from training.evaluate.run import make_page, resize_long

    manifest = load_manifest(data_root)
    items = [r for r in manifest["items"] if r["split"] == "val"][:n]
    feeds = []
    for i, r in enumerate(items):
        target = resize_long(np.asarray(Image.open(f"{manifest['root']}/{r['color']}").convert("RGB")), size)
        rng = np.random.default_rng([1, i])
        kind = ("lineart", "grayscale", "screentone")[i % 3]
        p = prepare(make_page(target, None, kind, rng), sample_hints(target, rng), size, fill=fill, kind=kind)
        feeds.append({"x": p.x, "hint": p.hint, "mask": p.mask})
    if glob:  # calibrate with no reference, as most pages come
        from mangacolor.abbins import no_global_hints

        feeds = [f | {"glob": no_global_hints()} for f in feeds]
    quantize_qdq(src, dst, feeds)


def contract(name: str, info: dict, metrics: dict | None) -> dict:
    """The metadata every variant carries: identity, the input contract, provenance and metrics."""
    return {"name": name, "version": f"{name}-{time.strftime('%Y%m%d-%H%M%S')}", "variant": "fp32",
            "preprocessing_version": PREPROCESSING_VERSION, "work_size": 512,
            "input_contract": {"x": "[N,1,H,W] gray/line in [0,1], 1 = paper",
                               "hint": "[N,3,H,W] normalised Lab (L/100, a/110, b/110) * mask",
                               "mask": "[N,1,H,W] 1 where hinted" + (
                                   ", 0.5 where spread (the runtime spreads hints: hint_fill)" if info["hint_fill"] else ""),
                               "lab": "[N,3,H,W] normalised Lab",
                               **({"glob": "[N,D] optional global hints (mangacolor.abbins), zeros = none",
                                   "confidence": "[N,1,H,W] in [0,1], the solver's data weight"}
                                  if any(c.get("head") == "bins" for c in info["model_configs"]) else {}),
                               "min_side": 2 ** max(c["depth"] for c in info["model_configs"])},
            "metrics": metrics or {}, **info}


def build_checked(module: torch.nn.Module, path: Path, meta: dict) -> dict:
    """Export fp32 with its metadata, run the ONNX checker and compare ONNX Runtime with PyTorch;
    returns the fp32 checks row, or raises ExportError (nothing is published then)."""
    import onnx

    export_onnx(module, path)
    set_metadata(path, meta)
    onnx.checker.check_model(str(path), full_check=True)
    err = parity(path, module)
    if err > PARITY_TOL:
        raise ExportError(f"ONNX Runtime differs from PyTorch by {err:.2e} > {PARITY_TOL:g}; nothing written")
    return {"file": path.name, "parity_max_abs_err": err, "bytes": path.stat().st_size}


def make_variants(fp32: Path, meta: dict, variants: tuple[str, ...], root: str, can_calibrate: bool, calib: int,
                  size: int, fill: bool, checks: dict) -> dict[str, Path]:
    """fp16 (GPUs) and INT8 (CPUs, calibrated on the validation split) beside fp32 -> {variant: path}.
    INT8 without a validation split to calibrate on is refused in `checks`."""
    paths = {"fp32": fp32}
    if "fp16" in variants:
        import onnx
        from onnxconverter_common import float16

        f16 = fp32.with_name("model.fp16.onnx")
        onnx.save(float16.convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(f16))
        set_metadata(f16, meta | {"variant": "fp16"})
        paths["fp16"] = f16
    if "int8" in variants and can_calibrate:
        i8 = fp32.with_name("model.int8.onnx")
        calibrate_int8(fp32, i8, root, calib, size, fill=fill,
                       glob=any(c.get("global_hints") for c in meta["model_configs"]))
        set_metadata(i8, meta | {"variant": "int8"})
        paths["int8"] = i8
    elif "int8" in variants:
        checks["int8"] = {"refused": f"no validation split at {root} to calibrate and measure on"}
    for v, p in paths.items():
        checks.setdefault(v, {"file": p.name, "bytes": p.stat().st_size})
    return paths


def measure(paths: dict[str, Path], root: str, limit: int, size: int, checks: dict) -> None:
    """Validation PSNR of every variant and its change from fp32, into `checks`; an INT8 that loses more
    than INT8_MAX_LOSS_DB is deleted and refused."""
    q = variant_psnr(paths, root, limit, size)
    for v in paths:
        checks[v] |= {"val_psnr": round(q[v], 3), "psnr_change_db": round(q[v] - q["fp32"], 3)}
    if "int8" in paths and q["int8"] - q["fp32"] < -INT8_MAX_LOSS_DB:
        paths.pop("int8").unlink()
        checks["int8"] = {"refused": f"loses {q['fp32'] - q['int8']:.2f} dB PSNR (> {INT8_MAX_LOSS_DB} dB)"}


def publish(tmp: Path, out: Path) -> None:
    """Swap the finished folder in for `out` (the old one kept until the new one is in place)."""
    old = out.with_name(out.name + ".old")
    if out.exists():
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def export(model: str, out: Path, name: str = "", variants: tuple[str, ...] = ("fp16", "int8"), data_root: str | None = None,
           metrics: dict | None = None, calib: int = 32, checks_limit: int = 24, size: int = 256) -> dict:
    """Build, check, make variants, measure and publish one model folder; nothing is written on failure.
    Returns the metadata and the checks of each variant."""
    from training.evaluate.predictors import load_predictor

    pred = load_predictor(model)
    module = pred.module.eval().cpu()
    info, root = describe(pred, data_root)
    meta = contract(name or out.name, info, metrics)
    can_measure = (Path(root) / "manifest.json").is_file()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        checks = {"fp32": build_checked(module, tmp / "model.onnx", meta)}
        paths = make_variants(tmp / "model.onnx", meta, variants, root, can_measure, calib, size, pred.hint_fill,
                              checks)
        if can_measure:
            measure(paths, root, checks_limit, size, checks)
        for v, p in paths.items():  # each variant carries its own measured change
            set_metadata(p, meta | {"variant": v, "checks": checks[v]})
        write_card(tmp, meta, checks)
        publish(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {"meta": meta, "variants": checks}


def configure(p: argparse.ArgumentParser) -> None:
    p.description = __doc__.split("\n\n")[0].split(": ", 1)[1]
    p.add_argument("model", help="checkpoint folder, run folder's best/, or ensemble manifest (.json)")
    p.add_argument("--out", required=True, help="model folder to write, e.g. models/mine")
    p.add_argument("--name", default="", help="model name (default: the folder name)")
    p.add_argument("--variants", nargs="*", default=["fp16", "int8"], choices=["fp16", "int8"])
    p.add_argument("--data", default=None,
                   help="dataset for INT8 calibration and the variants' checks (default: the training one)")
    p.add_argument("--metrics", default=None, help="metrics.json of `mangacolor eval` to embed")
    p.add_argument("--calib", type=int, default=32, help="validation pages for INT8 calibration")
    p.add_argument("--checks-limit", type=int, default=24, help="validation images for the variants' PSNR checks")
    p.set_defaults(func=run)


def run(args) -> int:
    metrics = None
    if args.metrics:
        m = json.loads(Path(args.metrics).read_text())
        metrics = {"split": m["config"]["split"], "metrics": m["metrics"]}
    export(args.model, Path(args.out), args.name, tuple(args.variants), args.data, metrics, args.calib, args.checks_limit)
    print((Path(args.out) / "model_card.md").read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    from mangacolor.cli import main as cli_main

    return cli_main(["export", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
