"""Pure rules for the ECS task lifecycle: the statuses and the moves between them.

``lastStatus`` values follow ECS (``PROVISIONING`` .. ``STOPPED``); the table of
allowed moves is data, so tests and docs can read it. No SimPy here.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ecssim.errors import InvalidTransition


class TaskStatus(enum.Enum):
    """A task's ``lastStatus`` as ECS reports it."""

    # members are singletons: identity hashing is exact and, unlike Enum's
    # hash of the name, costs no Python call (statuses are hashed on hot paths)
    __hash__ = object.__hash__

    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


ALLOWED: Final[Mapping[TaskStatus, frozenset[TaskStatus]]] = MappingProxyType(
    {
        TaskStatus.PROVISIONING: frozenset({TaskStatus.PENDING, TaskStatus.STOPPING}),
        TaskStatus.PENDING: frozenset({TaskStatus.RUNNING, TaskStatus.STOPPING}),
        TaskStatus.RUNNING: frozenset({TaskStatus.STOPPING}),
        TaskStatus.STOPPING: frozenset({TaskStatus.STOPPED}),
        TaskStatus.STOPPED: frozenset(),
    }
)

#: Statuses of a task that has not reached RUNNING yet (stopped first on scale-in).
NOT_YET_RUNNING: Final = frozenset({TaskStatus.PROVISIONING, TaskStatus.PENDING})
#: Statuses that count towards a service's pendingCount.
PENDING_STATUSES: Final = NOT_YET_RUNNING
#: Statuses of a task that is still alive (not STOPPING or STOPPED).
LIVE_STATUSES: Final = frozenset(
    {TaskStatus.PROVISIONING, TaskStatus.PENDING, TaskStatus.RUNNING}
)

# The statuses hot paths compare against, as plain names: in Python 3.11 the
# enum's metaclass defines __getattr__, which takes ``TaskStatus.RUNNING`` off
# the fast attribute lookup (about ten times the cost of a global's load).
RUNNING: Final = TaskStatus.RUNNING
STOPPED: Final = TaskStatus.STOPPED


class StopCode(enum.Enum):
    """Why a task stopped (botocore's ``TaskStopCode``)."""

    TASK_FAILED_TO_START = "TaskFailedToStart"
    ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
    USER_INITIATED = "UserInitiated"
    SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
    SPOT_INTERRUPTION = "SpotInterruption"
    TERMINATION_NOTICE = "TerminationNotice"


def advance(current: TaskStatus, target: TaskStatus) -> TaskStatus:
    """Return *target* if a task may move there from *current*.

    Raises:
        InvalidTransition: the lifecycle table does not allow the move.
    """
    if target not in ALLOWED[current]:
        raise InvalidTransition(f"a task cannot go {current.value} -> {target.value}")
    return target
