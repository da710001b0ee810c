"""The contract every front end shares (CLI, API, demo, evaluation): one spelling for each word.

- input kind: what a page is (`KINDS`); a `mode` is a kind or "auto" (detect it);
- role: which live model answers a request (`ROLES`: "fast" is the distilled student,
  "ensemble" the members); the API calls its choice `quality`;
- refine mode: when the colour solver runs (`REFINE_MODES`, see mangacolor.refine);
- working size: the long side the network sees (`WORK_SIZE`);
- prediction: what a model returns per page, (3, h, w) normalised Lab, or (4, h, w) with a
  per-pixel confidence in [0, 1] as the 4th channel (models with the bins colour head);
  `split_prediction` takes it apart;
- gray gain and gray shadow: a model's chroma gain on gray pages (grayscale, screentone) and the
  lightness L* below which that chroma fades to none (shadows: dark pixels are nearly neutral, and a
  prior that colours them does more harm than good), both tuned on validation so that where the prior
  is unsure a page gets less colour rather than the wrong one (`gray_gain`, `gray_shadow` read them
  from a model's metadata; mangacolor.pipeline.gray_chroma applies them);
- structure: whether an exported model is one network or an ensemble (`STRUCTURES`; metadata
  "structure", read by `structure_of`); not to be confused with the input kind;
- checks: an exported variant's measured report (parity error, size, validation PSNR and its
  change from fp32; metadata "checks", read by `checks_of`); not to be confused with the role;
- hint set: a page's hints saved with that page's size, read back onto any page
  (`write_hint_set`, `read_hint_set`, `fit_hints`).
"""

from __future__ import annotations

import numpy as np

from .hints import Hint, HintError, hints_to_json, parse_hints, scale_hints

KINDS = ("lineart", "grayscale", "screentone")
MODES = ("auto", *KINDS)
ROLES = ("fast", "ensemble")
REFINE_MODES = ("auto", "on", "off", "fill")
STRUCTURES = ("single", "ensemble")
WORK_SIZE = 512


def split_prediction(pred: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(3 or 4, h, w) model output -> Lab (3, h, w) and confidence (h, w) or None."""
    if pred.shape[0] not in (3, 4):
        raise ValueError(f"a prediction has 3 (Lab) or 4 (Lab + confidence) channels, got shape {pred.shape}")
    return pred[:3], (pred[3] if pred.shape[0] == 4 else None)


def _decoding(meta: dict, key: str, default: float) -> float:
    """A decoding setting of a model: ONNX / model-store metadata (`key`), or a checkpoint's or
    ensemble's meta (its model config, member 0 for an ensemble); `default` when absent."""
    if key in meta:
        return float(meta[key])
    members = meta.get("members")  # a list of member metas in an ensemble's meta; a count in ONNX metadata
    first = members[0] if isinstance(members, list) and members else meta
    return float(first.get("model_config", {}).get(key, default))


def gray_gain(meta: dict) -> float:
    """The chroma gain on gray pages of a model ("gray_gain"); 1.0 when absent."""
    return _decoding(meta, "gray_gain", 1.0)


def gray_shadow(meta: dict) -> float:
    """The L* (0..100) below which a model's chroma on gray pages fades linearly to none ("gray_shadow");
    0.0 (no fading) when absent: models tuned before it existed decode as they did."""
    return _decoding(meta, "gray_shadow", 0.0)


# Exports (and model-store entries) made before the rename carry "kind" for the structure and
# "quality" for the checks; the bundled models are such exports, so readers take both spellings.
def structure_of(meta: dict) -> str:
    """"single" or "ensemble" from ONNX or model-store metadata or labels; "single" when absent."""
    return str(meta.get("structure", meta.get("kind", "single")))


def checks_of(meta: dict) -> dict:
    """A variant's checks report from ONNX or model-store metadata; {} when absent."""
    return meta.get("checks", meta.get("quality")) or {}


def write_hint_set(hints: list[Hint], size: tuple[int, int] | None) -> str:
    """Hints drawn on a page of `size` (w, h) -> JSON text that `read_hint_set` reads back."""
    return hints_to_json(hints, size)


def read_hint_set(text: str) -> tuple[list[Hint], tuple[float, float] | None]:
    """JSON text (a saved set, or a bare list of hints) -> (hints, the page size it was drawn on, if saved).
    Raises HintError naming what is wrong."""
    import json

    hints = parse_hints(text)
    try:
        data = json.loads(text) if text.strip().startswith("{") else None
    except ValueError:
        data = None  # parse_hints has already accepted or refused the text
    size = data.get("size") if isinstance(data, dict) else None
    if size is None:
        return hints, None
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in size)):
        raise HintError(f"a hint set's 'size' must be [width, height] in pixels, got {str(size)[:40]}")
    return hints, (float(size[0]), float(size[1]))


def fit_hints(hints: list[Hint] | None, hint_size, page_size) -> list[Hint] | None:
    """A hint set saved on a page of `hint_size` (w, h), rescaled to a page of `page_size` (w, h)."""
    if not hints or not hint_size:
        return hints
    return scale_hints(hints, page_size[0] / hint_size[0], page_size[1] / hint_size[1])
