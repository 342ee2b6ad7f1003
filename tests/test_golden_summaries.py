"""Every bundled scenario's summary (capped at 6 h) matches the one kept in
``tests/data/golden-summaries.json``.

Internal changes (performance work, new capacity models) must keep every
outcome of every bundled scenario for its seed.  A column added later is not
compared; a value that moves fails here, and the change must either be fixed or
explained in the changelog and the file rewritten with::

    .venv/bin/python tests/test_golden_summaries.py --update
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest

from ecssim import load_scenario, run

ROOT = Path(__file__).parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
GOLDEN = Path(__file__).parent / "data" / "golden-summaries.json"
CAP_S = 6 * 3600.0


def summary_rows(path: Path) -> list[dict[str, Any]]:
    """The scenario's summary rows, run for at most ``CAP_S`` simulated seconds."""
    scenario = load_scenario(path)
    capped = scenario.model_copy(update={"duration_s": min(scenario.duration_s, CAP_S)})
    rows: list[dict[str, Any]] = run(capped).summary.to_dict(orient="records")
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _same(kept: Any, now: Any) -> bool:
    if isinstance(kept, float) and isinstance(now, (int, float)):
        return math.isclose(kept, now, rel_tol=1e-9, abs_tol=1e-9)
    return bool(kept == now)


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_summary_is_unchanged(path: Path) -> None:
    """The scenario's outcomes are those of the release the file was written from."""
    golden = json.loads(GOLDEN.read_text())
    if path.stem not in golden:
        pytest.skip(f"{path.name} is newer than {GOLDEN.name}")
    kept_rows = golden[path.stem]
    rows = summary_rows(path)
    assert [r["service"] for r in rows] == [r["service"] for r in kept_rows]
    moved = [
        f"{kept['service']}.{column}: {value!r} -> {row.get(column)!r}"
        for kept, row in zip(kept_rows, rows, strict=True)
        for column, value in kept.items()
        if not _same(value, row.get(column))
    ]
    assert not moved, "outcomes moved:\n" + "\n".join(moved)


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_golden_summaries.py --update")
    GOLDEN.write_text(
        json.dumps(
            {p.stem: summary_rows(p) for p in SCENARIOS}, indent=1, sort_keys=True
        )
        + "\n"
    )
    sys.stdout.write(f"wrote {GOLDEN}\n")
