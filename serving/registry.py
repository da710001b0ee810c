"""Deployed models: BentoML's model store plus a small "live" pointer per role.

    deploy(models/NAME)  -> validates, imports into the store as mangacolor:<version>
    promote(tag)         -> makes it the live model of its role ("fast" or "ensemble")
    rollback(role)       -> the previous live model of that role becomes live again

The pointer is a JSON file in BENTOML_HOME, replaced atomically under a lock;
a running service watches it and swaps models without a restart.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mangacolor.contract import ROLES, checks_of, gray_gain, gray_shadow, structure_of

from .runtime import MODEL_FILE, ModelError, load_model, model_file

STORE_NAME = "mangacolor"
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}:[a-z0-9][a-z0-9_.-]{0,127}$")
MODEL_FILES = ("model.onnx", "model.fp16.onnx", "model.int8.onnx", "model_card.md", "card.json")


def store_home() -> Path:
    import bentoml  # noqa: F401  (sets up BENTOML_HOME defaults)
    from bentoml._internal.configuration.containers import BentoMLContainer

    return Path(BentoMLContainer.bentoml_home.get())


def state_file() -> Path:
    return store_home() / "mangacolor_live.json"


def check_tag(tag: str) -> str:
    """Refuse anything that is not a plain name:version tag (no paths, no wildcards)."""
    if not isinstance(tag, str) or not TAG_RE.match(tag):
        raise ModelError(f"{str(tag)[:80]!r} is not a model tag like 'mangacolor:20260101-120000'")
    return tag


@contextmanager
def _locked():
    path = state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_state() -> dict:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return {r: {"live": None, "history": []} for r in ROLES}


def _write_state(state: dict) -> None:
    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, state_file())


def validate(folder: Path) -> dict:
    """Load every variant, check the contract and run a smoke test on two odd sizes; returns metadata."""
    fp32 = load_model(folder, device="cpu", warm=False)
    rng = np.random.default_rng(0)
    ref = {}
    for h, w in ((67, 45), (40, 93)):
        x = rng.random((1, 1, h, w), dtype=np.float32)
        z3, z1 = np.zeros((1, 3, h, w), np.float32), np.zeros((1, 1, h, w), np.float32)
        out = fp32(x, z3, z1)
        if out.shape != (1, 4 if fp32.gives_confidence else 3, h, w) or not np.isfinite(out).all():
            raise ModelError(f"smoke run on a {h}x{w} input gave shape {out.shape} or non-finite values")
        ref[(h, w)] = (x, z3, z1, out)
    for variant in ("fp16", "int8"):
        if (folder / f"model.{variant}.onnx").is_file():
            m = load_model(folder, device="cpu", variant=variant, warm=False)
            for x, z3, z1, out in ref.values():
                err = float(np.abs(m(x, z3, z1) - out).max())
                if not np.isfinite(err) or err > 0.25:
                    raise ModelError(f"{variant} variant differs from fp32 by {err:.3f} in the smoke run")
    return fp32.metadata


def deploy(folder: str | Path, role: str | None = None) -> str:
    """Validate an exported model folder and import it into the BentoML model store; returns its tag."""
    import bentoml

    folder = Path(folder)
    model_file(folder)  # clear error when missing
    meta = validate(folder)
    role = role or ("ensemble" if structure_of(meta) == "ensemble" else "fast")
    if role not in ROLES:
        raise ModelError(f"role must be one of {ROLES}")
    version = re.sub(r"[^a-z0-9_.-]", "-", str(meta.get("version", "v")).lower())[:100]
    labels = {"role": role, "structure": structure_of(meta),
              "name": re.sub(r"[^a-z0-9_.-]", "-", str(meta.get("name", "")).lower())}
    with bentoml.models.create(f"{STORE_NAME}:{version}", labels=labels,
                               metadata={"role": role, "source": str(folder.resolve()),
                                         "hint_fill": bool(meta.get("hint_fill", False)),
                                         "gray_gain": gray_gain(meta), "gray_shadow": gray_shadow(meta),
                                         "checks": checks_of(meta), "metrics": meta.get("metrics", {})}) as m:
        for f in MODEL_FILES:
            if (folder / f).is_file():
                shutil.copy(folder / f, Path(m.path) / f)
    return str(m.tag)


def model_dir(tag: str) -> Path:
    """Folder of a deployed model in the store (ModelError for unknown tags)."""
    import bentoml

    try:
        return Path(bentoml.models.get(check_tag(tag)).path)
    except ModelError:
        raise
    except Exception:
        raise ModelError(f"model {tag} is not deployed; see `mangacolor models` or GET /models") from None


@dataclass(frozen=True)
class Traits:
    """What the pipeline needs to know of a model besides its weights: whether it wants its hints
    spread over their regions (mangacolor.regions), and its chroma on gray pages, which
    `pipeline.decoding_of(traits)` hands to `finish` like any model's."""
    hint_fill: bool = False
    gray_gain: float = 1.0
    gray_shadow: float = 0.0


