"""The demo: handlers called directly, gradio_client against the running app, and a real
headless Chromium that uploads a page, draws a hint stroke and checks the result."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from demo import handlers
from mangacolor.kinds import detect_kind
from mangacolor.reference import MAX_REFERENCES
from serving.inference import Colorizer
from tests.fixtures import drawing
from tests.hint_echo import export_hint_echo
from tests.imaging import figure, gray_page, like_the_figure


@pytest.fixture(scope="module")
def echo_backend(tmp_path_factory):
    return Colorizer.load(export_hint_echo(tmp_path_factory.mktemp("echo")), device="cpu")


def editor_value(page: np.ndarray, strokes=()) -> dict:
    """What Gradio's ImageEditor hands a handler: background + RGBA layers."""
    h, w = page.shape[:2]
    layer = np.zeros((h, w, 4), np.uint8)
    for (y0, y1, x0, x1), color in strokes:
        layer[y0:y1, x0:x1] = (*color, 255)
    return {"background": np.dstack([page, np.full((h, w), 255, np.uint8)]), "layers": [layer], "composite": None}


def line_page(w=173, h=251) -> np.ndarray:
    return np.asarray(drawing(5, size=(w, h))[1])


def test_colorize_page_handler(echo_backend):
    page = line_page()
    ed = editor_value(page, [((100, 110, 40, 90), (200, 30, 30))])
    result, (before, after), png, status, ora = handlers.colorize_page(echo_backend, ed, "lineart", "fast", 512)
    assert result.shape == page.shape and np.array_equal(before, page) and np.array_equal(after, result)
    assert Image.open(png).size == (173, 251)
    with zipfile.ZipFile(ora) as z:  # the layers of the same result (tests/test_layers.py checks them)
        assert z.read("mergedimage.png") == Path(png).read_bytes() and "data/lines.png" in z.namelist()
    assert "hint points" in status and " 0 hint points" not in status
    r, g, b = result[102:108, 50:80].reshape(-1, 3).mean(0)
    assert r > g + 30 and r > b + 30  # under the stroke: the stroke's colour


def test_every_example_page_has_its_licence_and_its_kind():
    """The demo's examples (demo/examples): each has its row in LICENSE.md, and the drawn character
    is a gray page (the product's main case) while the project's drawings are line art."""
    folder = Path(handlers.__file__).parent / "examples"
    licence = (folder / "LICENSE.md").read_text()
    pages = [Path(p) for p in handlers.example_pages(folder)]
    assert {p.name for p in pages} >= {"character.png", "figure.png", "panels.png"}
    for p in pages:
        assert f"| `{p.name}` |" in licence, f"{p.name} has no licence row in demo/examples/LICENSE.md"
    kinds = {p.name: detect_kind(np.asarray(Image.open(p).convert("RGB"))) for p in pages}
    assert kinds == {"character.png": "grayscale", "figure.png": "lineart", "panels.png": "lineart"}


def test_layer_hints_are_capped_and_on_the_stroke():
    layer = np.zeros((301, 211, 4), np.uint8)
    layer[50:250, 20:180] = (10, 200, 30, 255)  # a huge painted area
    hints = handlers.layer_hints(layer)
    assert 0 < len(hints) <= handlers.MAX_HINT_POINTS
    assert all(20 <= h.x < 180 and 50 <= h.y < 250 and h.color == (10, 200, 30) for h in hints)
    with pytest.raises(ValueError, match="upload a page"):
        handlers.page_and_hints(None)


def test_hint_set_saved_and_loaded_onto_a_bigger_page():
    page = line_page()
    saved = handlers.save_hint_set(editor_value(page, [((100, 104, 40, 44), (0, 0, 255))]))
    data = json.loads(open(saved).read())
    assert data["size"] == [173, 251] and data["hints"]
    big = np.asarray(Image.fromarray(page).resize((346, 502)))
    ed = handlers.load_hint_set(saved, editor_value(big))
    layer = ed["layers"][0]
    ys, xs = np.nonzero(layer[..., 3])
    assert layer.shape[:2] == (502, 346)
    assert 195 <= ys.mean() <= 212 and 78 <= xs.mean() <= 92  # twice the saved position
    assert (layer[ys, xs, 2] == 255).all()


def test_chapter_handler_with_images_and_a_bad_file(echo_backend, tmp_path):
    files = []
    for i in (1, 2):
        p = tmp_path / f"page{i}.png"
        drawing(i, size=(131, 187))[1].save(p)
        files.append(str(p))
    bad = tmp_path / "page3.png"
    bad.write_bytes(b"not a png")
    cbz, report = handlers.colorize_chapter(echo_backend, [*files, str(bad)], "lineart", "fast", True)
    assert "2 coloured" in report and "1 failed" in report
    with zipfile.ZipFile(cbz) as z:
        assert z.namelist() == ["page1.png", "page2.png", "page3.png"]


