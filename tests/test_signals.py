"""SIGINT and SIGTERM to ``ecssim run`` and ``ecssim sweep``, as real processes.

A signal while a run writes its folder leaves neither the folder nor a hidden
staging folder, and what was at ``--out`` before is untouched; a signal to a
sweep stops its pool workers, so nothing keeps the caller's pipes open. The
exit code is 130 (SIGINT) or 143 (SIGTERM) with a one-line message.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ecssim.reports.folders import signals_deferred

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads process states from /proc"
)

SCENARIO = """\
name: signals
seed: 3
duration: 2h
services:
  - name: worker
    desired_count: 3
    workload:
      kind: queue
      arrivals: {rate: 20/h}
      job_duration: {distribution: exponential, mean: 10m}
    protection: {policy: per_job, expires_in: 30m}
"""

#: Long runs (minutes each), so a sweep's workers are busy when the signal comes.
LONG_SWEEP = """\
name: long-sweep
seed: 3
duration: 365d
services:
  - name: worker
    desired_count: 20
    workload:
      kind: queue
      arrivals: {rate: 300/h}
      job_duration: {distribution: exponential, mean: 2m}
    protection: {policy: per_job, expires_in: 30m}
sweep:
  parameters: {"services[0].protection.policy": [none, per_job]}
  replications: 1
"""

#: ``ecssim`` with a table writer that stops for a minute after the first
#: table, so the test can signal it while the staging folder is half written.
SLOW_WRITER = """\
import sys, time
import ecssim.reports.run_report as report
real = report.write_parquet
def slow(frame, path):
    real(frame, path)
    time.sleep(60)
report.write_parquet = slow
from ecssim.cli import main
sys.exit(main(sys.argv[1:]))
"""

#: ``ecssim`` itself (the console script's entry point).
ECSSIM = "import sys; from ecssim.cli import main; sys.exit(main(sys.argv[1:]))"

SIGNALS = [
    pytest.param(signal.SIGTERM, 143, "ecssim: terminated (SIGTERM)", id="SIGTERM"),
    pytest.param(signal.SIGINT, 130, "ecssim: interrupted (SIGINT)", id="SIGINT"),
]


def _wait_for(
    process: subprocess.Popen[str],
    condition: Callable[[], bool],
    timeout_s: float,
    what: str,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            _, stderr = process.communicate()
            raise AssertionError(f"ecssim ended before {what}: {stderr}")
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _alive(pid: int) -> bool:
    """Whether process *pid* exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _workers(pid: int) -> list[int]:
    """The pool workers among *pid*'s children (not multiprocessing's tracker)."""
    workers = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmdline:
            workers.append(child)
    return workers


def _start(code: str, args: list[str], cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(("signum", "code", "message"), SIGNALS)
def test_signal_while_a_run_writes_leaves_no_staging_folder(
    tmp_path: Path, signum: int, code: int, message: str
) -> None:
    """A signal while the results are being written removes the staging
    folder, writes no results folder, and exits with 128 + the signal's
    number and a one-line message."""
    scenario = tmp_path / "signals.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    process = _start(SLOW_WRITER, ["run", str(scenario), "--out", str(out)], tmp_path)
    try:
        _wait_for(
            process,
            lambda: any(tmp_path.glob(".out.tmp-*/*.parquet")),
            120,
            "the staging folder's first table",
        )
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines() == [message]
    assert stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["signals.yaml"]


@pytest.mark.parametrize(("signum", "code", "message"), SIGNALS)
def test_signal_to_a_sweep_stops_its_workers(
    tmp_path: Path, signum: int, code: int, message: str
) -> None:
    """A signal to a sweep (to its main process only) ends its pool workers
    too: the exit code comes at once, the caller's pipes close (no worker
    holds them), and no results or staging folder are left."""
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG_SWEEP, encoding="utf-8")
    out = tmp_path / "out"
    process = _start(
        ECSSIM,
        ["sweep", str(scenario), "--workers", "2", "--out", str(out), "--quiet"],
        tmp_path,
    )
    workers: list[int] = []
    try:
        _wait_for(
            process,
            lambda: len(_workers(process.pid)) == 2,
            120,
            "two pool workers to start",
        )
        workers = _workers(process.pid)
        time.sleep(2)  # let them import ecssim and start their runs
        process.send_signal(signum)
        # communicate() returns only once every holder of the pipes is gone
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert process.returncode == code, stderr
    assert stderr.strip().splitlines()[-1] == message
    assert "Traceback" not in stderr
    assert stdout == ""
    assert not any(_alive(pid) for pid in workers)
    # the sweep keeps the runs that finished (each whole, in its own folder under
    # runs/, for a rerun to skip) and nothing half-written, hidden or temporary
    assert sorted(p.name for p in tmp_path.iterdir()) in (
        ["long.yaml"],
        ["long.yaml", "out"],
    )
    if out.exists():
        assert {p.name for p in out.iterdir()} <= {"runs"}
        for path in out.rglob("*"):
            assert not path.name.startswith("."), path
            assert ".tmp" not in path.name, path


def test_signals_wait_while_a_folder_is_put_in_place() -> None:
    """SIGTERM during the rename that puts a folder in place is held and
    delivered to the previous handler once the step is done."""
    seen: list[str] = []

    def handler(signum: int, _: object) -> None:
        seen.append(f"handled {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # Python runs handlers between bytecodes
            seen.append("step done")
        assert seen == ["step done", "handled SIGTERM"]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
