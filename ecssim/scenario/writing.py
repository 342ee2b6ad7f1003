"""Scenario files written back: a raw scenario as YAML a person can read and edit.

The counterpart of ``loading``: keys keep their order, values are written as
a scenario file has them (durations and rates as strings with units), and an
optional comment goes first. What it writes loads back with
``load_scenario``; :func:`raw_scenario_file` reads a file back as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ecssim.errors import ScenarioError


def scenario_yaml(raw: Mapping[str, Any], *, comment: str = "") -> str:
    """*raw* (a scenario as plain data) as YAML, after *comment* as ``#`` lines."""
    head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines())
    body = yaml.safe_dump(
        dict(raw), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return head + body


def raw_scenario_file(path: str | Path) -> dict[str, Any]:
    """The scenario file at *path* as plain data, as written (units kept).

    For writing a changed copy; validate with ``load_scenario`` first.

    Raises:
        ScenarioError: the file cannot be read or is not a YAML mapping.
    """
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc})") from None
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: is not a mapping of scenario keys")
    return raw
