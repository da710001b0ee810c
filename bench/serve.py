"""Service throughput and latency under concurrent clients (loopback only, bounded in time and count).

    python bench/serve.py [--model models/default] [--seconds 20] [--clients 1 4 16]

For batching on and off: a real `bentoml serve` on 127.0.0.1, N clients posting one
1200x1700 page each in a loop for a fixed time; throughput, p50/p99 and the server's
memory. Then the raw runtime's batched throughput (the model alone, batch 8), the
same work as the service done in one process (decode, batch-8 model call, compose,
PNG), and the service / raw ratios, all in this one run on this one machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, save  # noqa: E402
from mangacolor.image_io import encode_png  # noqa: E402
from tests.server import start_server  # noqa: E402

MAX_REQUESTS = 2000


def page_png() -> bytes:
    rng = np.random.default_rng(0)
    page = np.full((1700, 1200, 3), 255, np.uint8)
    for _ in range(40):
        y, x = rng.integers(0, 1600), rng.integers(0, 1100)
        page[y:y + 100, x:x + 4] = 0
        page[y:y + 4, x:x + 100] = 0
    return encode_png(page)


def load(url: str, clients: int, seconds: float, body: bytes) -> dict:
    lat, errors, stop = [], [], time.time() + seconds
    lock = threading.Lock()

    def client():
        with httpx.Client(timeout=120) as c:
            while time.time() < stop and len(lat) < MAX_REQUESTS:
                t = time.perf_counter()
                try:
                    status = c.post(f"{url}/colorize", files={"image": ("p.png", body, "image/png")}).status_code
                except httpx.HTTPError as e:  # a timeout is an error of the run, not a crash of the client
                    status = type(e).__name__
                with lock:
                    (lat if status == 200 else errors).append(time.perf_counter() - t if status == 200 else status)

    t0 = time.time()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - t0
    lat.sort()
    return {"clients": clients, "requests": len(lat), "errors": len(errors), "pages_per_s": len(lat) / wall,
            "p50_s": statistics.median(lat) if lat else None,
            "p99_s": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None}


def server_rss_by_process(pid: int) -> dict[str, float]:
    """Resident memory (MB) of each process of the server tree, keyed by its BentoML service name
    ("arbiter" for the `bentoml serve` process itself)."""
    import subprocess

    rows = [line.split(None, 3) for line in
            subprocess.run(["ps", "-eo", "pid=,ppid=,rss=,args="], capture_output=True, text=True,
                           check=False).stdout.splitlines()]
    tree, grew = {pid}, True
    while grew:
        kids = {int(p) for p, pp, *_ in rows if int(pp) in tree} - tree
        tree, grew = tree | kids, bool(kids)
    out = {}
    for p, _pp, rss, args in (r + [""] * (4 - len(r)) for r in rows):
        if int(p) in tree:
            a = args.split()
            name = a[a.index("--service-name") + 1] if "--service-name" in a[:-1] else ("arbiter" if int(p) == pid else p)
            out[name] = out.get(name, 0.0) + int(rss) / 1024
    return out


def server_rss_mb(pid: int) -> float:
    """Resident memory of the whole server process tree (MB)."""
    return sum(server_rss_by_process(pid).values())


def raw_batched(model_dir: Path, seconds: float) -> float:
    """Pages/s of the model alone, batch 8 on the portrait canvas (the issue's reference)."""
    from serving.runtime import load_model

    m = load_model(model_dir, device="auto")
    x = np.ones((8, 1, 512, 384), np.float32)
    z3, z1 = np.zeros((8, 3, 512, 384), np.float32), np.zeros((8, 1, 512, 384), np.float32)
    m(x, z3, z1)
    n, t0 = 0, time.time()
    while time.time() < t0 + seconds:
        m(x, z3, z1)
        n += 8
    return n / (time.time() - t0)


def pipeline_batched(model_dir: Path, seconds: float, body: bytes) -> dict:
    """The service's work without the server: decode + prepare 8 pages, one batch-8 model call,
    compose + encode 8 PNGs, in this process. Returns pages/s and the CPU seconds per page
    spent outside the model (the part that competes with the model for the same cores)."""
    from mangacolor.pipeline import decoding_of, finish
    from serving.api import make_job
    from serving.runtime import load_model
    from serving.worker import CANVASES, pad_to, stack_inputs

    m = load_model(model_dir, device="auto")
    n, model_s, t0 = 0, 0.0, time.time()
    while time.time() < t0 + seconds:
        jobs = [make_job(body, "", "auto", "fast", "", 40_000_000) for _ in range(8)]
        batch = np.concatenate([pad_to(stack_inputs(j.prepared), CANVASES["portrait"]) for j in jobs])
        t = time.time()
        out = m(batch[:, 0:1], batch[:, 1:4], batch[:, 4:5])
        model_s += time.time() - t
        for j, pred in zip(jobs, out):
            h, w = j.prepared.hw
            encode_png(finish(j.page, pred[:, :h, :w], j.prepared, j.kind, **decoding_of(m)), 1)
        n += 8
    wall = time.time() - t0
    return {"pages_per_s": n / wall, "model_s_per_page": model_s / n, "other_s_per_page": (wall - model_s) / n}


def main(argv: list[str] | None = None) -> int:
    import os

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/default")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    args = p.parse_args(argv)
    body = page_png()
    res = {"model": args.model, "page": "1200x1700 PNG", "runs": []}
    for batching in (1, 0):
        os.environ["MANGACOLOR_BATCHING"] = str(batching)
        os.environ["MANGACOLOR_MAX_INFLIGHT"] = "64"
        os.environ["MANGACOLOR_ORT_THREADS"] = "0"
        t0 = time.time()
        gen = start_server(Path(tempfile.mkdtemp()), Path(args.model), live=Path(args.model))
        srv = next(gen)
        res.setdefault("cold_start_to_ready_s", round(time.time() - t0, 1))  # deploy + serve + warm-up
        try:
            for n in args.clients:
                r = load(srv.url, n, args.seconds, body) | {"batching": bool(batching)}
                r["server_rss_mb"] = server_rss_mb(srv.proc.pid)
                res["runs"].append(r)
                print(r, flush=True)
        finally:
            next(gen, None)
    res["raw_runtime_batch8_pages_per_s"] = raw_batched(Path(args.model), args.seconds / 2)
    pipe = pipeline_batched(Path(args.model), args.seconds / 2, body)
    res["pipeline_batch8"] = pipe
    best16 = max((r["pages_per_s"] for r in res["runs"] if r["clients"] == max(args.clients)), default=0)
    res["service_over_raw_at_max_clients"] = best16 / res["raw_runtime_batch8_pages_per_s"]
    res["service_over_pipeline_at_max_clients"] = best16 / pipe["pages_per_s"]
    # The model's share of a page's time when the work runs one step after another. Where the page work and
    # the model share the same cores, service / raw cannot go far above this (threads overlap them a little).
    res["model_share_of_pipeline"] = pipe["model_s_per_page"] / (pipe["model_s_per_page"] + pipe["other_s_per_page"])
    print(f"machine: {machine()}; raw runtime (batch 8, model only): {res['raw_runtime_batch8_pages_per_s']:.2f} pages/s; "
          f"in-process pipeline (decode, model, compose, PNG): {pipe['pages_per_s']:.2f} pages/s "
          f"({pipe['model_s_per_page'] * 1000:.0f} ms model + {pipe['other_s_per_page'] * 1000:.0f} ms other per page); "
          f"service / raw at {max(args.clients)} clients: {res['service_over_raw_at_max_clients']:.2f} "
          f"(model's share of the in-process pipeline's time: {res['model_share_of_pipeline']:.2f}); "
          f"service / pipeline: {res['service_over_pipeline_at_max_clients']:.2f}")
    print("wrote", save("serve", res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
