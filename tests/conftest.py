"""Shared fixtures.

``php``: the PHP reference (see tests/php_reference.py). Tests that use it
skip when ``php`` is not on PATH, unless ``AMODP_REQUIRE_PHP=1`` (set in CI):
then they fail, so that a CI image without PHP cannot pass silently.
``require_node()`` does the same for node and npm with ``AMODP_REQUIRE_NODE=1``,
``require_tools(...)`` for other programs (curl, bash) with ``AMODP_REQUIRE_TOOLS=1``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import php_reference  # noqa: E402


def require_php() -> None:
    """Skip (or, with AMODP_REQUIRE_PHP=1, fail) when php is not on PATH."""
    if php_reference.php_binary() is not None:
        return
    if os.environ.get("AMODP_REQUIRE_PHP") == "1":
        pytest.fail("php is not on PATH but AMODP_REQUIRE_PHP=1: install php-cli", pytrace=False)
    pytest.skip("php is not on PATH (set AMODP_REQUIRE_PHP=1 to make this an error)")


def require_node() -> None:
    """Skip (or, with AMODP_REQUIRE_NODE=1, fail) when node or npm is not on PATH."""
    if shutil.which("node") is not None and shutil.which("npm") is not None:
        return
    if os.environ.get("AMODP_REQUIRE_NODE") == "1":
        pytest.fail(
            "node or npm is not on PATH but AMODP_REQUIRE_NODE=1: install nodejs and npm",
            pytrace=False,
        )
    pytest.skip("node or npm is not on PATH (set AMODP_REQUIRE_NODE=1 to make this an error)")


def require_tools(*names: str) -> None:
    """Skip (or, with AMODP_REQUIRE_TOOLS=1, fail) when a program is not on PATH."""
    missing = ", ".join(name for name in names if shutil.which(name) is None)
    if not missing:
        return
    if os.environ.get("AMODP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{missing} not on PATH but AMODP_REQUIRE_TOOLS=1", pytrace=False)
    pytest.skip(f"{missing} not on PATH (set AMODP_REQUIRE_TOOLS=1 to make this an error)")


@pytest.fixture(scope="session")
def php():
    """The php_reference module, once php is known to be available."""
    require_php()
    return php_reference
