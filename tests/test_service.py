"""The real BentoML server on 127.0.0.1, called over HTTP: pages, hints, bad input,
promotion and rollback under load, refused deploys, metrics, OpenAPI, `bentoml build`."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import zipfile

import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from mangacolor.color import rgb_to_lab
from mangacolor.contract import MODES, REFINE_MODES, ROLES
from tests.server import REPO, cli, wait_for
from tests.test_reference import figure, gray_page, hue_error


def png_bytes(im: Image.Image, fmt="PNG", **kw) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def line_page(w=173, h=251) -> Image.Image:
    """Line art: two boxes side by side."""
    im = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(im)
    d.rectangle([10, 10, w // 2 - 5, h - 10], outline="black", width=3)
    d.rectangle([w // 2 + 5, 10, w - 10, h - 10], outline="black", width=3)
    return im


@pytest.mark.parametrize("size", [(173, 251), (301, 97), (64, 64), (517, 731)])
def test_page_in_same_size_png_out(server, size):
    r = server.post(files={"image": ("p.png", png_bytes(line_page(*size)), "image/png")})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    out = Image.open(io.BytesIO(r.content))
    assert out.size == size and out.mode == "RGB"


def test_hints_are_honoured(server):
    hints = [{"x": 45, "y": 120, "color": "#e01010", "radius": 6}]
    r = server.post(files={"image": ("p.png", png_bytes(line_page()), "image/png")},
                    data={"hints": json.dumps(hints), "mode": "lineart"})
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(r.content))).astype(int)
    red = out[115:126, 40:51].mean(axis=(0, 1))
    assert red[0] > red[1] + 60 and red[0] > red[2] + 60, red     # the hinted region is red
    far = out[120, 130]
    assert abs(far[0] - far[1]) < 15 and abs(far[0] - far[2]) < 15  # the other box is not


def test_layers_come_back_as_openraster(server):
    """format=ora: the same colouring as the PNG, as layers (mangacolor.layers; tests/test_layers.py checks them)."""
    hints = json.dumps([{"x": 45, "y": 120, "color": "#e01010", "radius": 6}])
    form = {"files": {"image": ("p.png", png_bytes(line_page()), "image/png")}, "data": {"hints": hints, "mode": "lineart"}}
    png = server.post(**form)
    ora = server.post(files=form["files"], data=form["data"] | {"format": "ora"})
    assert png.status_code == 200 and ora.status_code == 200, ora.text
    assert ora.headers["content-type"] == "image/openraster" and ora.headers["x-input-kind"] == "lineart"
    assert "coloured.ora" in ora.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(ora.content)) as z:
        assert z.read("mimetype") == b"image/openraster" and "<layer name=\"lines\"" in z.read("stack.xml").decode()
        merged = np.asarray(Image.open(io.BytesIO(z.read("mergedimage.png"))).convert("RGB"))
        flats = np.asarray(Image.open(io.BytesIO(z.read("data/colours.png"))).convert("RGB")).astype(int)
    assert np.array_equal(merged, np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB")))
    red = flats[115:126, 40:51].mean(axis=(0, 1))
    assert flats.shape == (251, 173, 3) and red[0] > red[1] + 60 and red[0] > red[2] + 60, red


GOOD = png_bytes(line_page())


def test_refine_reaches_the_pipeline(server):
    """HintEcho colours only within 15 working-size px of a hint; refine=on spreads the colour over the hinted box,
    refine=off leaves the rest of the box as the model made it. The other box stays uncoloured either way."""
    hints = json.dumps([{"x": 45, "y": 120, "color": "#e01010", "radius": 6}])
    out = {}
    for refine in ("off", "on"):
        r = server.post(files={"image": ("p.png", GOOD, "image/png")},
                        data={"hints": hints, "mode": "lineart", "refine": refine})
        assert r.status_code == 200, r.text
        out[refine] = np.asarray(Image.open(io.BytesIO(r.content))).astype(int)
        assert out[refine].shape == (251, 173, 3)
    far_on, far_off = out["on"][215, 45], out["off"][215, 45]           # in the hinted box, 95 px below the hint
    assert far_on[0] > far_on[1] + 60 and far_on[0] > far_on[2] + 60, far_on
    assert abs(far_off[0] - far_off[1]) < 15 and abs(far_off[0] - far_off[2]) < 15, far_off
    for o in out.values():
        other = o[120, 130]
        assert abs(other[0] - other[1]) < 15 and abs(other[0] - other[2]) < 15, other


def test_refine_fill_colours_the_open_paper_around_the_boxes_from_one_hint(server):
    """The paper around the boxes touches the page's edge: refine=auto colours it near the hint only, refine=fill
    all of it (mangacolor.refine); inside the boxes neither colours anything."""
    hints = json.dumps([{"x": 4, "y": 125, "color": "#e01010", "radius": 3}])  # the left margin, 10 px wide
    for refine, filled in (("auto", False), ("fill", True)):
        r = server.post(files={"image": ("p.png", GOOD, "image/png")},
                        data={"hints": hints, "mode": "lineart", "refine": refine})
        assert r.status_code == 200, r.text
        o = np.asarray(Image.open(io.BytesIO(r.content))).astype(int)
        corner, inside = o[247, 168], o[125, 45]                       # the far corner, 240 px away; a box
        assert (corner[0] > corner[1] + 60 and corner[0] > corner[2] + 60) == filled, (refine, corner)
        assert abs(inside[0] - inside[1]) < 15 and abs(inside[0] - inside[2]) < 15, (refine, inside)


def test_models_metrics_and_openapi(server):
    m = httpx.get(f"{server.url}/models", timeout=10).json()
    assert any(d["live"] and d["tag"] == server.echo_tag for d in m["models"])
    assert m["serving"]["fast"]["provider"] in ("CPUExecutionProvider", "CUDAExecutionProvider")
    assert "bentoml" in httpx.get(f"{server.url}/metrics", timeout=10).text
    for doc in ("openapi.json", "docs.json"):  # FastAPI's schema, and BentoML's (which merges it in)
        r = httpx.get(f"{server.url}/{doc}", timeout=10)
        if doc == "docs.json" and r.status_code == 404:  # BentoML's new index page serves no docs.json
            continue
        spec = r.json()
        assert "/colorize" in spec["paths"] and "/models" in spec["paths"]
        form = json.dumps(spec["paths"]["/colorize"]["post"]["requestBody"])
        fields = {}
        for ref in set(re.findall(r'"#/components/schemas/([^"]+)"', form)):
            form += json.dumps(spec["components"]["schemas"][ref])
            fields.update(spec["components"]["schemas"][ref].get("properties", {}))
        assert "auto | on | off | fill" in form, doc  # the field and its choices are documented
        for name, choices in (("mode", MODES), ("quality", ROLES), ("refine", REFINE_MODES),  # as enums too
                              ("format", ("png", "ora"))):
            assert fields[name]["enum"] == list(choices), (doc, name, fields.get(name))
        ref = fields["reference"]  # the optional, repeatable reference files
        assert ref["type"] == "array" and ref["default"] == [], (doc, ref)
        assert all(w in ref["description"] for w in ("up to 8", "same characters", "hints win")), (doc, ref)
    assert httpx.get(f"{server.url}/livez", timeout=10).status_code == 200


def with_references(page: bytes, refs: list[bytes], **form) -> dict:
    """A multipart form: the page, then each reference under the repeated field `reference`."""
    files = [("image", ("page.png", page, "image/png"))]
    files += [("reference", (f"ref{i}.png", r, "image/png")) for i, r in enumerate(refs)]
    return {"files": files, "data": form}


def test_a_reference_colours_a_gray_page_in_the_right_places(server):
    """HintEcho proposes no colour without hints, so the colours can only come from the reference: a picture of
    the same figure facing the other way (red left half, blue right half, light face; an asymmetric 61x83 page)."""
    target = figure()
    page, ref = png_bytes(Image.fromarray(gray_page(target))), png_bytes(Image.fromarray(target[:, ::-1].copy()))
    out = {}
    for name, refs in (("without", []), ("with", [ref])):
        r = server.post(**with_references(page, refs, mode="grayscale"))
        assert r.status_code == 200, r.text
        out[name] = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
        assert out[name].shape == target.shape
    h, w = target.shape[:2]
    body = np.zeros((h, w), bool)
    body[h // 3 + 3:h - 8, 11:w - 11] = True
    assert hue_error(out["with"], target, body) < 0.35 * hue_error(out["without"], target, body)
    lab = rgb_to_lab(out["with"])
    left, right = lab[h // 3 + 5:h - 10, 12:w // 2 - 4], lab[h // 3 + 5:h - 10, w // 2 + 4:w - 12]
    assert left[..., 1].mean() > 20, "the left half is red, as in the reference (mirrored back)"
    assert right[..., 2].mean() < -20, "the right half is blue"
    assert server.ready()


def test_hints_win_over_a_reference(server):
    target = figure()
    h, w = target.shape[:2]
    hint = json.dumps([{"x": w // 4, "y": h // 2, "color": "#00c800", "radius": 2}])  # green where the reference is red
    r = server.post(**with_references(png_bytes(Image.fromarray(gray_page(target))), [png_bytes(Image.fromarray(target))],
                                      mode="grayscale", hints=hint))
    assert r.status_code == 200, r.text
    lab = rgb_to_lab(np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))[h // 2 - 1:h // 2 + 2, w // 4 - 1:w // 4 + 2])
    assert (lab[..., 1] < -10).all(), lab[..., 1]


def test_promotion_and_rollback_under_load(server):
    r = cli(server.env, "deploy", str(server.exported))
    assert r.returncode == 0, r.stderr
    new_tag = r.stdout.split()[-1]
    statuses, stop = [], threading.Event()

    def client():
        with httpx.Client(timeout=60) as c:
            while not stop.is_set():
                try:  # a dropped or hung request is a failure too, not a dead client thread
                    statuses.append(c.post(f"{server.url}/colorize", files={"image": ("p.png", GOOD, "image/png")}).status_code)
                except httpx.HTTPError as e:
                    statuses.append(type(e).__name__)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        assert cli(server.env, "promote", new_tag).returncode == 0
        assert wait_for(lambda: server.live_tag() == new_tag), "the service did not switch to the promoted model"
        time.sleep(1)
        assert cli(server.env, "rollback").returncode == 0
        assert wait_for(lambda: server.live_tag() == server.echo_tag), "rollback did not take effect"
        time.sleep(1)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    assert len(statuses) >= 8 and set(statuses) == {200}, statuses


def test_corrupt_model_is_refused_and_live_keeps_serving(server, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.onnx").write_bytes(b"\x08\x01 definitely not onnx" * 50)
    r = cli(server.env, "deploy", str(bad), "--promote")
    assert r.returncode != 0 and "cannot load" in r.stderr
    assert server.live_tag() == server.echo_tag
    assert server.post(files={"image": ("p.png", GOOD, "image/png")}).status_code == 200


def test_bentoml_build(tmp_path):
    env = dict(os.environ, BENTOML_HOME=str(tmp_path / "home"), BENTOML_DO_NOT_TRACK="True")
    r = subprocess.run([sys.executable, "-m", "bentoml", "build", "--output", "tag"], env=env, cwd=REPO,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "mangacolor:" in r.stdout
