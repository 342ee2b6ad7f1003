"""What a person reads: results folders, reports and figures.

:mod:`~ecssim.reports.run_report` writes and renders a run's folder;
:mod:`~ecssim.reports.plotting` draws every figure (the only matplotlib user);
:mod:`~ecssim.reports.document` is the Markdown/HTML document model and
:mod:`~ecssim.reports.folders` the safe, atomic folder writes.
"""
