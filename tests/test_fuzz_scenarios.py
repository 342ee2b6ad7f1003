"""A fuzz suite of hostile and careless scenario files (issue 16).

Hypothesis mutates the bundled scenarios (keys deleted, values replaced by huge,
negative, NaN or infinite numbers, long strings, wrong types, deep nesting,
control characters, NUL bytes, unicode), damages their YAML text (duplicate
keys, aliases, truncation, stray bytes) and writes hostile trace files. The
property: ``ecssim validate`` exits 0 or 2, never another code, never with a
traceback, and an exit 2 names the file (every message starts with it); a case
that takes longer than its time limit is a failure, not a wait. Mutated
scenarios that validate are run for a few simulated minutes into a temporary
``--out``: exit 0 or 2, and nothing is written outside ``--out``.

Sizes follow ``HYPOTHESIS_PROFILE``: ``ci`` keeps the module to about 20 s;
``fuzz`` is the long local run (``HYPOTHESIS_PROFILE=fuzz pytest
tests/test_fuzz_scenarios.py``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Final

import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from ecssim import load_scenario
from ecssim.cli import main

SCENARIOS: Final = Path(__file__).resolve().parent.parent / "scenarios"
FILES: Final = sorted(SCENARIOS.glob("*.yaml"))
RAW: Final = {path.name: yaml.safe_load(path.read_text("utf-8")) for path in FILES}
TEXTS: Final = {path.name: path.read_text("utf-8") for path in FILES}

PROFILE: Final = os.environ.get("HYPOTHESIS_PROFILE", "dev")
#: examples per test: mutated data, damaged text, traces, runs
SIZES: Final = {
    "ci": (50, 40, 16, 4),
    "dev": (25, 20, 10, 3),
    "fuzz": (3000, 1500, 800, 300),
}.get(PROFILE, (25, 20, 10, 3))
VALIDATE_LIMIT_S: Final = 15.0
RUN_LIMIT_S: Final = 90.0


# ---- the property -----------------------------------------------------------------------
class CaseTimeout(BaseException):
    """A case ran past its time limit: a hang (not an Exception, so main()'s
    internal-error handler does not catch it)."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in this thread after *seconds*."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CaseTimeout(f"the case took more than {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def ecssim(*argv: str, limit_s: float = VALIDATE_LIMIT_S) -> tuple[int, str, str]:
    """``ecssim ARGV`` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with (
        time_limit(limit_s),
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def check_validate(path: Path, *extra: str) -> int:
    """Validate *path*: exit 0 or 2, no traceback, and every error line of an
    exit 2 starts with the file it is about."""
    code, out, err = ecssim("validate", str(path), *extra)
    assert code in (0, 2), (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    assert "internal error" not in err, err[-2000:]
    if code == 0:
        assert out.startswith(f"OK {path}"), out
        event("validated")
    else:
        assert err.strip(), "exit 2 without a message"
        first = err.splitlines()[0]
        if first.startswith("usage: "):  # argparse: a --set that is not PATH=VALUE
            assert "error: argument --set: " in err, err
        else:  # about the file, or about a --set path (as the user wrote it)
            assert first.startswith(
                (f"ecssim validate: {path}", "ecssim validate: --set '")
            ), first
        event("refused")
    return code


def files_in(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*")}


def check_run(folder: Path, path: Path, *extra: str) -> int:
    """Run *path* into ``folder/out`` from *folder*: exit 0 or 2, no traceback,
    and nothing written in *folder* outside ``out``."""
    before = files_in(folder)
    old = Path.cwd()
    os.chdir(folder)
    try:
        code, _, err = ecssim(
            "run",
            str(path),
            "--quiet",
            "--out",
            str(folder / "out"),
            *extra,
            limit_s=RUN_LIMIT_S,
        )
    finally:
        os.chdir(old)
    assert code in (0, 2), (code, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    written = {p for p in files_in(folder) - before if p.parts[0] != "out"}
    assert written == set(), written
    event(f"run exit {code}")
    return code


# ---- hostile values ---------------------------------------------------------------------
def _vocabulary(node: Any, keys: set[str], strings: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(str(key))
            _vocabulary(value, keys, strings)
    elif isinstance(node, list):
        for item in node:
            _vocabulary(item, keys, strings)
    elif isinstance(node, str):
        strings.add(node)


KEYS: set[str] = set()
STRINGS: set[str] = set()
for _raw in RAW.values():
    _vocabulary(_raw, KEYS, STRINGS)
KEYS |= {"trace", "bursts", "steps", "daily_profile", "capacity_provider_strategy"}
STRINGS |= {"FARGATE", "FARGATE_SPOT", "queue", "sessions", "renewing", "always"}


def _like(value: Any) -> st.SearchStrategy[Any]:
    """Careful values of the same kind as *value* (for runs that should run)."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.integers(0, 12)
    if isinstance(value, float):
        return st.floats(0, 1)
    if isinstance(value, str) and value[:1].isdigit():
        return st.sampled_from(["30s", "2m", "15m", "1h", "30/h", "2/m", "6/h"])
    return st.sampled_from(sorted(STRINGS))


def _extreme_like(value: Any) -> st.SearchStrategy[Any]:
    """Values of the same kind as *value*, at the edges of what validates."""
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.sampled_from([0, 1, 10, 100, 1000, 5000, 5001, 2**31, -1, 100_000])
    if isinstance(value, float):
        return st.sampled_from([0.0, 1e-9, 0.999999, 1.0, 1e6, 6.1e108, 1e300])
    if isinstance(value, str) and "/" in value:
        return st.sampled_from(["1/d", "0.001/s", "10/s", "100/s", "1000/s", "0/s"])
    if isinstance(value, str) and value[:1].isdigit():
        return st.sampled_from(["0s", "1s", "1ms", "1m", "2h", "7d", "366d", "48h"])
    return st.sampled_from(sorted(STRINGS))


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


NUMBERS = st.sampled_from(
    [
        *(0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 5000, 5001, 100_001, 1001, 2881),
        *(1e300, -1e300, math.nan, math.inf, -math.inf, 5e-324, -0.0, 0.5, 1e-9),
    ]
) | st.one_of(st.integers(), st.floats())
DURATIONS = st.sampled_from(
    ["0s", "1ms", "1e300s", "99999999999999d", "-5m", "5 m", "366d", "367d", "nan"]
) | st.from_regex(r"\d{1,7}(\.\d{1,3})?(ms|s|m|h|d|w)", fullmatch=True)
RATES = st.sampled_from(["1000000/s", "0/s", "-1/s", "1/ms", "1e9/s"]) | st.from_regex(
    r"\d{1,8}/(s|m|h|d)", fullmatch=True
)
TEXTS_HOSTILE = st.text(max_size=30) | st.sampled_from(
    ["", "\0", "a\0b", "../../x", "/etc/passwd", "é", "\u202e", "x" * 300, "\x1b[31m"]
)
LEAVES = st.one_of(
    NUMBERS,
    DURATIONS,
    RATES,
    TEXTS_HOSTILE,
    st.sampled_from(sorted(STRINGS)),
    st.booleans(),
    st.none(),
    st.just(datetime(1, 1, 1, tzinfo=UTC)),
    st.integers(20, 120).map(_nested),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(sorted(KEYS)) | st.text(max_size=6), inner, max_size=3
        )
    ),
    max_leaves=8,
)
#: a marker: replace values with extremes of the same kind (see _extreme_like)
EXTREME = st.nothing()
#: values a careful user might write: for the runs
MILD = st.one_of(
    st.integers(0, 12),
    st.sampled_from(["30s", "2m", "15m", "1h", "30/h", "2/m", "0.5", "1", "0"]),
    st.sampled_from(sorted(STRINGS)),
    st.booleans(),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _paths(item, (*path, index))


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated(
    draw: st.DrawFn,
    values: st.SearchStrategy[Any] = VALUES,
    ops: tuple[str, ...] = ("delete", "replace", "add", "wrap"),
    most: int = 3,
) -> Any:
    """A bundled scenario with one to *most* mutations, each one of *ops*."""
    name = draw(st.sampled_from(sorted(RAW)))
    data = copy.deepcopy(RAW[name])
    for _ in range(draw(st.integers(1, most))):
        paths = list(_paths(data))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(ops))
        if not path and (values is MILD or values is EXTREME):
            continue  # only leaves get careful or extreme values
        if not path:
            op = "add" if isinstance(data, dict) else "replace"
        if op == "add":
            target = _get(data, path)
            if isinstance(target, dict):
                target[draw(st.sampled_from(sorted(KEYS)))] = draw(values)
                continue
            op = "replace"
        if not path:
            data = draw(values)
            continue
        parent, last = _get(data, path[:-1]), path[-1]
        if op == "delete":
            del parent[last]
        elif op == "replace":
            if values is MILD:
                parent[last] = draw(_like(parent[last]))
            elif values is EXTREME:
                parent[last] = draw(_extreme_like(parent[last]))
            else:
                parent[last] = draw(values)
        else:
            wrap_in_list = draw(st.booleans())
            parent[last] = [parent[last]] if wrap_in_list else {"x": parent[last]}
    event(f"from {name}")
    return data


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)


