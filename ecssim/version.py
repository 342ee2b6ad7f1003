"""The version of ecssim (one place; the package metadata reads it too)."""

from __future__ import annotations

__version__ = "0.6.1"
