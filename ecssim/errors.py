"""The error hierarchy of ecssim.

Every error ecssim raises on purpose derives from :class:`EcsSimError`, and each
subclass also derives from the builtin a caller would already catch. API errors
raised by the boto3-shaped clients are not here: they are botocore's own
``ClientError`` classes (see :mod:`ecssim.aws.errors`).
"""

from __future__ import annotations


class EcsSimError(Exception):
    """Base class for every error ecssim raises on purpose."""


class InvalidTransition(EcsSimError, ValueError):
    """A state machine was asked for a move its rules do not allow."""


class InvariantViolation(EcsSimError, AssertionError):
    """The model reached a state that the ECS rules forbid (a bug, not bad input)."""


class ScenarioError(EcsSimError, ValueError):
    """A scenario or a setting is invalid; the message names the field and the value."""
