"""``python -m ecssim``: the same as the ``ecssim`` command."""

from __future__ import annotations

from ecssim.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
