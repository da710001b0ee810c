"""Shared fixtures: a generated source tree and a dataset built from it once per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

# Fixtures that train models or start servers: a test that uses one is in the slow tier
# (`make test-fast` leaves it out; `make test` and CI run everything).
SLOW_FIXTURES = {"tiny_runs", "exported", "server"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def sources(tmp_path_factory):
    from tests.fixtures import make_sources

    return make_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="session")
def dataset_dir(sources, tmp_path_factory):
    """A dataset built by the real CLI from the generated sources."""
    from mangacolor.cli import main

    out = tmp_path_factory.mktemp("dataset")
    rc = main(["data", "build", str(sources["pairs"]), str(sources["clips"]), "--out", str(out),
               "--workers", "1", "--license", "CC0 (test fixture)"])
    assert rc == 0
    return out


@pytest.fixture(scope="session")
def tiny_runs(dataset_dir, tmp_path_factory):
    """Three short tiny-config runs with different seeds (ensemble members)."""
    from mangacolor.cli import main

    root = tmp_path_factory.mktemp("runs")
    runs = []
    for seed in range(3):
        run = root / f"seed{seed}"
        assert main(["train", "tiny", f"--data.root={dataset_dir}", f"--train.run_dir={run}",
                     f"--train.seed={seed}"]) == 0
        runs.append(run)
    return runs


@pytest.fixture(scope="session")
def exported(tiny_runs, tmp_path_factory):
    """The first tiny run exported by the real CLI (fp32, fp16, INT8 when it qualifies)."""
    from mangacolor.cli import main

    out = tmp_path_factory.mktemp("models") / "tiny"
    assert main(["export", str(tiny_runs[0] / "best"), "--out", str(out), "--calib", "6", "--checks-limit", "4"]) == 0
    return out


@pytest.fixture(scope="session")
def server(tmp_path_factory, exported):
    """The real service (API + demo at /ui) on a free loopback port."""
    from tests.server import start_server

    yield from start_server(tmp_path_factory.mktemp("service"), exported)
