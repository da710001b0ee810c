"""The Gradio demo: layout and wiring only; the work is in demo/handlers.py.

    make run                                   # served at http://127.0.0.1:3000/ui with the API
    python -m demo.app --api http://host:3000  # the demo alone, against a remote API
    python -m demo.app --model models/default  # the demo alone, in-process on an exported model
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import gradio as gr

from mangacolor.contract import MODES, REFINE_MODES, ROLES, WORK_SIZE
from mangacolor.reference import MAX_REFERENCES

from . import handlers

EXAMPLES = Path(__file__).parent / "examples"
PALETTE = ["#c0392b", "#e8b89a", "#f4d03f", "#2e86c1", "#27ae60", "#8e44ad", "#34495e", "#ffffff", "#1b1b1b"]
MAX_FILE_SIZE = "20mb"
CONCURRENCY = 2  # model calls at once; more wait in the queue


def _guard(fn):
    """Turn a handler's ValueError into a message in the UI instead of a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError) as e:
            raise gr.Error(str(e)) from None

    return wrapper


def build(backend) -> gr.Blocks:
    """The whole UI around one backend (in-process or remote)."""
    with gr.Blocks(title="mangacolor", analytics_enabled=False) as demo:
        gr.Markdown("# mangacolor\nUpload a manga page or line art. It is coloured at once; draw colour hints "
                    "with the brush and press **Colour** again. Pages keep their full size.")
        with gr.Tab("Page"):
            _page_tab(backend)
        with gr.Tab("Chapter"):
            _chapter_tab(backend)
    demo.queue(max_size=32, default_concurrency_limit=CONCURRENCY)
    return demo


def _page_tab(backend) -> None:
    """One page: editor with the hint brush, settings, before/after, download; hint sets."""
    with gr.Row():
        with gr.Column():
            editor = gr.ImageEditor(label="Page and hints", type="numpy", image_mode="RGBA", format="png",
                                    brush=gr.Brush(colors=PALETTE, color_mode="defaults", default_size=8),
                                    eraser=gr.Eraser(default_size=12),
                                    layers=gr.LayerOptions(allow_additional_layers=False),
                                    transforms=(), elem_id="editor", height=560)
            with gr.Row():
                mode = gr.Radio(list(MODES), value="auto", label="Input kind")
                quality = gr.Radio(list(ROLES), value="fast", label="Quality")
                refine = gr.Radio(list(REFINE_MODES), value="auto", label="Refine (hints land, colour stops at lines)",
                                  info="fill: on line art a hint on the background colours all of it")
            work = gr.Slider(256, 1024, value=WORK_SIZE, step=64, label="Working resolution (long side, px)")
            with gr.Row():
                refs = _references_upload("references")
                suggest = gr.Button("Suggest hints from references", elem_id="suggest-button")
            button = gr.Button("Colour", variant="primary", elem_id="colour-button")
        with gr.Column():
            compare = gr.ImageSlider(label="Before / after", type="numpy", elem_id="compare")
            result = gr.Image(label="Coloured page", type="numpy", format="png", elem_id="result")
            download = gr.File(label="Full-size PNG")
            status = gr.Markdown(elem_id="status")
            layered = gr.File(label="Layers for Krita, MyPaint or GIMP 3 (.ora): lines or page, and colour to repaint",
                              elem_id="layers")
    with gr.Accordion("Hint sets: keep a character's colours across pages", open=False):
        with gr.Row():
            save_btn = gr.Button("Save hints as JSON")
            saved = gr.File(label="Saved hint set")
            hint_file = gr.File(label="Load a hint set onto this page", file_types=[".json"], type="filepath")
    if handlers.example_pages(EXAMPLES):
        gr.Examples(handlers.example_pages(EXAMPLES), inputs=[editor], label="Examples (see demo/examples/LICENSE.md)")

    page = _guard(functools.partial(handlers.colorize_page, backend))
    inputs, outputs = [editor, mode, quality, work, refine, refs], [result, compare, download, status, layered]
    button.click(page, inputs, outputs, concurrency_limit=CONCURRENCY, api_name="colorize")
    editor.upload(page, inputs, outputs, concurrency_limit=CONCURRENCY, api_name=False)
    suggest.click(_guard(handlers.suggest_hints), [editor, refs, mode, work], [editor, status],
                  concurrency_limit=CONCURRENCY, api_name="suggest_hints")
    save_btn.click(_guard(handlers.save_hint_set), [editor], [saved], api_name="save_hints")
    hint_file.upload(_guard(handlers.load_hint_set), [hint_file, editor], [editor], api_name=False)


def _chapter_tab(backend) -> None:
    """A whole chapter (CBZ/ZIP or page images) with progress; one at a time."""
    files = gr.File(label="A .cbz/.zip chapter, or page images", file_count="multiple", type="filepath",
                    file_types=[".cbz", ".zip", "image"])
    with gr.Row():
        mode = gr.Radio(list(MODES), value="auto", label="Input kind")
        quality = gr.Radio(list(ROLES), value="fast", label="Quality")
        refine = gr.Radio(list(REFINE_MODES), value="auto", label="Refine")
        skip = gr.Checkbox(True, label="Leave pages already in colour untouched")
    with gr.Row():
        refs = _references_upload("chapter-references")
        use_pages = gr.Checkbox(False, label="Use coloured pages of the chapter as references (and leave them untouched)")
    button = gr.Button("Colour chapter", variant="primary")
    out = gr.File(label="Coloured chapter (.cbz)")
    status = gr.Markdown()

    def chapter(f, m, q, s, r, refs_, use, progress=gr.Progress()):
        return handlers.colorize_chapter(backend, f, m, q, s, progress, r, refs_, use)

    button.click(_guard(chapter), [files, mode, quality, skip, refine, refs, use_pages], [out, status], concurrency_limit=1,
                 api_name="chapter")


def _references_upload(elem_id: str) -> gr.File:
    """Coloured pictures of the same characters, read with the pages' loader and limits when used."""
    return gr.File(label=f"References: coloured pictures of the same characters (up to {MAX_REFERENCES})",
                   file_count="multiple", file_types=["image"], type="filepath", elem_id=elem_id)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run the mangacolor demo on its own.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--api", help="URL of a running mangacolor API, e.g. http://127.0.0.1:3000")
    src.add_argument("--model", help="exported model folder to run in this process, e.g. models/default")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7860)
    args = p.parse_args(argv)
    backend = handlers.RemoteBackend(args.api) if args.api else handlers.local_backend(args.model)
    build(backend).launch(server_name=args.host, server_port=args.port, max_file_size=MAX_FILE_SIZE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