_TRAITS: dict[str, Traits] = {}  # tag -> traits; a deployed version's metadata never changes


def traits(meta: dict) -> Traits:
    """The Traits in a model's metadata, or in the worker's status of a role (the same keys)."""
    return Traits(bool(meta.get("hint_fill", False)), gray_gain(meta), gray_shadow(meta))


def traits_of(tag: str) -> Traits:
    """`traits` of a deployed model (the defaults when unknown: the model call then answers 404 for
    an unknown tag; unknown tags are not cached)."""
    import bentoml

    if tag not in _TRAITS:
        try:
            _TRAITS[tag] = traits(bentoml.models.get(check_tag(tag)).info.metadata)
        except Exception:
            return traits({})
    return _TRAITS[tag]


def role_of(tag: str) -> str:
    import bentoml

    return bentoml.models.get(check_tag(tag)).info.labels.get("role", "fast")


def promote(tag: str, role: str | None = None) -> dict:
    """Make a deployed model live for its role; the previous live model goes onto the history."""
    model_dir(tag)
    role = role or role_of(tag)
    with _locked():
        state = read_state()
        entry = state.setdefault(role, {"live": None, "history": []})
        if entry["live"] and entry["live"] != tag:
            entry["history"].append(entry["live"])
        entry["live"] = tag
        _write_state(state)
    return state


def rollback(role: str = "fast") -> dict:
    """Return the role to the model that was live before the current one."""
    with _locked():
        state = read_state()
        entry = state.get(role) or {"live": None, "history": []}
        if not entry["history"]:
            raise ModelError(f"no earlier {role} model to roll back to")
        entry["live"] = entry["history"].pop()
        state[role] = entry
        _write_state(state)
    return state


def list_models() -> list[dict]:
    """Deployed models with role, structure, live flag, creation time and the variant's checks
    (entries deployed before the rename are read through the same compatible readers)."""
    import bentoml

    state = read_state()
    live = {state.get(r, {}).get("live") for r in ROLES}
    out = []
    for m in bentoml.models.list(STORE_NAME):
        info = m.info
        out.append({"tag": str(m.tag), "role": info.labels.get("role"), "structure": structure_of(info.labels),
                    "live": str(m.tag) in live, "created": str(info.creation_time)[:19],
                    "checks": checks_of(info.metadata), "metrics": bool(info.metadata.get("metrics"))})
    return sorted(out, key=lambda d: d["created"])


def ensure_default(bundled: Path) -> None:
    """First start: deploy and promote the bundled models (models/default/, models/default-ensemble/) if none is live."""
    state = read_state()
    for role, folder in (("fast", bundled), ("ensemble", bundled.with_name(bundled.name + "-ensemble"))):
        if not state.get(role, {}).get("live") and (folder / MODEL_FILE).is_file():
            promote(deploy(folder, role), role)
