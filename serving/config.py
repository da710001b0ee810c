"""Service settings: one frozen dataclass, each field overridable by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ServeConfig:
    bundled: str = "models/default"     # deployed and promoted on first start when nothing is live
    device: str = "auto"                # auto | cpu | cuda
    ort_threads: int = 0                # ONNX Runtime intra-op threads, 0 = one per core
    max_upload_mb: float = 20.0         # request body limit
    max_pixels: int = 40_000_000        # checked from the image header, before decoding
    max_inflight: int = 16              # concurrent /colorize requests; more get 429
    batching: int = 1                   # adaptive batching of model calls (0 = off, for benchmarks)
    max_batch_size: int = 8
    max_latency_ms: int = 60_000        # batching window bound; CPU batches of 8 take seconds
    timeout_s: int = 300
    call_timeout_s: float = 10.0        # one front -> worker call; a lost call is retried after this
    worker_threads: int = 8
    front_threads: int = 16
    cpu_threads: int = 0                # pages decoded / composed at once by the front, 0 = one per core
    ui: int = 1                         # mount the Gradio demo at /ui (0 = API only)

    @classmethod
    def from_env(cls) -> "ServeConfig":
        """MANGACOLOR_<FIELD> (upper case) overrides each field."""
        kw = {}
        for f in fields(cls):
            v = os.environ.get(f"MANGACOLOR_{f.name.upper()}")
            if v is not None:
                kw[f.name] = type(f.default)(v)
        return cls(**kw)


SERVE = ServeConfig.from_env()
