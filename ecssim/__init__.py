"""ecssim: a discrete-event simulator of Amazon ECS service scale-in and task
scale-in protection.

The public API:

* :class:`Simulation`: a simulated account and region with boto3-shaped clients
  (``sim.ecs``, ``sim.application_autoscaling``, ``sim.cloudwatch``) and a
  fast-forward clock (``sim.advance(seconds)``);
* :func:`load_scenario` / :func:`parse_scenario`: scenario files to a validated
  :class:`Scenario`;
* :func:`run`: run a scenario, returning a :class:`RunResult` of tidy frames;
  :func:`build` builds it without running, to step through and inspect;
* :func:`sweep`: run a scenario's grid of parameters times its replications,
  here, on a process pool or on a Dask cluster;
* :func:`tune`: search a scenario's ``tune`` section for the best settings;
  :func:`calibrate`: arrivals and job durations from a service's own data;
* :class:`EcsSettings`: the knobs for ECS behaviour AWS does not document.
"""

from __future__ import annotations

from ecssim.config import EcsSettings
from ecssim.experiments.calibrate import Calibration, calibrate
from ecssim.experiments.sweep import SweepResult, sweep
from ecssim.experiments.tune import TuneResult, tune
from ecssim.model.build import Model, build, run
from ecssim.model.result import RunResult
from ecssim.model.simulation import Simulation
from ecssim.rules.scaling import ScalingSettings
from ecssim.scenario.loading import load_scenario, parse_scenario
from ecssim.scenario.schema import Scenario
from ecssim.version import __version__

__all__ = [
    "Calibration",
    "EcsSettings",
    "Model",
    "RunResult",
    "ScalingSettings",
    "Scenario",
    "Simulation",
    "SweepResult",
    "TuneResult",
    "__version__",
    "build",
    "calibrate",
    "load_scenario",
    "parse_scenario",
    "run",
    "sweep",
    "tune",
]
