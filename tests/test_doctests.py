"""Every example in amodp's docstrings runs and prints what it shows.

The modules are found, not listed: a module that gains a doctest is tested
from then on. ``__main__`` is left out (importing it runs the command line).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import amodp


def _modules() -> list[ModuleType]:
    names = [amodp.__name__] + [
        f"{amodp.__name__}.{info.name}"
        for info in pkgutil.iter_modules(amodp.__path__)
        if info.name != "__main__"
    ]
    return [importlib.import_module(name) for name in names]


def _with_examples(module: ModuleType) -> bool:
    tests = doctest.DocTestFinder().find(module, module.__name__)
    return any(test.examples for test in tests)


MODULES = [m for m in _modules() if _with_examples(m)]


def test_doctests_are_found() -> None:
    names = {m.__name__ for m in MODULES}
    # What the finder must find, at least: the modules known to hold examples.
    assert {"amodp.codec", "amodp.records", "amodp.shellwords"} <= names


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_doctests_pass(module: ModuleType) -> None:
    failures, tries = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert tries > 0
    assert failures == 0, f"{failures} of {tries} examples in {module.__name__} failed"
