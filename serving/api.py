"""HTTP plumbing of the service: one JSON error shape, the body-size limit, request checks.

Every client error is answered as {"error": code, "detail": message}:
400 bad parameters, hints or too many references, 404 unknown model, 413 too large, 415 not an image,
422 unreadable image, 429 busy, 503 not ready.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI, Form
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from mangacolor.contract import MODES, REFINE_MODES, ROLES, WORK_SIZE
from mangacolor.hints import HintError, parse_hints
from mangacolor.image_io import ImageError, load_image
from mangacolor.kinds import detect_kind
from mangacolor.pipeline import Prepared, prepare

from .runtime import ModelError

log = logging.getLogger("mangacolor")
MAX_FIELD = 1_000_000  # characters in a text field (hints JSON)


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str):
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


def error_response(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map every failure to the one JSON shape; a server bug is 500 with no internals leaked."""

    @app.exception_handler(ApiError)
    async def _api(_req, e: ApiError):
        return error_response(e.status, e.code, e.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req, e: RequestValidationError):
        msgs = []
        for err in e.errors()[:5]:
            # a repeated field's item by its position counted from 1, as elsewhere: "reference 2: ..."
            where = " ".join(str(p + 1 if isinstance(p, int) else p) for p in err.get("loc", []) if p != "body")
            msgs.append(f"{where}: {err.get('msg')}")
        missing = any(err.get("type") == "missing" and "image" in err.get("loc", ()) for err in e.errors())
        detail = "the form needs an 'image' file field" if missing else "; ".join(msgs)
        return error_response(400, "bad_request", detail)

    @app.exception_handler(Exception)
    async def _bug(_req, e: Exception):
        log.exception("internal error")
        return error_response(500, "internal", "the server failed on this request; it has been logged")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req, e: StarletteHTTPException):
        status, detail = e.status_code, str(e.detail)
        if status == 400 and "exceeded maximum size" in detail:  # Starlette's multipart part limit
            status, detail = 413, f"a form field is too large: {detail}"
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(status, "http_error")
        return error_response(status, code, detail)


class BodyLimit:
    """ASGI middleware: refuse bodies over `limit` bytes with 413, by header or while streaming."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            resp = error_response(413, "too_large", f"request body is {int(length):,} bytes; the limit is {self.limit:,}")
            return await resp(scope, receive, send)
        seen = 0

        async def limited():
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise StarletteHTTPException(413, f"request body exceeds the limit of {self.limit:,} bytes")
            return msg

        await self.app(scope, limited, send)


class JsonErrors:
    """ASGI middleware for the whole server: BentoML's own plain-text 4xx (unknown routes,
    wrong methods) become the API's JSON error shape too."""

    CODES = {404: "not_found", 405: "method_not_allowed"}

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"rewrite": False}

        async def wrapped(msg):
            if msg["type"] == "http.response.start":
                headers = dict(msg.get("headers") or [])
                if msg["status"] in self.CODES and headers.get(b"content-type", b"").startswith(b"text/plain"):
                    state["rewrite"] = True
                    state["status"] = msg["status"]
                    return
            if state["rewrite"]:
                if msg["type"] == "http.response.body" and not msg.get("more_body"):
                    status = state["status"]
                    detail = f"{scope.get('method')} {scope.get('path')} does not exist; see /openapi.json"
                    resp = error_response(status, self.CODES[status], detail)
                    await send({"type": "http.response.start", "status": status, "headers": resp.raw_headers})
                    await send({"type": "http.response.body", "body": resp.body})
                return
            await send(msg)

        await self.app(scope, receive, wrapped)


@dataclass
class Job:
    """A validated request, prepared for the network."""

    page: np.ndarray
    kind: str
    prepared: Prepared
    quality: str
    model: str
    refine: str = "auto"


def choice(default: str, choices: tuple[str, ...], why: str = ""):
    """A form field with a fixed set of values, listed as an `enum` in the OpenAPI schema. Only listed: a value
    outside it still reaches `check_params`, which answers 400 bad_parameter naming the choices."""
    return Form(default, description=" | ".join(choices) + why, json_schema_extra={"enum": list(choices)})


FORMATS = ("png", "ora")  # the page as a PNG, or its layers as OpenRaster (mangacolor.layers)


def check_params(mode: str, quality: str, model: str, refine: str = "auto", fmt: str = "png") -> None:
    if fmt not in FORMATS:
        raise ApiError(400, "bad_parameter", f"format must be one of {', '.join(FORMATS)}, got {fmt[:40]!r}")
    if refine not in REFINE_MODES:
        raise ApiError(400, "bad_parameter", f"refine must be one of {', '.join(REFINE_MODES)}, got {refine[:40]!r}")
    if mode not in MODES:
        raise ApiError(400, "bad_parameter", f"mode must be one of {', '.join(MODES)}, got {mode[:40]!r}")
    if quality not in ROLES:
        raise ApiError(400, "bad_parameter", f"quality must be fast or ensemble, got {quality[:40]!r}")
    if model:
        from .registry import model_dir

        try:
            model_dir(model)
        except ModelError as e:
            raise ApiError(404, "unknown_model", str(e)) from None


def make_job(data: bytes, hints: str, mode: str, quality: str, model: str, max_pixels: int, fill: bool = False,
             work_size: int = WORK_SIZE, refine: str = "auto", references: list[np.ndarray] | None = None) -> Job:
    """Decode and check everything a client sent (runs in a worker thread: CPU-bound). references: decoded
    coloured pictures of the same characters (serving.references), prepared for the page's input kind."""
    try:
        page = load_image(data, max_pixels=max_pixels)
    except ImageError as e:
        raise ApiError(e.status, e.code, str(e)) from None
    if len(hints) > MAX_FIELD:
        raise ApiError(413, "too_large", f"hints field is {len(hints):,} characters; the limit is {MAX_FIELD:,}")
    try:
        parsed = parse_hints(hints, size=(page.shape[1], page.shape[0]))
    except HintError as e:
        raise ApiError(400, e.code, str(e)) from None
    kind = detect_kind(page) if mode == "auto" else mode
    prepared = prepare(page, parsed, work_size, fill=fill, references=references or None, kind=kind)
    return Job(page, kind, prepared, quality, model, refine)


async def read_upload(upload, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, "too_large", f"image is over the {limit:,} byte limit")
    return data

