"""The README says what amodp does: every command has help and a section, and
every ``$ ...`` example in it prints what the README shows."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import amodp
from amodp.cli import app
from amodp.cli.app import COMMANDS as CLI_COMMANDS

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(CLI_COMMANDS)


def _examples() -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line in the README's code blocks."""
    found = []
    for block in re.findall(r"```\n(.*?)```", README, re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ "):
                command = lines[i][2:]
                out = []
                i += 1
                while i < len(lines) and not lines[i].startswith("$ "):
                    out.append(lines[i])
                    i += 1
                found.append((command, "\n".join(out)))
            else:
                i += 1
    return found


EXAMPLES = _examples()


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 8


@pytest.mark.parametrize(("command", "expected"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_readme_example_prints_what_it_shows(command: str, expected: str) -> None:
    env = dict(os.environ, NO_COLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", command + " 2>&1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert done.stdout.decode().replace("\r\n", "\n").rstrip("\n") == expected.rstrip("\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_readme_section(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert re.search(rf"Example: .*amodp {command}\b", result.stdout)
    assert f"## `amodp {command}`" in README


def test_library_examples_in_the_readme() -> None:
    block = re.search(r"## As a library.*?```python\n(.*?)```", README, re.S)
    assert block is not None
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.group(1), {}, "README", "README.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3


def test_public_names_are_exported_and_sorted() -> None:
    assert amodp.__all__ == sorted(amodp.__all__)
    for name in amodp.__all__:
        assert getattr(amodp, name) is not None


def test_library_docstrings() -> None:
    from amodp import codec, generator

    for module in (codec, generator):
        failures, tries = doctest.testmod(module)
        assert failures == 0 and tries > 0
