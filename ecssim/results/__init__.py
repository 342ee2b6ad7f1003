"""Records and the outcomes computed from them.

:mod:`~ecssim.results.recorder` keeps what a run records as columns and builds
the tidy events frame once; :mod:`~ecssim.results.metrics` computes every
summary outcome as pure pandas over the frames.
"""
