"""The live models of a running process, swapped when a promotion changes the pointer file."""

from __future__ import annotations

import logging
import threading
import time

from mangacolor.contract import ROLES

from .registry import model_dir, read_state, state_file
from .runtime import OnnxColorizer, load_model

log = logging.getLogger("mangacolor")


class LiveModels:
    """The live model of each role; a watcher thread swaps in a newly promoted one.

    A swap replaces one dict entry (atomic in CPython): a call already running
    keeps the model object it took, so in-flight requests finish on the old model.
    """

    def __init__(self, device: str, threads: int, warm: tuple[int, int, int] = (1, 64, 48)):
        self.device, self.threads = device, threads
        self.warm = warm  # (batch, h, w) each loaded model is run at once, before it takes traffic
        self.models: dict[str, tuple[str, OnnxColorizer]] = {}
        self._extra: dict[str, OnnxColorizer] = {}  # explicitly requested tags, small cache
        self._mtime = 0.0
        self.refresh()
        threading.Thread(target=self._watch, name="model-watcher", daemon=True).start()

    def _load(self, tag: str) -> OnnxColorizer:
        model = load_model(model_dir(tag), device=self.device, threads=self.threads, warm=False)
        batch, h, w = self.warm
        model.warm_up((h, w), batch)
        return model

    def refresh(self) -> None:
        state = read_state()
        for role in ROLES:
            tag = (state.get(role) or {}).get("live")
            if tag and self.models.get(role, (None,))[0] != tag:
                try:
                    self.models[role] = (tag, self._load(tag))
                    log.info("live %s model is now %s", role, tag)
                except Exception as e:  # a broken promotion must not take the service down
                    log.error("could not load %s for %s, keeping %s: %s", tag, role, self.models.get(role, ("none",))[0], e)

    def _watch(self) -> None:
        while True:
            time.sleep(0.3)
            try:
                m = state_file().stat().st_mtime
            except OSError:
                continue
            if m != self._mtime:
                self._mtime = m
                self.refresh()

    def get(self, role_or_tag: str) -> tuple[str, OnnxColorizer]:
        if role_or_tag in ROLES:
            if role_or_tag not in self.models:
                raise LookupError(f"no {role_or_tag} model is live")
            return self.models[role_or_tag]
        if role_or_tag not in self._extra:
            if len(self._extra) >= 2:
                self._extra.pop(next(iter(self._extra)))
            self._extra[role_or_tag] = self._load(role_or_tag)
        return role_or_tag, self._extra[role_or_tag]
