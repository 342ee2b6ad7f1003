"""Pure ECS and Application Auto Scaling rules: no SimPy, no pandas, no clock.

Each module is functions of (state, input, now) and frozen dataclasses:
:mod:`~ecssim.rules.protection` (the task protection state machine and when an
update fails), :mod:`~ecssim.rules.placement` (zones for new tasks, scale-in
victims, capacity providers), :mod:`~ecssim.rules.lifecycle` (task statuses),
:mod:`~ecssim.rules.deployments` (rollout bounds, circuit breaker),
:mod:`~ecssim.rules.invariants` (checks that raise),
:mod:`~ecssim.rules.alarms`, :mod:`~ecssim.rules.scaling` and
:mod:`~ecssim.rules.schedules` (CloudWatch alarms, scaling decisions,
``at``/``rate``/``cron``). The layers above schedule these rules; they never
re-implement them.
"""
