"""A simulated account, and scenarios built into it and run.

:mod:`~ecssim.model.simulation` is :class:`~ecssim.Simulation`, the one place
that creates a SimPy environment and seeds randomness;
:mod:`~ecssim.model.build` turns a scenario into ECS calls (with
:mod:`~ecssim.model.services`, :mod:`~ecssim.model.autoscaling` and
:mod:`~ecssim.model.actions`, one per kind of component) and runs it into a
:class:`~ecssim.model.result.RunResult`.
"""
