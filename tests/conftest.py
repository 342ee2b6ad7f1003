"""Shared pytest configuration: hypothesis profiles first, fixtures below."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile(
    "ci", max_examples=200, deadline=None, derandomize=True, print_blob=True
)
settings.register_profile("dev", max_examples=50, deadline=None)
# the long local run of tests/test_fuzz_scenarios.py (its sizes follow the profile)
settings.register_profile("fuzz", max_examples=1000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
