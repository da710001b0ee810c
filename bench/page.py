"""One detailed 1200x1700 grayscale page, end to end: where its time goes, and what a client waits for.

    python bench/page.py [--model models/default] [--requests 20] [--refine off auto] [--no-server]

First the page's stages in this process, one after another (decode, kind, prepare, model,
solver, compose, PNG; and the layers of format=ora), median of a few runs each. Then a real `bentoml serve` on
127.0.0.1 and one client posting the page to /colorize: p50/p90 of the whole request
(upload, decode, model, solver, compose, PNG) with no hints and with 32 point hints.
`--refine` adds the form field `refine` (one setting per choice) to the hinted requests;
a server without the field is reported, not crashed on. Ratios come from this one run;
the settings take turns request by request, and the load average is recorded, because
other work on a 2-core machine moves every figure.

The page is synthetic but detailed (shading, lines, scan grain), not flat: flat pages
decode, convert and compress unrealistically fast.
"""

from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine, save  # noqa: E402
from mangacolor.contract import REFINE_MODES  # noqa: E402
from mangacolor.hints import parse_hints  # noqa: E402
from mangacolor.image_io import encode_png, load_image  # noqa: E402
from mangacolor.kinds import detect_kind  # noqa: E402
from mangacolor.layers import to_ora  # noqa: E402
from mangacolor.pipeline import decoding_of, finish, prepare  # noqa: E402

H, W = 1700, 1200  # portrait page, (H, W)
N_HINTS = 32
WARMUP = 3
TARGET_P50_S = 0.5


