"""``ecssim serve``: a scenario's simulated account on loopback HTTP endpoints."""
