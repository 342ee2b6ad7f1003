"""The simulated AWS control plane: the ECS and Application Auto Scaling state and
their boto3-shaped clients. It never sleeps and never imports SimPy; the
processes in :mod:`ecssim.sim` drive it through its internal methods."""