def detailed_page(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    """(h, w) uint8 gray page: the demo figure's lines over soft shading and detail, plus scan grain."""
    rng = np.random.default_rng(seed)
    lines = np.asarray(Image.open(ROOT / "demo/examples/figure.png").convert("L").resize((w, h), Image.BICUBIC),
                       np.float32) / 255.0

    def field(cells: int, lo: float, hi: float) -> np.ndarray:  # smooth random (h, w) field
        small = Image.fromarray(rng.uniform(lo, hi, (cells, cells)).astype(np.float32))
        return np.asarray(small.resize((w, h), Image.BICUBIC), np.float32)

    shade = field(6, 0.35, 0.95) + 0.15 * field(40, -0.5, 0.5)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade -= 0.25 * np.exp(-(((yy - 0.6 * h) / (0.25 * h)) ** 2 + ((xx - 0.5 * w) / (0.2 * w)) ** 2))  # a shadow
    g = np.clip(shade, 0.0, 1.0) * lines * 255.0 + rng.normal(0.0, 5.0, (h, w))
    return np.clip(g + 0.5, 0, 255).astype(np.uint8)


def page_png(gray: np.ndarray) -> bytes:
    """The page as a client would send it: a 1-channel PNG at Pillow's default compression."""
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    return buf.getvalue()


def hints_json(n: int = N_HINTS, seed: int = 1) -> str:
    """`n` point hints with random colours, spread over the page (the API's JSON form field)."""
    rng = np.random.default_rng(seed)
    return json.dumps([{"x": int(rng.integers(20, W - 20)), "y": int(rng.integers(20, H - 20)),
                        "color": "#%02x%02x%02x" % tuple(int(c) for c in rng.integers(0, 256, 3))} for _ in range(n)])


def _median_ms(fn, reps: int, warm: bool = True) -> tuple[tuple[float, float], object]:
    """((wall, CPU) medians in ms, the last result). CPU time counts every thread of this process;
    it moves less than wall time when other work shares the cores."""
    if warm:
        fn()
    wall, cpu, out = [], [], None
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return (statistics.median(wall) * 1000, statistics.median(cpu) * 1000), out


def _paired_diff_ms(base, more, reps: int) -> tuple[float, float]:
    """Median of (more - base) over `reps` runs of the two in turns, (wall, CPU) ms: the cost `more` adds,
    measured under the same conditions (a difference of two separate medians can even come out negative)."""
    base(), more()
    wall, cpu = [], []
    for _ in range(reps):
        (w0, c0), _ = _median_ms(base, 1, warm=False)
        (w1, c1), _ = _median_ms(more, 1, warm=False)
        wall.append(w1 - w0)
        cpu.append(c1 - c0)
    return statistics.median(wall), statistics.median(cpu)


def stages(model_dir: str, body: bytes, hints: str, reps: int) -> dict:
    """Per-stage medians (wall and CPU ms) of the page's work in this process, as the service does it."""
    from serving.memory import tame_malloc
    from serving.runtime import load_model

    tame_malloc()  # the service's malloc settings: big arrays cost what they cost there
    model = load_model(model_dir)
    has_refine = "refine_mode" in inspect.signature(finish).parameters  # the solver, where it has landed
    t: dict[str, tuple[float, float]] = {}
    t["decode"], page = _median_ms(lambda: load_image(body), reps)
    t["kind"], kind = _median_ms(lambda: detect_kind(page), reps)
    parsed = parse_hints(hints, size=(W, H))
    t["prepare"], _ = _median_ms(lambda: prepare(page, [], fill=model.hint_fill, kind=kind), reps)
    t["prepare_32_hints"], p = _median_ms(lambda: prepare(page, parsed, fill=model.hint_fill, kind=kind), reps)
    t["model"], pred = _median_ms(lambda: model(p.x, p.hint, p.mask)[0], reps)
    # as the service finishes a page: the model's decoding on gray pages (gain, shadow), then compose
    decoding = decoding_of(model)
    t["compose"], rgb = _median_ms(lambda: finish(page, pred, p, kind, "off", **decoding), reps)
    if has_refine:  # finish(auto) = solver + compose: the two timed in turns, the solver as their difference
        t["solver"] = _paired_diff_ms(lambda: finish(page, pred, p, kind, "off", **decoding),
                                      lambda: finish(page, pred, p, kind, "auto", **decoding), reps)
    t["png"], png = _median_ms(lambda: encode_png(rgb, 1), reps)
    # layers for painting programs (format=ora; not in the totals): this page, and line art of the same size
    # (the demo figure's lines, coloured by the same prediction), whose flat colours under the lines cost more
    t["layers"], _ = _median_ms(lambda: to_ora(page, rgb, kind, png), reps)
    lines = np.asarray(Image.open(ROOT / "demo/examples/figure.png").convert("RGB").resize(page.shape[1::-1]))
    lines_rgb = finish(lines, pred, prepare(lines, []), "lineart", "off")  # its own lines for compose.line_free
    t["layers_lineart"], _ = _median_ms(lambda: to_ora(lines, lines_rgb, "lineart"), reps)

    def total(*keys):
        return tuple(sum(t[k][i] for k in keys) for i in (0, 1))

    base = ("decode", "kind", "model", "compose", "png")
    t["total_no_hints"] = total("prepare", *base)
    t["total_32_hints_no_solver"] = total("prepare_32_hints", *base)
    if has_refine:
        t["total_32_hints_solver"] = total("prepare_32_hints", "solver", *base)
    return {"kind": kind, "png_bytes": len(png), "wall_ms": {k: round(v[0], 1) for k, v in t.items()},
            "cpu_ms": {k: round(v[1], 1) for k, v in t.items()}}


def post(client, url: str, body: bytes, form: dict):
    return client.post(f"{url}/colorize", files={"image": ("page.png", body, "image/png")}, data=form)


def summary(form: dict, lat: list[float], png_bytes: int) -> dict:
    said = {k: (N_HINTS if k == "hints" else v) for k, v in form.items()}  # the hints by count, not their JSON
    lat = sorted(lat)
    return {"form": said, "requests": len(lat), "p50_s": round(statistics.median(lat), 3),
            "p90_s": round(lat[min(len(lat) - 1, int(0.9 * len(lat)))], 3), "min_s": round(lat[0], 3),
            "png_bytes": png_bytes}


def server_knows(url: str, field: str) -> bool:
    """Whether POST /colorize documents form field `field` (an unknown field is silently ignored)."""
    import httpx

    schema = httpx.get(f"{url}/openapi.json", timeout=10).json()
    return f'"{field}"' in json.dumps(schema.get("components", {}))


def api(model_dir: str, body: bytes, hints: str, n: int, refine: list[str]) -> dict:
    """A real server on loopback, one client, one request at a time. The settings take turns request by
    request, so load from elsewhere on the machine falls on all of them alike."""
    import httpx

    from tests.server import start_server

    os.environ.setdefault("MANGACOLOR_ORT_THREADS", "0")  # the service's default: every core for the model
    os.environ.setdefault("MANGACOLOR_UI", "0")
    settings = {"none": {}}
    if not refine:
        settings["hints"] = {"hints": hints}  # the server's default refine
    for mode in refine:
        settings[f"hints_refine_{mode}"] = {"hints": hints, "refine": mode}
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as root:
        gen = start_server(Path(root), Path(model_dir), live=Path(model_dir))
        srv = next(gen)
        try:
            if refine and not server_knows(srv.url, "refine"):
                for key in list(settings)[1:]:
                    runs[key] = {"form": {"refine": settings.pop(key)["refine"]}, "skipped": "no 'refine' field"}
                print("skipped the refine settings: this server's POST /colorize has no 'refine' form field "
                      "(it would ignore it); run again once the solver has landed")
            with httpx.Client(timeout=120) as c:
                for key, form in list(settings.items()):  # warm-up, and settings the server refuses
                    for _ in range(WARMUP):
                        r = post(c, srv.url, body, form)
                        if r.status_code != 200:
                            runs[key] = {"form": {k: v for k, v in form.items() if k != "hints"},
                                         "status": r.status_code, "refused": r.text[:300]}
                            print(f"{key}: the server answered {r.status_code}: {r.text[:300]}")
                            settings.pop(key)
                            break
                lat: dict[str, list[float]] = {k: [] for k in settings}
                size: dict[str, int] = {}
                for _ in range(n):
                    for key, form in settings.items():
                        t = time.perf_counter()
                        r = post(c, srv.url, body, form)
                        lat[key].append(time.perf_counter() - t)
                        r.raise_for_status()
                        size[key] = len(r.content)
                for key, form in settings.items():
                    runs[key] = summary(form, lat[key], size[key])
                    print(f"{key}:", runs[key], flush=True)
        finally:
            next(gen, None)
    return runs


def table(st: dict) -> str:
    rows = [f"{k:26s} {v:8.1f} {st['cpu_ms'][k]:8.1f}" for k, v in st["wall_ms"].items()]
    return "\n".join([f"in-process stages (kind {st['kind']}, PNG {st['png_bytes'] / 1e6:.2f} MB)",
                      f"{'stage':26s} {'wall ms':>8s} {'CPU ms':>8s}", *rows])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--requests", type=int, default=20, help="timed requests per setting, after 3 warm-ups")
    p.add_argument("--reps", type=int, default=7, help="runs per in-process stage")
    p.add_argument("--refine", nargs="*", default=[], choices=REFINE_MODES,
                   help="send form field refine=<mode> with the hinted requests, one setting per mode")
    p.add_argument("--no-server", action="store_true", help="the in-process stages only (printed, not saved)")
    args = p.parse_args(argv)
    if args.requests < 1 or args.reps < 1:
        p.error("--requests and --reps must be at least 1")
    gray = detailed_page()
    body, hints = page_png(gray), hints_json()
    res = {"model": args.model, "page": f"{W}x{H} grayscale PNG, {len(body) / 1e6:.2f} MB, detailed (synthetic)",
           "hints": N_HINTS, "load_average_at_start": os.getloadavg()[0]}
    res["in_process"] = st = stages(args.model, body, hints, args.reps)
    print(table(st), flush=True)
    if not args.no_server:
        res["api"] = runs = api(args.model, body, hints, args.requests, args.refine)
        res["load_average_at_end"] = os.getloadavg()[0]
        p50 = {k: r["p50_s"] for k, r in runs.items() if r.get("p50_s")}
        if "none" in p50:
            res["api_over_in_process_no_hints"] = round(p50["none"] / (st["wall_ms"]["total_no_hints"] / 1000), 2)
            for key in p50:
                res[f"{key}_over_none"] = round(p50[key] / p50["none"], 2)
        if "hints_refine_auto" in p50 and "hints_refine_off" in p50:
            res["api_solver_s"] = round(p50["hints_refine_auto"] - p50["hints_refine_off"], 3)
        print(f"machine: {machine()} (load average {res['load_average_at_start']:.2f} at start, "
              f"{res['load_average_at_end']:.2f} at end); API p50: " + ", ".join(f"{k} {v:.3f} s" for k, v in p50.items())
              + f" (target {TARGET_P50_S} s); API / in-process (no hints): {res.get('api_over_in_process_no_hints')}")
        print("wrote", save("page", res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
