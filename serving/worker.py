"""The inference worker: live models, hot swap, and the adaptive-batching numpy APIs.

Requests reach it already prepared by the front service: one (N, 5, H, W)
float32 array (gray, hint Lab * mask, mask) padded to a fixed canvas, so
requests of one canvas can be batched together (BentoML concatenates them).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import bentoml
import numpy as np

from mangacolor.pipeline import Prepared

from .config import SERVE
from .live import LiveModels
from .registry import ensure_default, traits

# Fixed canvases (H, W) at the 512 px working size: every page fits one of them.
CANVASES = {"portrait": (512, 384), "landscape": (384, 512), "square": (512, 512)}
BATCH = (dict(batchable=True, batch_dim=0, max_batch_size=SERVE.max_batch_size, max_latency_ms=SERVE.max_latency_ms)
         if SERVE.batching else {})


def canvas_for(h: int, w: int) -> str | None:
    """Smallest canvas holding an (h, w) working-size input, or None (then unbatched)."""
    for name, (ch, cw) in sorted(CANVASES.items(), key=lambda kv: kv[1][0] * kv[1][1]):
        if h <= ch and w <= cw:
            return name
    return None


def stack_inputs(p: Prepared) -> np.ndarray:
    """Prepared network inputs -> the worker's one (1, 5, h, w) float32 array (gray, hint, mask)."""
    return np.concatenate([p.x, p.hint, p.mask], axis=1).astype(np.float32)


def pad_to(batch: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """(1, 5, h, w) -> (1, 5, H, W): paper-white gray, no hints in the padding."""
    h, w = batch.shape[-2:]
    out = np.zeros((1, 5, *hw), np.float32)
    out[:, 0] = 1.0
    out[:, :, :h, :w] = batch
    return out


@bentoml.service(name="mangacolor-inference", workers=1, threads=SERVE.worker_threads,
                 traffic={"timeout": SERVE.timeout_s, "max_concurrency": SERVE.max_inflight * 2})
class Inference:
    def __init__(self) -> None:
        ensure_default(Path(SERVE.bundled))
        # Warm each model at the biggest batch on the biggest canvas: ORT's arena then has its
        # steady size before /readyz, instead of growing during the first minutes of load.
        big = max(CANVASES.values(), key=lambda hw: hw[0] * hw[1])
        self.live = LiveModels(SERVE.device, SERVE.ort_threads, warm=(SERVE.max_batch_size if SERVE.batching else 1, *big))

    def __is_ready__(self) -> bool:
        return "fast" in self.live.models

    @bentoml.api
    def status(self) -> dict:
        """Live tags per role, the execution provider they run on, and their traits (registry.traits)."""
        return {role: {"tag": tag, "provider": m.provider, **asdict(traits(m.metadata))}
                for role, (tag, m) in self.live.models.items()}

    def _run(self, which: str, batch: np.ndarray, glob: np.ndarray | None = None) -> np.ndarray:
        _tag, model = self.live.get(which)
        return model(batch[:, 0:1], batch[:, 1:4], batch[:, 4:5], glob)

    # One batchable API per (quality, canvas): a batch only ever joins arrays of one shape.
    @bentoml.api(**BATCH)
    def fast_portrait(self, batch: np.ndarray) -> np.ndarray:
        return self._run("fast", batch)

    @bentoml.api(**BATCH)
    def fast_landscape(self, batch: np.ndarray) -> np.ndarray:
        return self._run("fast", batch)

    @bentoml.api(**BATCH)
    def fast_square(self, batch: np.ndarray) -> np.ndarray:
        return self._run("fast", batch)

    @bentoml.api(**BATCH)
    def ensemble_portrait(self, batch: np.ndarray) -> np.ndarray:
        return self._run("ensemble", batch)

    @bentoml.api(**BATCH)
    def ensemble_landscape(self, batch: np.ndarray) -> np.ndarray:
        return self._run("ensemble", batch)

    @bentoml.api(**BATCH)
    def ensemble_square(self, batch: np.ndarray) -> np.ndarray:
        return self._run("ensemble", batch)

    # glob is a plain array, never None: BentoML 1.4 cannot build an API's input schema for `np.ndarray | None`
    # (the service then fails at import); zeros (no_global_hints) read as "no references" in every model.
    @bentoml.api
    def run_any(self, which: str, batch: np.ndarray, glob: np.ndarray) -> np.ndarray:
        """Unbatched: any canvas size, any live role or deployed tag; glob (N, D): global hints from
        references (mangacolor.abbins.global_hints), or mangacolor.abbins.no_global_hints(N) for none."""
        return self._run(which, batch, glob)
