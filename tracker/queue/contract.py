"""One task message and the one contract every executor keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class Task:
    """A unit of work and the time it was due. The due time makes it idempotent: a run
    that started at or after it covered it, so delivering it again does nothing."""

    unit: str  # "pull", "alerts", … (tracker.jobs.UNITS)
    due: datetime
    shop_id: int | None = None
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.unit if self.shop_id is None else f"{self.unit}:{self.shop_id}"

    def message(self) -> dict[str, Any]:
        """JSON for the broker: nothing but names, ids and an ISO time."""
        return {
            "unit": self.unit,
            "due": self.due.isoformat(),
            "shop_id": self.shop_id,
            "args": self.args,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Task:
        return cls(
            unit=str(message["unit"]),
            due=datetime.fromisoformat(message["due"]),
            shop_id=message.get("shop_id"),
            args=dict(message.get("args") or {}),
        )


@dataclass(frozen=True)
class WorkerSeen:
    name: str
    answered: bool  # answered a ping just now (Celery); the scheduler itself in-process


class Executor(Protocol):
    mode: str  # "embedded" or "celery"

    def submit(self, task: Task) -> None:
        """Hand the task over; it runs now or soon, on this machine or another."""
        ...

    def depth(self) -> int | None:
        """Tasks waiting in the queue (None: the broker did not answer)."""
        ...

    def ping(self) -> list[WorkerSeen]:
        """The workers answering now."""
        ...

    def describe(self) -> str:
        """Where the work runs, for the admin page (no password)."""
        ...

    def shutdown(self) -> None: ...