def _write(folder: Path, data: Any) -> Path:
    path = folder / "s.yaml"
    path.write_text(_dump(data), encoding="utf-8")
    return path


def fuzz(examples: int) -> settings:
    """The profile's settings with *examples* cases and no deadline (each case
    has its own time limit instead)."""
    return settings(
        max_examples=examples,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- validate ---------------------------------------------------------------------------
@fuzz(SIZES[0])
@given(data=mutated())
def test_mutated_bundled_scenarios_validate_or_fail_naming_the_file(data: Any) -> None:
    """Mutated scenarios validate, or exit 2 naming the file; never a traceback
    or a hang."""
    with tempfile.TemporaryDirectory() as tmp:
        check_validate(_write(Path(tmp), data))


@fuzz(SIZES[0])
@given(
    name=st.sampled_from(sorted(RAW)),
    setting=st.tuples(st.sampled_from(sorted(KEYS)), VALUES),
    index=st.integers(0, 3),
)
def test_hostile_set_values_validate_or_fail_naming_the_file(
    name: str, setting: tuple[str, Any], index: int
) -> None:
    """``--set PATH=VALUE`` with hostile values and paths behaves the same."""
    key, value = setting
    path = f"services[{index}].{key}" if index < 3 else key
    text = _dump(value).removesuffix("\n...\n").strip()
    check_validate(SCENARIOS / name, "--set", f"{path}={text}")


SNIPPETS: Final = [
    "&a x: 1",
    "y: *a",
    "<<: *nothing",
    "x: !!python/object/apply:os.system ['true']",
    "? [complex, key]\n: 1",
    "---",
    "...",
    "x: !!binary AAAA",
    "%YAML 1.1",
    "x: !!set {a, b}",
    "x: !!float 'x'",
    "x: " + "[" * 100,
    "x: " + "[" * 60 + "]" * 60,
    "\tx: 1",
    "x: 1\n x: 2",
    "'unclosed: 1",
    'x: "\\0"',
    "x: " + "9" * 5000,
    "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c]",
]
CHARACTERS: Final = ["\0", "\x01", "\x1b", "\t", "\ufeff", "\u2028", "\x85", "😀", "\r"]


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A bundled scenario's text with one to three kinds of damage."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    lines = TEXTS[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(
                ["duplicate", "delete", "snippet", "character", "indent", "truncate"]
            )
        )
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            lines = [""]
        if op == "duplicate":
            lines.insert(at, lines[at])
        elif op == "delete":
            del lines[at]
        elif op == "snippet":
            indent = lines[at][: len(lines[at]) - len(lines[at].lstrip())]
            lines.insert(at, indent + draw(st.sampled_from(SNIPPETS)) + "\n")
        elif op == "character":
            line = lines[at]
            pos = draw(st.integers(0, len(line)))
            lines[at] = line[:pos] + draw(st.sampled_from(CHARACTERS)) + line[pos:]
        elif op == "indent":
            lines[at] = draw(st.sampled_from([" ", "  ", "\t", ""])) + lines[at]
        else:
            text = "".join(lines)
            lines = [text[: draw(st.integers(0, len(text)))]]
    data = "".join(lines).encode("utf-8")
    if draw(st.booleans()) and draw(st.booleans()):
        pos = draw(st.integers(0, len(data)))
        data = (
            data[:pos] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x80"])) + data[pos:]
        )
    return data


