"""The install route the README gives for machines without a checkout: a wheel
built from the checkout carries everything amodp needs (the event catalog, the
pytest plugin's entry point, the ``amodp`` script) and works from where it is
installed, not from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import amodp

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [built] = out.glob("amodp-*.whl")
    return built


def test_the_readme_names_the_wheel_that_is_built(wheel: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install dist/{wheel.name}" in readme
    assert wheel.name == f"amodp-{amodp.__version__}-py3-none-any.whl"


def test_the_wheel_carries_the_catalog_the_plugin_and_the_script(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    source_events = sorted(
        str(p.relative_to(ROOT)).replace(os.sep, "/")
        for p in (ROOT / "amodp/events").rglob("*.json")
    )
    assert source_events, "no event data files in the checkout"
    assert [n for n in source_events if n not in names] == []
    assert "amodp/py.typed" in names
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "amodp = amodp.cli:app" in text
    assert "[pytest11]" in text and "amodp = amodp.pytest_plugin" in text


def test_the_installed_wheel_generates_from_its_own_catalog(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    env = dict(os.environ, PYTHONPATH=str(target), NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "amodp", "generate", "status", "--lead", "--seed", "7"],
        cwd=tmp_path,  # not the checkout: the package must come from the wheel
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("leads%5Bstatus%5D%5B0%5D%5Bid%5D=")
    where = subprocess.run(
        [sys.executable, "-c", "import amodp; print(amodp.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.stdout.strip().startswith(str(target))
