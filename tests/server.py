"""A real `bentoml serve` of the service on 127.0.0.1 (a free port), for the HTTP, demo and browser tests.

The live model is HintEcho (tests/hint_echo.py): it paints hint colours where the
client put them, so tests can check the plumbing end to end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.hint_echo import export_hint_echo

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mangacolor.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


class Server:
    def __init__(self, url, env, proc, log):
        self.url, self.env, self.proc, self.log = url, env, proc, log

    def post(self, files=None, data=None, timeout=60, **kw):
        return httpx.post(f"{self.url}/colorize", files=files, data=data, timeout=timeout, **kw)

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def live_tag(self, role="fast"):
        return httpx.get(f"{self.url}/models", timeout=10).json()["serving"].get(role, {}).get("tag")


def start_server(root: Path, exported: Path, live: Path | None = None):
    """Deploy `live` (default: HintEcho) into a fresh BentoML home, serve, wait for /readyz; yields the Server."""
    env = dict(os.environ, BENTOML_HOME=str(root / "bentoml"), BENTOML_DO_NOT_TRACK="True",
               MANGACOLOR_BUNDLED=str(root / "none"), MANGACOLOR_MAX_UPLOAD_MB="2",
               MANGACOLOR_MAX_PIXELS="4000000", MANGACOLOR_ORT_THREADS=os.environ.get("MANGACOLOR_ORT_THREADS", "1"),
               PYTHONPATH=str(REPO))
    live = live or export_hint_echo(root / "echo")
    r = cli(env, "deploy", str(live), "--promote")
    assert r.returncode == 0, r.stderr
    port = free_port()
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bentoml", "serve", "serving.service:MangaColor", "--host",
                             "127.0.0.1", "--port", str(port)], env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", env, proc, root / "server.log")
    deadline = time.time() + 180
    while not srv.ready():
        if proc.poll() is not None or time.time() > deadline:
            raise RuntimeError("server did not become ready:\n" + (root / "server.log").read_text()[-3000:])
        time.sleep(1)
    srv.echo_tag = srv.live_tag()
    srv.exported = exported
    yield srv
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()


def wait_for(pred, timeout: float = 30) -> bool:
    """Poll `pred` until it is true or `timeout` seconds pass."""
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False
