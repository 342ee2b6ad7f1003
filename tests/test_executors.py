"""Tests of ecssim.experiments.executors: the serial executor, named executors,
and a sweep on a real Dask cluster (processes on loopback) giving the same bytes."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from ecssim.experiments.executors import (
    ExecutorError,
    SerialExecutor,
    open_executor,
    run_tasks,
)
from ecssim.experiments.sweep import SweepResult, sweep
from ecssim.reports.folders import write_parquet

distributed = pytest.importorskip("distributed")

SCENARIO = """\
name: exec-sweep
seed: 7
duration: 1h
services:
  - name: worker
    desired_count: 2
    workload:
      kind: queue
      arrivals: {rate: 30/h}
      job_duration: {distribution: lognormal, median: 5m, p95: 20m}
    protection: {policy: renewing, expires_in: 10m}
scheduled:
  - {at: 20m, action: set_desired_count, service: worker, count: 1}
sweep:
  parameters:
    services[0].protection.policy: [none, renewing]
  replications: 2
"""


def _raw() -> dict[str, Any]:
    raw = yaml.safe_load(SCENARIO)
    assert isinstance(raw, dict)
    return raw


def _bytes(frame: pd.DataFrame, tmp_path: Path, name: str) -> bytes:
    return write_parquet(frame, tmp_path / f"{name}.parquet").read_bytes()


@pytest.fixture(scope="module")
def serial() -> SweepResult:
    return sweep(_raw(), source="exec-sweep.yaml", executor="serial")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


def test_serial_executor_runs_at_submit_and_keeps_exceptions() -> None:
    """A call runs when submitted; its exception is kept in the future."""
    executor = SerialExecutor()
    assert executor.submit(pow, 2, 5).result() == 32
    failed = executor.submit(int, "x")
    assert isinstance(failed.exception(), ValueError)
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(pow, 2, 5)


def test_run_tasks_hands_results_over_by_index() -> None:
    """Every result reaches on_result with its task's index, on any executor."""
    for executor in (SerialExecutor(), ThreadPoolExecutor(2)):
        seen: dict[int, int] = {}
        with executor:
            run_tasks(abs, [-3, 1, -2], executor, on_result=seen.__setitem__)
        assert seen == {0: 3, 1: 1, 2: 2}


def test_run_tasks_stops_at_an_error_of_on_result() -> None:
    """An exception while handing a result over stops the loop and propagates;
    with the serial executor no later task runs."""
    ran: list[int] = []

    def note(value: int) -> int:
        ran.append(value)
        return value

    def explode(index: int, _: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tasks(note, [1, 2, 3], SerialExecutor(), on_result=explode)
    assert ran == [1]


def test_open_executor_refuses_bad_requests() -> None:
    """Unknown names, a scheduler without dask, and no workers are errors."""
    with pytest.raises(ExecutorError, match="not one of serial, processes, dask"):
        open_executor("threads").__enter__()
    with pytest.raises(ExecutorError, match="needs the dask executor"):
        open_executor("processes", scheduler="tcp://127.0.0.1:1").__enter__()
    with pytest.raises(ExecutorError, match="workers must be >= 1"):
        open_executor("serial", workers=0).__enter__()


def test_a_scheduler_that_does_not_answer_is_an_error() -> None:
    """A Dask scheduler address where nothing listens fails with its address."""
    with (
        pytest.raises(ExecutorError, match=r"no Dask scheduler answered at tcp://"),
        open_executor("dask", scheduler="tcp://127.0.0.1:9", connect_timeout_s=1),
    ):
        pass


def test_processes_give_the_serial_bytes(serial: SweepResult, tmp_path: Path) -> None:
    """A local process pool gives exactly the serial tables."""
    pooled = sweep(_raw(), source="exec-sweep.yaml", executor="processes", workers=2)
    assert _bytes(pooled.runs, tmp_path, "p") == _bytes(serial.runs, tmp_path, "s")
    assert _bytes(pooled.means, tmp_path, "pm") == _bytes(serial.means, tmp_path, "sm")


def test_a_dask_client_executor_gives_the_serial_bytes(
    serial: SweepResult, cluster: Any, tmp_path: Path
) -> None:
    """``client.get_executor()`` of a real two-process LocalCluster runs the sweep,
    and its tables are byte-identical to the serial ones."""
    with distributed.Client(cluster, timeout=30) as client:
        result = sweep(_raw(), source="exec-sweep.yaml", executor=client.get_executor())
        workers = client.run(lambda: 1)
    assert len(workers) == 2
    assert _bytes(result.runs, tmp_path, "d") == _bytes(serial.runs, tmp_path, "s")
    assert _bytes(result.means, tmp_path, "dm") == _bytes(serial.means, tmp_path, "sm")


def test_cli_sweep_on_a_dask_scheduler(
    serial: SweepResult,
    cluster: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``ecssim sweep --scheduler tcp://...`` sends the runs to that cluster and
    writes the serial tables."""
    from ecssim.cli import main

    scenario = tmp_path / "exec-sweep.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(scenario),
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    stored = (out / "runs.parquet").read_bytes()
    assert stored == _bytes(serial.runs, tmp_path, "s")
    assert len(list((out / "runs").glob("point-*"))) == 4
    assert capsys.readouterr().out.startswith("swept 'exec-sweep': 2 grid point(s)")


def test_a_tune_on_dask_gives_the_serial_trials(cluster: Any, tmp_path: Path) -> None:
    """``ecssim.experiments.tune`` runs its trials on the Dask cluster too, and
    finds what it finds in this process."""
    from ecssim.experiments.tune import tune

    raw = _raw()
    del raw["sweep"]
    raw["tune"] = {
        "parameters": {
            "services[0].protection.expires_in": {
                "low": 5,
                "high": 30,
                "integer": True,
                "unit": "m",
            }
        },
        "objectives": [{"minimize": "task_hours"}],
        "trials": 3,
        "batch": 3,
    }
    serial = tune(raw, source="t.yaml", out=tmp_path / "serial")
    with distributed.Client(cluster, timeout=30) as client:
        remote = tune(
            raw, source="t.yaml", out=tmp_path / "dask", executor=client.get_executor()
        )
    pd.testing.assert_frame_equal(remote.trials, serial.trials)
    assert remote.recommended == serial.recommended is not None