def test_a_page_coloured_like_its_references_and_bad_uploads(echo_backend, tmp_path):
    page, ref = gray_page(figure()), tmp_path / "hero.png"
    Image.fromarray(np.ascontiguousarray(figure()[:, ::-1])).save(ref)
    plain = handlers.colorize_page(echo_backend, editor_value(page), "grayscale")[0]
    result, _, _, status, _ = handlers.colorize_page(echo_backend, editor_value(page), "grayscale", references=[str(ref)])
    assert not like_the_figure(plain) and like_the_figure(result) and "1 references" in status
    (tmp_path / "notes.png").write_text("not a picture")
    for refs, message in (([str(tmp_path / "notes.png")], "notes.png cannot be used: not an image"),
                          ([str(ref)] * (MAX_REFERENCES + 1), f"at most {MAX_REFERENCES} references")):
        with pytest.raises(ValueError, match=message):
            handlers.colorize_page(echo_backend, editor_value(page), references=refs)


def test_suggested_hints_join_the_users_strokes_and_colour_the_page(echo_backend, tmp_path):
    page, ref = gray_page(figure()), tmp_path / "hero.png"
    Image.fromarray(figure()).save(ref)
    mine = ((0, 3, 0, 4), (0, 160, 0))                                  # the user's own green stroke, top left
    ed, status = handlers.suggest_hints(editor_value(page, [mine]), [str(ref)], "auto")
    layer = ed["layers"][0]
    assert layer.shape == (*page.shape[:2], 4) and (layer[0:3, 0:4] == (0, 160, 0, 255)).all()
    _, hints = handlers.page_and_hints(ed)
    suggested = [h for h in hints if h.color != (0, 160, 0)]
    assert suggested and "hints suggested from 1 references" in status
    assert any(h.x < 28 and h.color[0] > h.color[2] + 60 for h in suggested)        # red on the left half
    assert any(h.x > 33 and h.color[2] > h.color[0] + 60 for h in suggested)        # blue on the right
    result = handlers.colorize_page(echo_backend, ed, "grayscale")[0]   # the hints alone, no references
    assert like_the_figure(result)
    with pytest.raises(ValueError, match="upload one or more reference"):
        handlers.suggest_hints(editor_value(page), None)


def test_chapter_handler_uses_its_pages_in_colour(echo_backend, tmp_path):
    files = []
    for name, rgb in (("p1.png", gray_page(figure())), ("p2.png", figure()), ("p3.png", gray_page(figure()))):
        Image.fromarray(rgb).save(tmp_path / name)
        files.append(str(tmp_path / name))
    cbz, report = handlers.colorize_chapter(echo_backend, files, "grayscale", "fast", False, use_coloured=True)
    assert "references: p2.png (page in colour)" in report and "1 already in colour" in report
    with zipfile.ZipFile(cbz) as z:
        for name in ("p1.png", "p3.png"):
            assert like_the_figure(np.asarray(Image.open(io.BytesIO(z.read(name))).convert("RGB")))
    _, report = handlers.colorize_chapter(echo_backend, files[:1], "grayscale", references=[files[1]])
    assert "references: p2.png (given)" in report


def test_the_remote_backend_sends_references_as_repeated_fields(monkeypatch):
    import httpx

    sent = []

    def post(url, files, data, timeout):
        sent.append([(field, name, load_image_bytes(body)) for field, (name, body, _) in files])
        return httpx.Response(200, content=files[0][1][1], headers={"X-Input-Kind": "grayscale"})

    monkeypatch.setattr(httpx, "post", post)
    remote = handlers.RemoteBackend("http://api.invalid")
    refs = [figure(), np.ascontiguousarray(figure()[:, ::-1])]
    page = gray_page(figure())
    for _ in range(2):                                                   # a chapter: the same references each page
        assert remote.colorize(page, references=refs).image.shape == page.shape
    assert [f for f, _, _ in sent[0]] == ["image", "reference", "reference"]
    assert np.abs(sent[0][1][2].astype(int) - figure()).mean() < 3     # JPEG, the same picture
    assert remote.reference_files(refs) is remote.reference_files(refs)  # encoded once
    with pytest.raises(ValueError, match="at most"):
        remote.colorize(page, references=[figure()] * (MAX_REFERENCES + 1))


def load_image_bytes(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))


