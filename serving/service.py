"""The HTTP API (BentoML 1.4): `bentoml serve serving.service:MangaColor --port 3000`.

    POST /colorize   multipart: image, reference (0-8 files), hints (JSON text), mode, quality, model, refine,
                     format -> image/png, same size (format=ora: its layers, image/openraster)
    GET  /models     deployed models, which are live, their metadata
    /readyz /livez /metrics (Prometheus) from BentoML; OpenAPI at /openapi.json (these routes)

This front service decodes, validates and composes (CPU, threads); the
Inference worker (serving/worker.py, its own process) runs the model with
adaptive batching and swaps in promoted models without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import bentoml
import numpy as np
from fastapi import FastAPI, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from mangacolor.abbins import no_global_hints
from mangacolor.contract import MODES, REFINE_MODES, ROLES, WORK_SIZE
from mangacolor.image_io import encode_png
from mangacolor.layers import MIMETYPE as ORA_MIMETYPE
from mangacolor.layers import to_ora
from mangacolor.pipeline import decoding_of, finish

from .api import (
    FORMATS,
    ApiError,
    BodyLimit,
    JsonErrors,
    check_params,
    choice,
    install_error_handlers,
    make_job,
    read_upload,
)
from .api_references import check_count, decode_references, read_references, reference_field
from .config import SERVE
from .demo_backend import WorkerBackend
from .memory import tame_malloc
from .registry import Traits, traits, traits_of
from .worker import CANVASES, Inference, canvas_for, pad_to, stack_inputs

log = logging.getLogger("mangacolor")
tame_malloc()  # both processes (front and worker) import this module first
app = FastAPI(title="mangacolor", version="1", description="Colour manga pages and line art.")
install_error_handlers(app)
app.add_middleware(BodyLimit, limit=int(SERVE.max_upload_mb * 1024 * 1024))


DEMO = WorkerBackend()  # the demo's pages go through the worker, like POST /colorize


def mount_ui(app: FastAPI) -> None:
    """The Gradio demo at /ui, in this process, on the worker's live models. Gradio's own `gr.mount_gradio_app`:
    BentoML's `bentoml.gradio.mount_gradio_app` builds the app the pre-Gradio-6 way and the UI page answers 500.
    root_path="/ui" too: without it Gradio 6.31 builds some file URLs from the server's root, and an example page
    clicked into the editor was fetched from /gradio_api/file=... (404) instead of /ui/gradio_api/file=...
    Behind a proxy that serves the demo under another prefix, set that prefix here."""
    if not SERVE.ui:
        return
    try:
        import gradio as gr
    except ImportError:  # a serve-only install: the API works without the demo
        return
    from demo.app import MAX_FILE_SIZE, build

    gr.mount_gradio_app(app, build(DEMO), path="/ui", root_path="/ui", max_file_size=MAX_FILE_SIZE)


mount_ui(app)


@bentoml.service(name="mangacolor", workers=1, threads=SERVE.front_threads,
                 traffic={"timeout": SERVE.timeout_s, "max_concurrency": SERVE.max_inflight * 4})
@bentoml.asgi_app(app, path="/")
class MangaColor:
    inference = bentoml.depends(Inference)

    def __init__(self) -> None:
        self.active = 0
        DEMO.attach(self)
        self._roles: tuple[float, dict] = (0.0, {})
        # Decoding and composing full pages is CPU work: as many at once as there are cores. With
        # one thread per client, 16 clients thrash the cores and hold 16 full-size pages in memory.
        self.cpu = ThreadPoolExecutor(SERVE.cpu_threads or os.cpu_count() or 1, thread_name_prefix="page")

    async def _on_cpu(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.cpu, fn, *args)

    async def _live_roles(self) -> dict:
        """Role -> live model status (tag, provider, hint_fill), from the worker, cached for a second."""
        stamp, roles = self._roles
        if time.monotonic() - stamp > 1.0:
            roles = await self._call("status")
            self._roles = (time.monotonic(), roles)
        return roles

    async def _traits(self, quality: str, model: str) -> Traits:
        """The traits of the model that will answer (registry.traits: hint spreading, gray gain)."""
        if model:
            return await self._on_cpu(traits_of, model)
        try:  # the status is cached for a second: just after a promotion it may still describe the old model
            return traits((await self._live_roles()).get(quality, {}))
        except Exception:  # worker unreachable: the request fails with 503 below, after its own checks
            return traits({})

    async def __is_ready__(self) -> bool:
        try:
            return "fast" in await self.inference.to_async.status()
        except Exception:
            return False

    async def _call(self, method: str, *args):
        """Call the worker; retry when the connection breaks under us. Pooled front -> worker
        connections race with the worker closing them: a call then fails with a disconnect or
        "Connection closed", or (about once in 300 calls under load) never gets an answer.
        Inference is idempotent, so a retry is safe; the per-call bound turns a lost call into one."""
        import aiohttp

        for attempt in range(3):
            try:
                call = getattr(self.inference.to_async, method)(*args)
                return await asyncio.wait_for(call, timeout=SERVE.call_timeout_s)
            except (aiohttp.ClientError, asyncio.TimeoutError, RuntimeError) as e:
                if attempt == 2 or (isinstance(e, RuntimeError) and "Connection closed" not in str(e)):
                    raise
                log.warning("worker call %s failed (%s), retrying", method, type(e).__name__)

    async def _predict(self, job) -> np.ndarray:
        p = job.prepared
        batch = stack_inputs(p)  # (1, 5, h, w)
        h, w = batch.shape[-2:]
        name = canvas_for(h, w)
        if p.glob is not None or job.model or name is None:  # a page with references goes unbatched too
            glob = no_global_hints(1) if p.glob is None else p.glob  # (1, D) the references' global hints
            out = await self._call("run_any", job.model or job.quality, batch, glob)
        else:
            out = await self._call(f"{job.quality}_{name}", pad_to(batch, CANVASES[name]))
        return out[0, :, :h, :w]

    @app.post("/colorize", response_class=Response,
              responses={200: {"content": {"image/png": {}, "image/openraster": {}},
                               "description": "the page in colour, same size (format=ora: as layers)"}})
    async def colorize(self, image: UploadFile = File(..., description="PNG, JPEG, WebP, BMP or GIF"),
                       reference: list[UploadFile] = reference_field(),
                       hints: str = Form("", description='JSON list: {"x","y","color","radius"?} or {"points","color","width"?}'),
                       mode: str = choice("auto", MODES),
                       quality: str = choice("fast", ROLES, ": the live model that answers"),
                       model: str = Form("", description="a deployed model tag (default: the live one)"),
                       refine: str = choice("auto", REFINE_MODES, ": the colour solver makes hints land exactly and stops "
                                                                  "colour at lines (auto: with hints or references; fill: "
                                                                  "as auto, and a line-art hint fills an open background)"),
                       format: str = choice("png", FORMATS, ": ora is OpenRaster, layers for Krita, MyPaint or GIMP 3: "
                                                             "the lines or the page, and a colour layer to repaint"),
                       ) -> Response:
        """Colour one page; the answer has the input's exact width and height."""
        check_params(mode, quality, model, refine, format)
        check_count(len(reference))
        if self.active >= SERVE.max_inflight:
            raise ApiError(429, "busy", f"{self.active} pages are being coloured; retry shortly")
        self.active += 1
        try:
            limit = int(SERVE.max_upload_mb * 1024 * 1024)
            data = await read_upload(image, limit)
            blobs = await read_references(reference, limit - len(data), limit)
            model_traits = await self._traits(quality, model)
            job = await self._on_cpu(lambda: make_job(
                data, hints, mode, quality, model, SERVE.max_pixels, model_traits.hint_fill, WORK_SIZE, refine,
                references=decode_references(blobs, SERVE.max_pixels)))
            if not job.model and job.quality not in await self._live_roles():
                raise ApiError(503, "not_ready", f"no {job.quality} model is live; deploy one with "
                                                 f"`mangacolor deploy MODEL --role {job.quality} --promote`")
            pred = await self._predict(job)

            def encode() -> bytes:
                coloured = finish(job.page, pred, job.prepared, job.kind, job.refine, **decoding_of(model_traits))
                # PNG compress level 1: about 20% faster than 3 for about 10% more bytes on a colour page
                if format == "ora":  # the descreened page the pipeline composed onto, not made again
                    return to_ora(job.page, coloured, job.kind, base=job.prepared.base(job.page))
                return encode_png(coloured, 1)

            body = await self._on_cpu(encode)
        finally:
            self.active -= 1
        if format == "ora":
            return Response(body, media_type=ORA_MIMETYPE, headers={
                "X-Input-Kind": job.kind, "Content-Disposition": 'attachment; filename="coloured.ora"'})
        return Response(body, media_type="image/png", headers={"X-Input-Kind": job.kind})

    @app.get("/models")
    async def models(self) -> JSONResponse:
        """Deployed models, the live one per role, their metadata and metrics."""
        from .registry import list_models, read_state

        status = {}
        try:
            status = await self.inference.to_async.status()
        except Exception:
            pass
        return JSONResponse({"models": await run_in_threadpool(list_models), "live": read_state(), "serving": status})


MangaColor.add_asgi_middleware(JsonErrors)
