"""Where the runs of a sweep or a tune happen: here, a local process pool, or Dask.

Anything that is a :class:`concurrent.futures.Executor` can run them: the
:class:`SerialExecutor` (one run at a time in this process), a
:class:`~concurrent.futures.ProcessPoolExecutor`, or a Dask cluster through
``distributed.Client(...).get_executor()``. :func:`open_executor` makes one
from a name (``serial``, ``processes``, ``dask``) and closes it afterwards;
:func:`run_tasks` submits the calls, hands each result over as soon as it is
done (so it can be stored at once), and cancels what has not started when it
is interrupted. Results never depend on the executor: each run is seeded by
its own task.
"""

from __future__ import annotations

import importlib
import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    wait,
)
from contextlib import contextmanager, suppress
from typing import Any, Final, TypeVar

from tqdm import tqdm

#: The executors ``--executor`` names.
EXECUTORS: Final = ("serial", "processes", "dask")
#: How long to wait for a Dask scheduler to answer before giving up (seconds).
DASK_CONNECT_TIMEOUT_S: Final = 30.0

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(ValueError):
    """An executor cannot be made from what was asked (a bad name or scheduler)."""


class SerialExecutor(Executor):
    """Runs each call in this process, when it is submitted."""

    def __init__(self) -> None:
        self._shut_down = False

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        """Run ``fn(*args, **kwargs)`` now; the returned future is already done."""
        if self._shut_down:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future[R] = Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # a KeyboardInterrupt propagates
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse further calls (nothing is ever pending)."""
        self._shut_down = True


@contextmanager
def open_executor(
    kind: str = "serial",
    *,
    workers: int = 1,
    scheduler: str | None = None,
    connect_timeout_s: float = DASK_CONNECT_TIMEOUT_S,
) -> Iterator[Executor]:
    """An executor of *kind*, shut down when the block ends.

    Args:
        kind: ``serial``, ``processes`` (a pool of *workers* spawned processes)
            or ``dask`` (the cluster at *scheduler*, or a local cluster of
            *workers* processes on loopback when no scheduler is given).
        workers: processes for ``processes`` and a local Dask cluster.
        scheduler: a Dask scheduler's address, ``tcp://HOST:PORT``; only with
            ``dask``.
        connect_timeout_s: how long to wait for *scheduler* to answer.

    Raises:
        ExecutorError: an unknown *kind*, *workers* below 1, a scheduler
            without ``dask``, or a scheduler that does not answer.
    """
    if kind not in EXECUTORS:
        raise ExecutorError(f"executor {kind!r} is not one of {', '.join(EXECUTORS)}")
    if workers < 1:
        raise ExecutorError(f"workers must be >= 1, got {workers}")
    if scheduler is not None and kind != "dask":
        raise ExecutorError(
            f"a scheduler ({scheduler}) needs the dask executor (--executor dask)"
        )
    if kind == "serial":
        yield SerialExecutor()
    elif kind == "processes":
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=ignore_sigint,
        )
        try:
            yield pool
        except BaseException:
            stop_processes(pool)
            raise
        pool.shutdown()
    else:
        with _dask_executor(workers, scheduler, connect_timeout_s) as executor:
            yield executor


def ignore_sigint() -> None:
    """Let Ctrl-C reach the sweep, not its pool's processes (which it then stops).

    A terminal sends SIGINT to the whole process group; a worker that died of
    it would break the pool before the sweep saw the interruption.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_processes(pool: ProcessPoolExecutor) -> None:
    """Stop *pool* at once: drop the calls not started, end its processes.

    A plain shutdown would wait for every run in progress.
    """
    # ProcessPoolExecutor has no public way to end its workers before 3.14
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with suppress(Exception):
            process.terminate()
    for process in processes:
        with suppress(Exception):
            process.join(5.0)


@contextmanager
def _dask_executor(
    workers: int, scheduler: str | None, connect_timeout_s: float
) -> Iterator[Executor]:
    distributed = importlib.import_module("distributed")  # heavy: only when asked
    cluster = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        address = cluster.scheduler_address
    else:
        address = scheduler
    try:
        try:
            client = distributed.Client(address, timeout=connect_timeout_s)
        except OSError as exc:
            raise ExecutorError(
                f"no Dask scheduler answered at {address}: {exc}"
            ) from None
        try:
            executor: Executor = client.get_executor()
            try:
                yield executor
            except BaseException:
                executor.shutdown(wait=False)
                raise
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    executor: Executor,
    *,
    on_result: Callable[[int, R], None],
    window: int | None = None,
    progress: bool = False,
    description: str = "runs",
) -> None:
    """Call ``fn(task)`` for every task on *executor*, handing each result over.

    ``on_result(index, result)`` is called in this process as each call
    finishes (in the order they finish). At most *window* calls are pending at
    once (default: all of them; one for a :class:`SerialExecutor`). When
    anything interrupts it (an exception of *fn*, of *on_result*, SIGINT), the
    calls not started are cancelled and the exception propagates; results
    already handed over stay handed over.
    """
    if window is None:
        window = 1 if isinstance(executor, SerialExecutor) else max(1, len(tasks))
    pending: dict[Future[R], int] = {}
    queue = iter(enumerate(tasks))
    with tqdm(
        total=len(tasks),
        desc=description,
        unit="run",
        disable=None if progress else True,
        leave=False,
    ) as bar:
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    item = next(queue, None)
                    if item is None:
                        exhausted = True
                        break
                    index, task = item
                    pending[executor.submit(fn, task)] = index
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    on_result(index, future.result())
                    bar.update(1)
        except BaseException:
            for future in pending:
                future.cancel()
            raise