def test_gradio_client_against_the_running_app(server, tmp_path):
    from gradio_client import Client, handle_file

    page = line_page()
    bg, layer = tmp_path / "bg.png", tmp_path / "layer.png"
    Image.fromarray(page).save(bg)
    ly = np.zeros((251, 173, 4), np.uint8)
    ly[100:110, 40:90] = (200, 30, 30, 255)
    Image.fromarray(ly, "RGBA").save(layer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client(f"{server.url}/ui/", verbose=False)
        out = client.predict({"background": handle_file(str(bg)), "layers": [handle_file(str(layer))], "composite": None},
                             "lineart", "fast", 512, api_name="/colorize")
    result = np.asarray(Image.open(out[0]).convert("RGB"))
    assert result.shape == page.shape
    r, g, b = result[102:108, 50:80].reshape(-1, 3).mean(0)
    assert r > g + 30 and r > b + 30
    assert "lineart" in out[3]


def test_gradio_client_references_suggested_hints_and_a_chapter(server, tmp_path):
    from gradio_client import Client, handle_file

    page, ref, colour, notes = tmp_path / "page.png", tmp_path / "hero.png", tmp_path / "p2.png", tmp_path / "notes.png"
    Image.fromarray(gray_page(figure())).save(page)
    Image.fromarray(np.ascontiguousarray(figure()[:, ::-1])).save(ref)
    Image.fromarray(figure()).save(colour)
    notes.write_text("not a picture")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = Client(f"{server.url}/ui/", verbose=False)
        editor = {"background": handle_file(str(page)), "layers": [], "composite": None}
        out = client.predict(editor, "grayscale", "fast", 512, "auto", [handle_file(str(ref))], api_name="/colorize")
        suggested, status = client.predict(editor, [handle_file(str(ref))], "grayscale", 512, api_name="/suggest_hints")
        cbz, report = client.predict([handle_file(str(page)), handle_file(str(colour))], "grayscale", "fast", False,
                                     "auto", [], True, api_name="/chapter")
        with pytest.raises(Exception, match="notes.png cannot be used"):
            client.predict(editor, [handle_file(str(notes))], "grayscale", 512, api_name="/suggest_hints")
    assert like_the_figure(np.asarray(Image.open(out[0]).convert("RGB"))) and "1 references" in out[3]
    layer = np.asarray(Image.open(suggested["layers"][0]).convert("RGBA"))
    assert "hints suggested" in status and layer.shape[:2] == (83, 61) and (layer[..., 3] > 0).any()
    assert "references: p2.png (page in colour)" in report
    with zipfile.ZipFile(cbz) as z:
        assert like_the_figure(np.asarray(Image.open(io.BytesIO(z.read("page.png"))).convert("RGB")))


BROWSER_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


@contextlib.contextmanager
def demo_in_chromium(server):
    """A page of headless Debian chromium on the demo (/ui/); skipped, loudly, only without chromium."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("LOUD SKIP: Debian's chromium is not installed; `make test` installs it with apt-get as root")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{server.url}/ui/", wait_until="networkidle")
            yield page
        finally:
            browser.close()


def test_browser_upload_draw_colour(server, tmp_path):
    page_file = tmp_path / "page.png"
    Image.fromarray(line_page(301, 421)).save(page_file)
    with demo_in_chromium(server) as page:
        page.locator("#editor input[type=file]").first.set_input_files(str(page_file))
        page.wait_for_selector("#result img", timeout=60_000)  # coloured at once on upload
        box = page.locator("#editor canvas").first.bounding_box()
        x0, y0 = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2  # the page is centred
        page.mouse.move(x0, y0)
        page.wait_for_timeout(100)
        page.mouse.down()
        for i in range(1, 21):
            page.mouse.move(x0 + 3 * i, y0 + i, steps=2)
            page.wait_for_timeout(20)
        page.mouse.up()
        page.click("#colour-button")
        page.wait_for_function("() => { const t = document.querySelector('#status').innerText;"
                               " return t.includes('hint points') && !t.includes(' 0 hint points'); }", timeout=60_000)
        page.screenshot(path=str(tmp_path / "demo.png"))
        src = page.locator("#result img").get_attribute("src")
        result = np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))
    assert (tmp_path / "demo.png").stat().st_size > 10_000
    h, w = result.shape[:2]
    assert (h, w) == (421, 301)
    r, g, b = result[h // 2 - 2: h // 2 + 12, w // 2: w // 2 + 40].reshape(-1, 3).mean(0)
    assert r > b + 30 and r > g, (r, g, b)  # the brush's red reached the output under the stroke


def test_browser_an_example_loads_colours_and_gives_its_layers(server):
    """The demo is mounted at /ui: an example's picture must be fetched under /ui too (Gradio builds the editor's
    URL from the app's root path; without root_path it asked /gradio_api/file=... and got 404)."""
    with demo_in_chromium(server) as page:
        missing = []
        page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
        page.locator(".gallery-item").first.click()  # the first example: the painted character, in gray
        page.wait_for_timeout(1500)  # the editor loads the picture
        page.click("#colour-button")
        page.wait_for_function("() => document.querySelector('#status').innerText.includes('hint points')",
                               timeout=60_000)
        status = page.locator("#status").inner_text()
        link = page.locator("#layers a[href*='.ora']").first.get_attribute("href")
        ora = page.request.get(link if link.startswith("http") else f"{server.url}{link}").body()
    assert not missing, missing
    assert "320x320 page, input kind: grayscale" in status, status
    with zipfile.ZipFile(io.BytesIO(ora)) as z:
        assert z.read("mimetype") == b"image/openraster"
        assert Image.open(io.BytesIO(z.read("data/page.png"))).size == (320, 320)
