"""One ``ecssim serve`` session: build the scenario, serve it until told to
stop, then write its results folder as ``ecssim run`` does (plus a
``workers/`` folder with the log of each external worker process)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from pathlib import Path

from ecssim.model.build import build
from ecssim.reports.folders import WORKER_LOGS, check_output_folder
from ecssim.reports.run_report import write_results
from ecssim.scenario.schema import Scenario
from ecssim.serve.server import EcssimHttpServer, running_server


def serve_scenario(
    scenario: Scenario,
    *,
    out: Path,
    stop: threading.Event,
    seed: int | None = None,
    speed: float | None = 1.0,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    on_ready: Callable[[EcssimHttpServer], None] | None = None,
) -> Path:
    """Serve *scenario* until *stop* is set (or Ctrl-C), then write *out*.

    Args:
        scenario: the validated scenario.
        out: the results folder written at the end (checked before serving).
        stop: set it to end the session.
        seed: overrides the scenario's seed.
        speed: simulated seconds per wall-clock second; None for manual mode.
        host: the address to bind (loopback unless *allow_remote*).
        port: the port (0: any free port).
        allow_remote: allow a non-loopback *host*.
        on_ready: called with the running server (to print its URL).

    Returns:
        The results folder.

    Raises:
        BindError: a non-loopback *host* without *allow_remote*.
        ResultsFolderError: *out* must not be overwritten.
    """
    target = check_output_folder(out)
    model = build(scenario, seed=seed)
    logs = target.parent / f".{target.name}.workers-{secrets.token_hex(4)}"
    with running_server(
        model,
        speed=speed,
        host=host,
        port=port,
        allow_remote=allow_remote,
        worker_logs=logs,
    ) as server:
        if on_ready is not None:
            on_ready(server)
        try:
            while not stop.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        clock = server.app.clock
        with clock.lock:
            result = model.result()
    folder = write_results(result, target)
    if logs.is_dir():
        logs.rename(folder / WORKER_LOGS)
    return folder
