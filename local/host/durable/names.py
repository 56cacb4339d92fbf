"""Storage names of one task hub: tables, queues and the payload container.

Every name starts with the deployment's storage prefix (`PV_STORAGE_PREFIX`), then the hub name,
so several hubs, deployments and test runs share one account without seeing each other.
Tables must be alphanumeric and start with a letter; queues and containers must be lowercase
letters, digits and single hyphens; all are 3..63 characters.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

DEFAULT_HUB = "TestHubName"
_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


class TaskHubNameError(ValueError):
    """Raised when the prefix and hub name cannot form valid storage names."""


def clean_hub_name(hub: str | None) -> str:
    """The hub name with anything but letters and digits removed (Durable's own rule)."""
    cleaned = _NOT_ALNUM.sub("", hub or "")
    return cleaned or DEFAULT_HUB


@dataclass(frozen=True)
class TaskHubNames:
    """All storage names of one hub. `partitions` control queues carry orchestration work."""

    prefix: str
    hub: str
    partitions: int = 4

    @classmethod
    def build(cls, prefix: str | None, hub: str | None, partitions: int = 4) -> TaskHubNames:
        prefix = _NOT_ALNUM.sub("", prefix or "")
        names = cls(prefix, clean_hub_name(hub), max(1, min(16, int(partitions))))
        names.validate()
        return names

    @property
    def _lower(self) -> str:
        return f"{self.prefix}{self.hub}".lower()

    @property
    def instances_table(self) -> str:
        return f"{self.prefix}{self.hub}Instances"

    @property
    def history_table(self) -> str:
        return f"{self.prefix}{self.hub}History"

    @property
    def workitem_queue(self) -> str:
        return f"{self._lower}-workitems"

    @property
    def payload_container(self) -> str:
        return f"{self._lower}-largemessages"

    def control_queue(self, partition: int) -> str:
        return f"{self._lower}-control-{partition:02d}"

    @property
    def control_queues(self) -> list[str]:
        return [self.control_queue(p) for p in range(self.partitions)]

    def partition_of(self, instance_id: str) -> int:
        """Stable partition of an instance (crc32, never Python's salted hash)."""
        return zlib.crc32(instance_id.encode("utf-8")) % self.partitions

    def validate(self) -> None:
        if not (self.prefix + self.hub)[:1].isalpha():
            raise TaskHubNameError(f"task hub '{self.prefix}{self.hub}' must start with a letter")
        for name in [self.instances_table, self.history_table, self.workitem_queue,
                     self.payload_container, *self.control_queues]:
            if not 3 <= len(name) <= 63:
                raise TaskHubNameError(
                    f"storage name '{name}' is {len(name)} characters (3..63 allowed): "
                    "shorten PV_STORAGE_PREFIX or the hub name"
                )
