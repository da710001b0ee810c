"""The demo inside the service colours through the service's worker, as POST /colorize does.

No second copy of the models in the front process: every page goes to the worker (its adaptive
batching per canvas, its device and thread settings from ServeConfig), and counts toward the
service's in-flight limit. Gradio runs handlers in threads, so the worker is called with the
dependency's synchronous client.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from mangacolor.abbins import no_global_hints
from mangacolor.contract import WORK_SIZE
from mangacolor.hints import Hint

from .config import SERVE
from .inference import Colorizer, Result
from .registry import Traits, traits
from .worker import CANVASES, canvas_for, pad_to


class WorkerModel:
    """One role of the worker, callable like an exported model: (x, hint, mask) -> (N, C, h, w)."""

    def __init__(self, service, role: str):
        self.service, self.role = service, role

    @cached_property
    def _traits(self) -> Traits:
        """The live model's traits, asked of the worker once per page (a WorkerModel lives for one page)."""
        status = self.service.inference.status()
        if self.role not in status:
            raise ValueError(f"no {self.role} model is live yet; deploy one with "
                             f"`mangacolor deploy MODEL --role {self.role} --promote`")
        return traits(status[self.role])

    @property
    def hint_fill(self) -> bool:
        return self._traits.hint_fill

    @property
    def gray_gain(self) -> float:
        return self._traits.gray_gain

    @property
    def gray_shadow(self) -> float:
        return self._traits.gray_shadow

    def __call__(self, x: np.ndarray, hint: np.ndarray, mask: np.ndarray, glob: np.ndarray | None = None) -> np.ndarray:
        svc = self.service
        if svc.active >= SERVE.max_inflight:
            raise ValueError(f"{svc.active} pages are being coloured; retry shortly")
        svc.active += 1
        try:
            batch = np.concatenate([x, hint, mask], axis=1).astype(np.float32)  # (1, 5, h, w)
            h, w = batch.shape[-2:]
            name = canvas_for(h, w)
            if name is None or glob is not None:  # pages with references go unbatched, with their global hints
                out = svc.inference.run_any(self.role, batch, no_global_hints(len(batch)) if glob is None else glob)
            else:
                out = getattr(svc.inference, f"{self.role}_{name}")(pad_to(batch, CANVASES[name]))
            return np.asarray(out)[:, :, :h, :w]
        finally:
            svc.active -= 1


class WorkerBackend:
    """The demo's backend inside the service; `attach` is called by the service once it exists."""

    def __init__(self):
        self.service = None

    def attach(self, service) -> None:
        self.service = service

    def colorize(self, rgb: np.ndarray, mode: str = "auto", hints: list[Hint] | None = None, work_size: int = WORK_SIZE,
                 skip_colored: bool = False, quality: str = "fast", refine: str = "auto",
                 references: list[np.ndarray] | None = None) -> Result:
        if self.service is None:
            raise ValueError("the service is still starting; try again in a moment")
        colorizer = Colorizer(lambda role: WorkerModel(self.service, role))
        return colorizer.colorize(rgb, mode, hints, work_size, skip_colored, quality, refine, references)
