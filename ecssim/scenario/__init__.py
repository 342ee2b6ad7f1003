"""Scenario files: the only YAML reader in ecssim.

:mod:`~ecssim.scenario.schema` is the schema (pydantic models, frozen after
validation); :mod:`~ecssim.scenario.loading` reads YAML into it, applies
``--set`` overrides and resolves trace paths, and writes the JSON Schema.
"""
