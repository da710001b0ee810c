"""Generator registry. Every generator takes the three-part hint signature

    forward(x (N, 1, H, W), hint (N, 3, H, W), mask (N, 1, H, W)[, glob (N, D)]) -> (N, 3, H, W)

and predicts normalised Lab (see mangacolor.color). Generators with the "bins" head
also give `parts(...)` (logits, confidence: what their loss and the exported model
need; see unet.py). A checkpoint stores the ModelConfig; `build_generator`
rebuilds the network from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn


@dataclass(frozen=True)
class ModelConfig:
    name: str = "unet"            # key in GENERATORS
    width: int = 24               # channels of the first level
    depth: int = 4                # number of down-samplings; input sides must be >= 2**depth
    max_width: int = 192          # channel cap for deep levels
    norm: str = "group"           # "group" | "instance" | "batch" | "none"
    blocks: int = 2               # convs per level
    out_bias: tuple[float, float, float] = (0.75, 0.0, 0.0)  # output at init: light gray, no colour
    head: str = "l1"              # "l1": Lab regression | "bins": ab classification + regression refinement
    temperature: float = 0.38     # bins head: annealed-mean temperature (tuned on validation after training)
    gray_gain: float = 1.0        # chroma gain on gray pages, applied by the pipeline (mangacolor.contract.gray_gain):
    #                               tuned on validation after training, so an unsure prior never makes a page worse than gray
    gray_shadow: float = 0.0      # L* below which that chroma fades to none (0 = no fading); tuned with the gain
    global_hints: bool = False    # bins head: take a global-hints vector (mangacolor.abbins) as a 4th input


GENERATORS: dict[str, Callable[[ModelConfig], nn.Module]] = {}


def register(name: str):
    """Decorator: make a generator class buildable by name."""

    def deco(cls):
        if name in GENERATORS:
            raise ValueError(f"generator {name!r} is registered twice")
        GENERATORS[name] = cls
        return cls

    return deco


def build_generator(cfg: ModelConfig) -> nn.Module:
    if cfg.name not in GENERATORS:
        raise ValueError(f"unknown generator {cfg.name!r}; registered: {sorted(GENERATORS)}")
    return GENERATORS[cfg.name](cfg)


from . import unet  # noqa: E402,F401  (registers its generators)