@fuzz(SIZES[1])
@given(data=damaged())
def test_damaged_yaml_text_validates_or_fails_naming_the_file(data: bytes) -> None:
    """Damaged YAML text (duplicate keys, aliases, tags, control characters,
    truncation, bad UTF-8) validates, or exits 2 naming the file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.yaml"
        path.write_bytes(data)
        check_validate(path)


# ---- traces -----------------------------------------------------------------------------
TRACED: Final = """\
name: traced
duration: 30m
services:
  - name: app
    desired_count: 1
    workload:
      kind: queue
      arrivals: {trace: jobs.csv}
      job_duration: {distribution: fixed, value: 1m}
"""
CELLS = st.one_of(
    st.floats(0, 1800).map(lambda x: f"{x:g}"),
    st.sampled_from(["", "-5", "nan", "inf", "1e300", "5m", "1h30m", "soon", "\0"]),
    st.sampled_from(['"a,b"', '"unclosed', "x" * 200, "1" * 120]),
    st.text(max_size=12),
)


@st.composite
def traces(draw: st.DrawFn) -> bytes:
    """A trace file: a header (sometimes without ``arrival``) and rows of
    plausible and hostile cells, sometimes one over the csv field limit."""
    header = draw(
        st.sampled_from(
            ["arrival", "arrival,duration", "duration,arrival", "time", "", "Arrival"]
        )
    )
    rows = draw(st.lists(st.lists(CELLS, min_size=0, max_size=3), max_size=12))
    text = header + "\n" + "".join(",".join(row) + "\n" for row in rows)
    if draw(st.integers(0, 9)) == 0:
        text += "x" * 140_000 + "\n"
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 9)) == 0:
        data += b"\xff\n"
    return data


@fuzz(SIZES[2])
@given(trace=traces())
def test_hostile_traces_validate_or_fail_naming_the_file_and_run_cleanly(
    trace: bytes,
) -> None:
    """`validate` reads the trace: it passes, or exits 2 naming the scenario
    file (and the trace); a trace that validates also runs."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "s.yaml"
        path.write_text(TRACED, encoding="utf-8")
        (folder / "jobs.csv").write_bytes(trace)
        if check_validate(path) == 0:
            assert check_run(folder, path) == 0


