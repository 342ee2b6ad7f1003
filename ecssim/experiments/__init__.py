"""Studies of many runs: :mod:`~ecssim.experiments.sweep` runs a scenario's
grid times its replications and summarises them with intervals."""
