"""The package layout: the README's map names every module, and the public API
is importable as documented."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import ecssim

ROOT = Path(__file__).resolve().parent.parent


def _developer_map() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For developers", 1)[1]
    match = re.search(r"```text\n(.*?)```", section, re.S)
    assert match is not None, "the For developers section has no text map"
    return match.group(1)


def test_readme_map_names_every_module_and_package() -> None:
    """Every module and subpackage of ecssim appears in the README's map, so the
    map cannot drift from the tree."""
    words = set(re.findall(r"[\w.]+", _developer_map().replace("/", " ")))
    package = ROOT / "ecssim"
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name not in {"__init__.py", "__main__.py"}
        and path.name not in words
        and path.stem not in words
    ]
    missing += [
        p.name
        for p in sorted(package.iterdir())
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in words
    ]
    assert missing == []


def test_public_api_is_importable_from_the_package() -> None:
    """The documented public names live on ``ecssim``, and ``ecssim.sweep`` is the
    function, not a module shadowed by it."""
    for name in ("Simulation", "load_scenario", "run", "build", "sweep", "RunResult"):
        assert hasattr(ecssim, name), name
    assert callable(ecssim.sweep)
    assert not isinstance(ecssim.sweep, type(importlib))
    assert importlib.import_module("ecssim.policies").__name__ == "ecssim.policies"
    assert importlib.import_module("ecssim.testing").__name__ == "ecssim.testing"
