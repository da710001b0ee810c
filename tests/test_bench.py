"""The benchmarks' in-process parts run on the bundled model, one repetition each, so a benchmark that no longer
matches the pipeline fails here instead of in `make bench` (bench/page.py once still composed a prediction
without splitting off its confidence channel). Times are not asserted: the benchmarks measure them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import page, reference, serve

MODEL = str(Path(__file__).resolve().parents[1] / "models" / "default")


@pytest.fixture(scope="module")
def body() -> bytes:
    return page.page_png(page.detailed_page(301, 203))  # asymmetric, not a multiple of 8


def test_page_stages_finish_a_page_as_the_service_does(body):
    st = page.stages(MODEL, body, page.hints_json(), reps=1)
    assert st["kind"] == "grayscale" and st["png_bytes"] > 1000
    expected = {"decode", "kind", "prepare", "prepare_32_hints", "model", "compose", "solver", "png", "layers",
                "layers_lineart",
                "total_no_hints", "total_32_hints_no_solver", "total_32_hints_solver"}
    assert set(st["wall_ms"]) == expected == set(st["cpu_ms"])
    assert all(v >= 0 for k, v in st["wall_ms"].items() if k != "solver")  # the solver is a difference of two


def test_reference_stages_run_with_two_references():
    from serving.runtime import load_model

    model = load_model(MODEL)
    gray = page.detailed_page(211, 157)
    st = reference.stages(model, gray[..., None].repeat(3, axis=2), reference.references(), reps=1)
    assert set(st["wall_ms"]) == {"model", "global_hints", "transfer", "transfer_seen", "solver"}


def test_reference_turns_time_new_and_seen_references():
    from serving.runtime import load_model

    model = load_model(MODEL)
    gray = page.detailed_page(211, 157)
    e = reference.turns(model, gray[..., None].repeat(3, axis=2), reference.references(), reps=1)
    assert {"ratio_wall", "ratio_wall_seen", "ratio_cpu_seen", "refs_seen_wall_s"} <= set(e)
    assert e["none_wall_s"] > 0 and e["refs_wall_s"] > 0 and e["refs_seen_wall_s"] > 0


def test_batched_pipeline_colours_a_batch(body):
    r = serve.pipeline_batched(Path(MODEL), 0.01, body)  # at least one batch of 8 pages
    assert r["pages_per_s"] > 0 and r["model_s_per_page"] > 0
