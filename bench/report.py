"""Render bench/results/*.json as the benchmark table in docs/benchmarks.md (between the bench markers)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TARGET = ROOT / "docs" / "benchmarks.md"
MARKERS = re.compile(r"<!-- bench:start -->.*?<!-- bench:end -->", flags=re.S)


def _load(name: str) -> dict | None:
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _train_rows(t: dict) -> list[tuple[str, str, str]]:
    out = [("training, CPU fp32", f"{t['cpu_fp32_images_per_s']:.1f} images/s ({t['model']}, crop {t['crop']})", t["machine"])]
    if "loader_images_per_s" in t:
        out.append(("DataLoader (real dataset, augmentation, hints)", f"{t['loader_images_per_s']:.0f} images/s",
                    t["machine"]))
    if "gpu_amp_over_fp32" in t:
        out.append(("training, GPU AMP vs fp32", f"{t['gpu_amp_bf16_cl_images_per_s']:.0f} vs "
                    f"{t['gpu_fp32_images_per_s']:.0f} images/s ({t['gpu_amp_over_fp32']:.2f}x)", t["machine"]))
    return out


def _infer_rows(i: dict) -> list[tuple[str, str, str]]:
    out = [(f"network {r['input']}, batch {r['shape'][0]}",
            f"eager {r['PyTorch eager']:.2f} s, ORT {r['ORT fp32']:.2f} s, "
            f"INT8 {r.get('ORT INT8', float('nan')):.2f} s; "
            f"ORT {r['ORT fp32 speed-up over eager']:.1f}x eager", i["machine"]) for r in i["rows"]]
    return out + [(k.replace(" (s)", ""), f"{v:.2f} s median", i["machine"]) for k, v in i.items() if k.startswith("full page")]


def _serve_rows(s: dict) -> list[tuple[str, str, str]]:
    out = [(f"service, {r['clients']} clients, batching {'on' if r['batching'] else 'off'}",
            f"{r['pages_per_s']:.2f} pages/s, p50 {r['p50_s']:.2f} s, p99 {r['p99_s']:.2f} s, {r['errors']} errors, "
            f"{r['server_rss_mb']:.0f} MB", s["machine"]) for r in s["runs"]]
    out.append(("raw runtime, batch 8 (model only)", f"{s['raw_runtime_batch8_pages_per_s']:.2f} pages/s; service/raw "
                f"{s['service_over_raw_at_max_clients']:.2f}", s["machine"]))
    if pipe := s.get("pipeline_batch8"):
        out.append(("same work in one process (decode, batch-8 model, compose, PNG)",
                    f"{pipe['pages_per_s']:.2f} pages/s ({pipe['model_s_per_page'] * 1000:.0f} ms model + "
                    f"{pipe['other_s_per_page'] * 1000:.0f} ms other per page); service/this "
                    f"{s['service_over_pipeline_at_max_clients']:.2f}; model's share of its time "
                    f"{s['model_share_of_pipeline']:.2f}", s["machine"]))
    out.append(("cold start to ready", f"{s.get('cold_start_to_ready_s', float('nan'))} s", s["machine"]))
    return out


def _page_rows(g: dict) -> list[tuple[str, str, str]]:
    api, ms = g["api"], g["in_process"]["wall_ms"]
    solver = api.get("hints_refine_auto")
    return [(f"one {g['page'].split(',')[0]} page through the API, 1 client",
             f"p50 {api['none']['p50_s']:.3f} s no hints; 32 hints: {api['hints_refine_off']['p50_s']:.3f} s "
             f"refine=off" + (f", {solver['p50_s']:.3f} s refine=auto (solver)" if solver else ""), g["machine"]),
            ("the same page in one process, by stage (ms)",
             ", ".join(f"{k} {ms[k]:.0f}" for k in ("decode", "kind", "prepare_32_hints", "model", "solver",
                                                     "compose", "png")), g["machine"])] + (
        [("its layers as OpenRaster (format=ora), in one process (ms)", f"this page {ms['layers']:.0f}, line art of "
          f"its size {ms['layers_lineart']:.0f}", g["machine"])] if "layers" in ms else [])


def _soak_rows(k: dict) -> list[tuple[str, str, str]]:
    rss = k["rss_total"]
    return [(f"soak {k['minutes']} min, {k['clients']} clients", f"{k['requests']} requests, {k['errors']} errors, "
             f"p99 {k['p99_s']:.2f} s, memory {rss['first_minute_mb']:.0f} MB in the first minute, "
             f"drift {rss['drift_mb']:+.0f} MB ({rss['slope_mb_per_min']:+.1f} MB/min; second half "
             f"{rss['second_half_slope_mb_per_min']:+.1f} MB/min)", k["machine"])]


def _reference_rows(r: dict) -> list[tuple[str, str, str]]:
    e, ms = r["end_to_end"], r["stages"]["wall_ms"]
    return [(f"one {r['page'].split(',')[0]} page with {len(r['references'])} references, in one process",
             f"{e['refs_wall_s']:.3f} s vs {e['none_wall_s']:.3f} s without ({e['ratio_wall']:.2f}x; CPU "
             f"{e['ratio_cpu']:.2f}x); references seen before (a chapter's later pages) {e['refs_seen_wall_s']:.3f} s "
             f"({e['ratio_wall_seen']:.2f}x); added: transfer {ms['transfer']:.0f} ms ({ms['transfer_seen']:.0f} ms "
             f"seen), solver {ms['solver']:.0f} ms, global hints {ms['global_hints']:.0f} ms", r["machine"])]


ROWS = {"train_throughput": _train_rows, "infer": _infer_rows, "serve": _serve_rows, "page": _page_rows,
        "reference": _reference_rows, "soak": _soak_rows}


def rows() -> list[tuple[str, str, str]]:
    """(what, figure, machine) for every benchmark whose result file exists, in a fixed order."""
    return [row for name, make in ROWS.items() if (res := _load(name)) for row in make(res)]


def render(text: str, table: list[str]) -> str:
    """`text` with the table between its bench markers replaced; raises when the markers are missing."""
    if not MARKERS.search(text):
        raise ValueError("no <!-- bench:start --> ... <!-- bench:end --> markers to write the table between")
    block = "<!-- bench:start -->\n" + "\n".join(table) + "\n<!-- bench:end -->"
    return MARKERS.sub(lambda _m: block, text)


def main(argv=None) -> int:
    table = ["| what | figure | machine |", "|---|---|---|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows()]
    TARGET.write_text(render(TARGET.read_text(), table))
    print("\n".join(table))
    print(f"written to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
