"""Helpers shared by the benchmark scripts: machine description and result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine() -> str:
    """'<cpu model>, N cores[, GPU name]' for labelling every figure."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    desc = f"{cpu}, {os.cpu_count()} cores"
    try:
        import torch

        if torch.cuda.is_available():
            desc += f", {torch.cuda.get_device_name(0)}"
    except ImportError:
        pass
    return desc


def save(name: str, result: dict) -> Path:
    """Write bench/results/<name>.json with the machine and a timestamp."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "when": time.strftime("%Y-%m-%d %H:%M:%S"), **result}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=1))
    return path