# ---- runs -------------------------------------------------------------------------------
@fuzz(SIZES[3])
@given(
    data=mutated(MILD, ops=("replace",), most=1),
    duration=st.sampled_from(["2m", "10m", "30m"]),
)
def test_mutated_scenarios_that_validate_run_cleanly_into_out(
    data: Any, duration: str
) -> None:
    """A mutated scenario that validates runs for a few minutes with exit 0 (or
    2 with a message), writing nothing outside ``--out``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _write(folder, data)
        if check_validate(path, "--set", f"duration={duration}") == 0:
            check_run(folder, path, "--set", f"duration={duration}")


@fuzz(SIZES[3])
@given(data=mutated(EXTREME, ops=("replace",), most=2))
def test_extreme_values_of_the_right_kind_validate_or_run_in_time(data: Any) -> None:
    """Values at the edges of their range (rates, counts, durations) validate
    or exit 2; one that validates runs two simulated minutes within the time
    limit (unless it expects so many arrivals that it is a big run, not a hang)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = _write(folder, data)
        if check_validate(path, "--set", "duration=2m") != 0:
            return
        scenario = load_scenario(path).with_overrides({"duration": "2m"})
        start = scenario.start
        hour_s = start.hour * 3600 + start.minute * 60 + start.second
        expected = sum(
            s.workload.arrivals.expected_arrivals(scenario.duration_s, hour_s)
            for s in scenario.services
            if s.workload is not None and s.workload.arrivals.trace is None
        )
        if expected > 100_000:
            event("a big run: not run here")
            return
        check_run(folder, path, "--set", "duration=2m")


# ---- a few cases through a real process ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "extra"),
    [
        (TEXTS["hung-worker.yaml"] + "x:\n  " + SNIPPETS[-1].replace("\n", "\n  "), []),
        (TEXTS["hung-worker.yaml"], ["--set", "seed=" + "[" * 1000 + "]" * 1000]),
    ],
    ids=["alias bomb", "deep --set"],
)
def test_a_real_process_exits_2_without_a_traceback(
    tmp_path: Path, text: str, extra: list[str]
) -> None:
    """`python -m ecssim validate` on hostile input exits 2, names the file,
    and finishes within its time limit."""
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ecssim", "validate", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"ecssim validate: {path}") or (
        "is not a YAML value" in done.stderr
    )
