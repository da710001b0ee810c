"""Soak: the real server under steady load for a fixed time, memory sampled throughout.

    python bench/soak.py [--minutes 10] [--clients 4] [--model models/default]

Reports throughput, p50/p99, errors and the server's memory: its drift (mean RSS of the
last minute minus the first minute under load), the least-squares slope (MB/min), and
both per process (front, inference worker, arbiter). Loopback only, bounded by time and
request count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, save  # noqa: E402
from bench.serve import page_png, server_rss_by_process  # noqa: E402
from tests.server import start_server  # noqa: E402

MAX_REQUESTS = 100_000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--model", default="models/default")
    args = p.parse_args(argv)
    os.environ["MANGACOLOR_ORT_THREADS"] = "0"
    gen = start_server(Path(tempfile.mkdtemp()), Path(args.model), live=Path(args.model))
    srv = next(gen)
    body, lat, errors, samples = page_png(), [], [], []
    stop = time.time() + args.minutes * 60
    lock = threading.Lock()

    def client():
        with httpx.Client(timeout=120) as c:
            while time.time() < stop and len(lat) < MAX_REQUESTS:
                t = time.perf_counter()
                r = c.post(f"{srv.url}/colorize", files={"image": ("p.png", body, "image/png")})
                with lock:
                    if r.status_code == 200:
                        lat.append(time.perf_counter() - t)
                    else:
                        errors.append(r.status_code)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    t0 = time.time()
    for t in threads:
        t.start()
    try:
        while time.time() < stop:
            time.sleep(10)  # the first sample is taken under load, not before it
            samples.append((time.time() - t0, server_rss_by_process(srv.proc.pid)))
        for t in threads:
            t.join()
    finally:
        next(gen, None)
    wall = time.time() - t0
    lat.sort()
    res = {"minutes": args.minutes, "clients": args.clients, "requests": len(lat), "errors": len(errors),
           "pages_per_s": len(lat) / wall, "p50_s": statistics.median(lat), "p99_s": lat[int(0.99 * (len(lat) - 1))]}
    procs = sorted({name for _, by in samples for name in by})
    for name in ["total", *procs]:
        series = [(s, sum(by.values()) if name == "total" else by.get(name, 0.0)) for s, by in samples]
        res[f"rss_{name}"] = memory_summary(series, wall)
    res["rss_samples"] = samples
    print({k: v for k, v in res.items() if k != "rss_samples"}, "on", machine())
    print("wrote", save("soak", res))
    return 0


def memory_summary(series: list[tuple[float, float]], wall: float) -> dict:
    """First-minute and last-minute mean RSS (MB), their difference, and least-squares slopes (MB/min) over
    the whole run and over its second half (after the allocator has settled: a leak still shows there)."""
    first = [m for s, m in series if s <= 70] or [series[0][1]]
    last = [m for s, m in series if s > wall - 60] or [series[-1][1]]

    def slope(points):
        return statistics.linear_regression([s / 60 for s, _ in points], [m for _, m in points]).slope if len(points) > 2 else 0.0

    return {"first_minute_mb": round(statistics.mean(first), 1), "last_minute_mb": round(statistics.mean(last), 1),
            "drift_mb": round(statistics.mean(last) - statistics.mean(first), 1), "slope_mb_per_min": round(slope(series), 2),
            "second_half_slope_mb_per_min": round(slope([p for p in series if p[0] >= wall / 2]), 2),
            "max_mb": round(max(m for _, m in series), 1)}


if __name__ == "__main__":
    sys.exit(main())
