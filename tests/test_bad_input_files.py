"""Bad input in files (issue 16): trace files that only `run` used to find (or
crash on), control characters reported by position, NUL bytes in strings.
Each test fails on the code before its fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecssim.cli import main
from ecssim.scenario import traces

TRACED = """\
name: traced
duration: 1h
services:
  - name: app
    desired_count: 1
    workload:
      kind: queue
      arrivals: {trace: jobs.csv}
      job_duration: {distribution: fixed, value: 1m}
"""


def _traced(tmp_path: Path, trace: str | bytes | None) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(TRACED, encoding="utf-8")
    if isinstance(trace, str):
        (tmp_path / "jobs.csv").write_text(trace, encoding="utf-8")
    elif isinstance(trace, bytes):
        (tmp_path / "jobs.csv").write_bytes(trace)
    return path


LONG = "x" * 200_000


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        ("arrival\n1\nsoon\n", "jobs.csv:3: arrival: 'soon': is not a duration"),
        ("arrival\n1\n-5\n", "jobs.csv:3: arrival: '-5': must be a finite duration"),
        ("arrival\nnan\n", "jobs.csv:2: arrival: 'nan': must be a finite duration"),
        (
            "arrival,duration\n1,inf\n",
            "jobs.csv:2: duration: 'inf': must be a finite duration",
        ),
        ("time\n1\n", "jobs.csv:1: a trace needs a header with an 'arrival' column"),
        ("", "jobs.csv: a trace needs a header with an 'arrival' column"),
        (None, "jobs.csv: cannot read the trace (No such file or directory)"),
        (
            f"arrival\n1\n{LONG}\n",
            "jobs.csv:3: a value is longer than the csv module's limit",
        ),
        (
            f'arrival\n1\n"{LONG}"\n',
            "jobs.csv:3: a value is longer than the csv module's limit",
        ),
        ("arrival\n" + "1" * 120 + "\n", "jobs.csv:2: arrival: '1111"),
        (b"arrival\n\xff\n", "jobs.csv: the trace is not a UTF-8 text file"),
    ],
    ids=[
        "word",
        "negative",
        "nan",
        "inf duration",
        "no arrival column",
        "empty",
        "missing",
        "over the csv field limit",
        "quoted over the csv field limit",
        "long value",
        "not utf-8",
    ],
)
def test_validate_opens_the_trace_and_names_file_line_and_column(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    trace: str | bytes | None,
    expected: str,
) -> None:
    """`validate` reads every trace a scenario names: a bad one exits 2 with the
    scenario's line and path, then the trace's own file, line and column."""
    path = _traced(tmp_path, trace)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: services[0].workload.arrivals.trace: 'jobs.csv': " in err
    assert f"{tmp_path / expected}" in err
    assert "Traceback" not in err


def test_run_refuses_a_trace_over_the_csv_field_limit_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A field over the csv module's limit used to crash `run` with _csv.Error;
    now it exits 2 naming the trace's line, and writes nothing."""
    path = _traced(tmp_path, f"arrival\n1\n{LONG}\n")
    out = tmp_path / "out"
    assert main(["run", str(path), "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "jobs.csv:3: a value is longer" in err
    assert "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_trace_that_is_not_a_regular_file_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A folder or a named pipe (reading it would block forever) is refused."""
    path = _traced(tmp_path, None)
    if kind == "folder":
        (tmp_path / "jobs.csv").mkdir()
    else:
        os.mkfifo(tmp_path / "jobs.csv")
    assert main(["validate", str(path)]) == 2
    assert "a trace must be a regular file" in capsys.readouterr().err


def test_a_good_trace_still_validates_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The base of the cases above is valid: seconds and units, unsorted rows."""
    path = _traced(tmp_path, "arrival,duration\n5m,30s\n10,\n\n1m,2m\n")
    assert main(["validate", str(path)]) == 0
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")]) == 0
    assert "app: jobs arrived 3, completed 3" in capsys.readouterr().out


def test_a_trace_given_with_set_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--set services[0].workload.arrivals.trace=...` is checked like the file's."""
    path = _traced(tmp_path, "arrival\n1\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("arrival\n-1\n", encoding="utf-8")
    code = main(
        ["validate", str(path), "--set", f"services[0].workload.arrivals.trace={bad}"]
    )
    assert code == 2
    assert f"{bad}:2: arrival: '-1'" in capsys.readouterr().err


SIMPLE = """\
name: simple
duration: 1h
description: {description}
services:
  - name: app
    desired_count: 1
"""


@pytest.mark.parametrize(
    ("description", "where"),
    [("'a\x01b'", "3:16"), ("ok\n\x1b[31m", "4:1"), ("'tab\tis fine\x7f'", "3:26")],
)
def test_a_control_character_is_reported_by_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], description: str, where: str
) -> None:
    """A raw control character in the file is reported as FILE:LINE:COLUMN, not
    as a character position in the whole file."""
    path = tmp_path / "s.yaml"
    path.write_text(SIMPLE.format(description=description), encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{where}: not valid YAML: the control character U+" in err
    assert "position" not in err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('description: "a\\0b"', ":3: description: 'a\\x00b': contains a NUL byte"),
        (
            'cluster: {name: "x\\0"}',
            ":3: cluster.name: 'x\\x00': contains a NUL byte",
        ),
        (
            'cluster: {availability_zones: ["us-east-1a\\0"]}',
            ":3: cluster.availability_zones[0]: 'us-east-1a\\x00': contains a NUL",
        ),
        ('"a\\0": 1', ":3: (top level): a key 'a\\x00': contains a NUL byte"),
        ('description: "bell \\a"', ":3: description: 'bell \\x07': contains the "),
    ],
    ids=["description", "cluster name", "zone", "key", "bell"],
)
def test_a_nul_byte_in_any_string_is_refused_with_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    """A NUL (or another control character) written as an escape lands in a
    string: refused wherever it is, naming the dotted path and line."""
    path = tmp_path / "s.yaml"
    body = "name: simple\nduration: 1h\n" + text + "\n"
    body += "services:\n  - name: app\n    desired_count: 1\n"
    path.write_text(body, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    assert f"{path}{expected}" in capsys.readouterr().err


def test_a_nul_byte_in_a_trace_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NUL in the trace path (ValueError: embedded null byte in open()) is a
    validation error naming the field, from the file and from --set."""
    path = _traced(tmp_path, "arrival\n1\n")
    text = path.read_text(encoding="utf-8").replace("jobs.csv", '"jobs\\0.csv"')
    path.write_text(text, encoding="utf-8")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:8: services[0].workload.arrivals.trace: 'jobs\\x00.csv'" in err
    path = _traced(tmp_path, "arrival\n1\n")
    setting = "services[0].workload.arrivals.trace=jobs\0.csv"
    assert main(["validate", str(path), "--set", setting]) == 2
    assert "services[0].workload.arrivals.trace" in capsys.readouterr().err


def test_a_trace_over_the_row_bound_is_refused_naming_the_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More rows than the bound (5,000,000; 3 here) is refused at the first row
    over it, by validate and by run, without keeping the rows."""
    monkeypatch.setattr(traces, "MAX_TRACE_ROWS", 3)
    path = _traced(tmp_path, "arrival\n1\n2\n\n3\n4\n")
    assert main(["validate", str(path)]) == 2
    assert "jobs.csv:6: the trace has more than 3 rows" in capsys.readouterr().err
    out = tmp_path / "out"
    assert main(["run", str(path), "--quiet", "--out", str(out)]) == 2
    assert "jobs.csv:6: the trace has more than 3 rows" in capsys.readouterr().err
    assert not out.exists()


def test_a_trace_over_the_byte_bound_is_refused_before_reading(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A file over the size bound (1 GiB; 64 bytes here) is refused from its
    size, even when it is mostly blank lines that no row bound would count."""
    monkeypatch.setattr(traces, "MAX_TRACE_BYTES", 64)
    path = _traced(tmp_path, "arrival\n1\n" + "\n" * 100)
    assert main(["validate", str(path)]) == 2
    assert "jobs.csv: the trace is 110 bytes; at most 64" in capsys.readouterr().err
