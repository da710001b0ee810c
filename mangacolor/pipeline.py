"""The one inference pipeline every front end uses (CLI, service, demo, evaluation).

    page (H, W, 3) uint8 -> (screentone: descreened) -> gray at the working size -> pad -> model -> unpad
        -> refine (solver: hints land, colour stops at lines) -> full-resolution composition
        -> (H, W, 3) uint8

`predict` is any callable taking numpy (x (N,1,h,w), hint (N,3,h,w), mask (N,1,h,w))
and returning (N,3,h,w) normalised Lab, or (N,4,h,w) with a confidence channel that the
solver uses as its data weight (mangacolor.contract.split_prediction) (with a `hint_fill` attribute when it wants its
hints spread over their regions, see mangacolor.regions, and `gray_gain` and `gray_shadow` attributes,
its chroma on gray pages, see mangacolor.contract): a torch module wrapper in evaluation,
an ONNX Runtime session in serving. Same inputs, same numbers.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .abbins import global_hints
from .compose import (
    LINE_REACH,
    MULTIPLE,
    compose,
    gray_input,
    line_free,
    pad_to_multiple,
    unpad,
    working_size,
)
from .contract import KINDS, WORK_SIZE, split_prediction
from .descreen import descreen
from .hints import Hint, rasterize
from .reference import MAX_REFERENCES, Transfer, transfer
from .refine import check_refine, wants_refine
from .refine import refine as solve
from .regions import fill_hints
from .solver import DEFAULT as DEFAULT_SOLVER
from .solver import SolverConfig

Predict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
# Reference transfers run here while the model runs (numpy and scipy release the GIL). On 2 cores that the
# model already fills this saved about a tenth of a page's time with references (one run of a simple
# comparison, not a benchmark); with more cores, more.
_TRANSFERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="reference")


@dataclass(frozen=True)
class Prepared:
    """Network inputs for one page, padded, plus what is needed to undo the padding."""

    x: np.ndarray      # (1, 1, h', w')
    hint: np.ndarray   # (1, 3, h', w')
    mask: np.ndarray   # (1, 1, h', w')
    hw: tuple[int, int]  # (h, w) before padding
    glob: np.ndarray | None = None         # (1, D) global hints from references (mangacolor.abbins), or None
    # the references' soft prior at (h, w) (mangacolor.reference), or None; while it is being computed (it
    # runs beside the model, which does not need it), a Future of it: `soft()` waits for it
    transfer: Transfer | Future | None = None

    # the page the colour is composed onto when it is not the one given to `finish`: a screentone page's
    # descreened copy (mangacolor.descreen), made once here; None: the given page
    page: np.ndarray | None = None

    def base(self, page: np.ndarray) -> np.ndarray:
        """The page the colour goes onto: `page` as given, or its descreened copy."""
        return page if self.page is None else self.page

    def soft(self) -> Transfer | None:
        return self.transfer.result() if isinstance(self.transfer, Future) else self.transfer


def prepare(page: np.ndarray, hints: list[Hint], work_size: int = WORK_SIZE, multiple: int = MULTIPLE,
            fill: bool = False, references: list[np.ndarray] | None = None, kind: str = "") -> Prepared:
    """Page + hints -> padded network inputs at the working size. `fill`: spread each hint over its
    region, for models trained with data.hint_fill (done before padding, so regions never join
    through the paper-white padding). kind: the page's input kind; a screentone page is descreened first
    (mangacolor.descreen) and then read, and composed by `finish`, like a grayscale page. references:
    coloured pictures ((H, W, 3) uint8) of the same characters, for a page of input kind `kind` (needed
    then): their global hints and soft prior."""
    own = descreen(page) if kind == "screentone" else None
    page = page if own is None else own
    H, W = page.shape[:2]
    h, w = working_size(H, W, work_size)
    x = gray_input(page, (h, w))                         # (1, h, w)
    hint, mask = rasterize(hints, (W, H), (w, h))        # (3, h, w), (1, h, w)
    xp, hw = pad_to_multiple(x, multiple, value=1.0)     # paper-white padding
    hp, _ = pad_to_multiple(hint, multiple, value=0.0)   # no hints in the padding
    mp, _ = pad_to_multiple(mask, multiple, value=0.0)
    glob, soft = None, None
    if references:
        if kind not in KINDS:  # the transfer matches line art and gray pages differently
            raise ValueError(f"references need the page's input kind, one of {KINDS}; got {kind!r}")
        glob, soft = global_hints(references)[None], _TRANSFERS.submit(transfer, x, kind, references)
    p = Prepared(xp[None], hp[None], mp[None], hw, glob, soft, own)
    return with_fill(p) if fill and hints else p


def with_fill(p: Prepared) -> Prepared:
    """The same inputs with each hint spread over its region (mangacolor.regions), inside the
    unpadded area only, so regions never join through the padding."""
    h, w = p.hw
    hint, mask = p.hint.copy(), p.mask.copy()
    hint[..., :h, :w], mask[..., :h, :w] = fill_hints(p.x[..., :h, :w], p.hint[..., :h, :w], p.mask[..., :h, :w])
    return replace(p, hint=hint, mask=mask)


def run_model(predict: Predict, p: Prepared) -> np.ndarray:
    """The model on prepared inputs; the references' global hints go in only when there are some, so a
    predictor without a `glob` argument keeps working for pages without references."""
    return predict(p.x, p.hint, p.mask) if p.glob is None else predict(p.x, p.hint, p.mask, glob=p.glob)


def has_hints(p: Prepared) -> bool:
    """Whether the user gave any hint (spread pixels, mask < 1, do not count)."""
    return bool((p.mask >= 1.0).any())


def gray_chroma(gray: np.ndarray, gain: float, shadow: float) -> np.ndarray:
    """(h, w) gray input (L* / 100) -> (h, w) float32 factor on a gray page's predicted chroma: `gain`,
    fading linearly to 0 from L* = `shadow` down to black (no fading when shadow is 0)."""
    if shadow <= 0:
        return np.full(gray.shape, gain, np.float32)
    return (gain * np.clip(gray * (100.0 / shadow), 0.0, 1.0)).astype(np.float32)


def decoding_of(model) -> dict:
    """A model's chroma on gray pages as `finish` takes it: {"gray_gain", "gray_shadow"} from its attributes of
    those names (every predictor and runtime model has both; 1.0 and 0.0, no change, when it has not)."""
    return {"gray_gain": getattr(model, "gray_gain", 1.0), "gray_shadow": getattr(model, "gray_shadow", 0.0)}


def finish(page: np.ndarray, pred: np.ndarray, prepared: Prepared, kind: str, refine_mode: str = "off",
           confidence: np.ndarray | None = None, gray_gain: float = 1.0, gray_shadow: float = 0.0,
           solver: SolverConfig = DEFAULT_SOLVER, line_reach: int = LINE_REACH) -> np.ndarray:
    """(3 or 4, h', w') padded prediction -> (H, W, 3) uint8 page in colour, refined by the solver when
    `refine_mode` asks for it (mangacolor.refine); confidence (h', w'): the prediction's 4th channel
    when it has one, or given here. gray_gain, gray_shadow: the model's chroma on gray pages (gray_chroma),
    `**decoding_of(model)`; the solver then spreads hints over a prior that is grayer where the model was
    tuned to be unsure, and the hints keep their colour, in shadows too. solver: the solver's settings
    (evaluation compares others with `mangacolor eval --solver`). line_reach: line art's lines kept out of
    the network's colour that far (compose.line_free; -1: not at all, as before 2026-11-24)."""
    hw = prepared.hw
    if refine_mode == "fill":  # line art's open regions too are filled from their hints (mangacolor.refine)
        solver = replace(solver, open_data_weight=solver.fill_open_data_weight)
    pred, own = split_prediction(pred)
    confidence = own if confidence is None else confidence
    pred = unpad(pred, hw)
    if kind != "lineart" and (gray_gain != 1.0 or gray_shadow > 0):
        pred = np.concatenate([pred[:1], pred[1:] * gray_chroma(unpad(prepared.x[0], hw)[0], gray_gain, gray_shadow)])
    if wants_refine(refine_mode, has_hints(prepared) or prepared.transfer is not None):
        x, hint, mask = (unpad(a[0], hw) for a in (prepared.x, prepared.hint, prepared.mask))
        pred = solve(x, pred, hint, mask, kind, None if confidence is None else unpad(confidence, hw),
                     cfg=solver, soft=prepared.soft())
    if kind == "lineart" and line_reach >= 0:  # the lines come from the page alone (compose.line_free)
        pred = line_free(pred, unpad(prepared.x[0], hw)[0], line_reach)
    return compose(prepared.base(page), pred, kind)


def colorize(page: np.ndarray, predict: Predict, kind: str, hints: list[Hint] | None = None,
             work_size: int = WORK_SIZE, refine: str = "auto", references: list[np.ndarray] | None = None) -> np.ndarray:
    """Colour one page with one model call; returns the input's exact size. references: coloured
    pictures of the same characters (at most MAX_REFERENCES; see mangacolor.reference)."""
    if kind not in KINDS:
        raise ValueError(f"unknown input kind {kind!r}; expected one of {KINDS}")
    check_refine(refine)  # a bad mode fails before the model runs
    if references and len(references) > MAX_REFERENCES:
        raise ValueError(f"at most {MAX_REFERENCES} references, got {len(references)}")
    p = prepare(page, hints or [], work_size, fill=getattr(predict, "hint_fill", False), references=references,
                kind=kind)
    pred = run_model(predict, p)[0]
    return finish(page, pred, p, kind, refine, **decoding_of(predict))
