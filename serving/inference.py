"""Page colouring on top of the runtime: what the CLI, the service and the demo call.

    colorizer = Colorizer.load("models/default")
    result = colorizer.colorize(rgb, mode="auto", hints=[...])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from mangacolor.contract import MODES, WORK_SIZE
from mangacolor.hints import Hint
from mangacolor.kinds import detect_kind, is_colored
from mangacolor.pipeline import colorize as run_pipeline
from mangacolor.refine import check_refine

from .runtime import OnnxColorizer, default_threads, load_model

MIN_WORK, MAX_WORK = 128, 1024


@dataclass(frozen=True)
class Result:
    image: np.ndarray   # (H, W, 3) uint8, the input's exact size
    kind: str           # the input kind used
    skipped: bool = False  # already in colour and left untouched


@dataclass
class Colorizer:
    """Colours pages with the model that `pick(quality)` returns ('fast' or 'ensemble')."""

    pick: Callable[[str], OnnxColorizer]

    @classmethod
    def load(cls, path: str | Path, device: str = "auto", variant: str = "", threads: int | None = None) -> "Colorizer":
        """One exported model folder, used for every quality (the CLI)."""
        model = load_model(path, device=device, variant=variant, threads=default_threads() if threads is None else threads)
        return cls(lambda _quality: model)

    @classmethod
    def live(cls, device: str = "auto", threads: int | None = None) -> "Colorizer":
        """The models live in the model store, following promotions (the demo inside the service)."""
        from .live import LiveModels

        live = LiveModels(device, default_threads() if threads is None else threads)
        return cls(lambda quality: live.get(quality)[1])

    @property
    def model(self) -> OnnxColorizer:
        return self.pick("fast")

    def colorize(self, rgb: np.ndarray, mode: str = "auto", hints: list[Hint] | None = None,
                 work_size: int = WORK_SIZE, skip_colored: bool = False, quality: str = "fast",
                 refine: str = "auto", references: list[np.ndarray] | None = None) -> Result:
        """Colour one page; `mode` auto detects line art / grayscale / screentone; `refine` runs the
        colour solver (auto: when there are hints or references; see mangacolor.refine); references:
        coloured pictures of the same characters (mangacolor.reference)."""
        check_refine(refine)
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
        if not MIN_WORK <= work_size <= MAX_WORK:
            raise ValueError(f"working size must be between {MIN_WORK} and {MAX_WORK} px, got {work_size}")
        if skip_colored and is_colored(rgb):
            return Result(rgb, "colour", skipped=True)
        kind = detect_kind(rgb) if mode == "auto" else mode
        return Result(run_pipeline(rgb, self.pick(quality), kind, hints, work_size, refine, references), kind)
