"""The README's code runs: every fenced Python block, and every ``ecssim run`` /
``ecssim sweep`` / ``ecssim validate`` command line validates.

Python blocks run in order within each ``##`` section, sharing one namespace
(later blocks use what earlier ones set up), from the repository's root.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from ecssim.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _sections() -> dict[str, list[tuple[str, str]]]:
    """``(language, code)`` of every fenced block, by the ``##`` section it is in."""
    text = README.read_text(encoding="utf-8")
    sections: dict[str, list[tuple[str, str]]] = {}
    parts = re.split(r"^## ", text, flags=re.MULTILINE)
    for part in parts[1:]:
        title = part.splitlines()[0].strip()
        sections[title] = [(m.group(1), m.group(2)) for m in _FENCE.finditer(part)]
    return sections


def _python_sections() -> list[str]:
    return [
        title
        for title, blocks in _sections().items()
        if any(lang == "python" for lang, _ in blocks)
    ]


def test_the_readme_has_python_blocks() -> None:
    """The extraction finds the Python API's blocks (a guard for the tests below)."""
    assert "The Python API" in _python_sections()
    blocks = [c for lang, c in _sections()["The Python API"] if lang == "python"]
    assert len(blocks) >= 5


@pytest.mark.parametrize("section", _python_sections())
def test_python_blocks_run(
    section: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Each section's Python blocks run in order without an error."""
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for index, (lang, code) in enumerate(_sections()[section]):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md [{section} #{index}]", "exec"), namespace)


def _command_lines() -> list[str]:
    lines = []
    for blocks in _sections().values():
        for lang, code in blocks:
            if lang != "bash":
                continue
            lines += [
                text.strip()
                for text in code.splitlines()
                if re.search(r"ecssim (run|sweep|validate) ", text)
            ]
    return lines


@pytest.mark.parametrize("line", _command_lines())
def test_command_lines_name_valid_scenarios(
    line: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ``ecssim run/sweep/validate FILE [--set ...]`` line of the README names
    a scenario that validates with its --set changes (shell variables become a
    valid policy)."""
    monkeypatch.chdir(ROOT)
    command = line.split("ecssim ", 1)[1].replace("$policy", "none")
    words = shlex.split(command)
    args = ["validate", words[1]]
    it = iter(words[2:])
    for word in it:
        if word == "--set":
            args += ["--set", next(it)]
    assert main(args) == 0, capsys.readouterr().err


def test_yaml_blocks_are_valid_scenario_parts() -> None:
    """Each YAML block parses; a ``sweep:`` block validates as a scenario's sweep."""
    import yaml

    from ecssim.scenario.schema import Sweep

    blocks = [
        code
        for blocks in _sections().values()
        for lang, code in blocks
        if lang == "yaml"
    ]
    assert blocks
    for code in blocks:
        data = yaml.safe_load(code)
        assert isinstance(data, dict)
        if "sweep" in data:
            Sweep.model_validate(data["sweep"])
