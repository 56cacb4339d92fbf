"""Settings catalog definitions, read through Graph once per definition id per run (DESIGN §14).

``GET /beta/deviceManagement/configurationSettings/{id}`` is the definition of one setting:
its ``displayName`` and, for a choice, its ``options`` (``itemId`` → ``displayName``, the label
the portal shows for a value). A report resolves the ids of each object before rendering it;
what it has read stays in this cache for the rest of the run, so a tenant with 1,000 policies
that share 200 definitions makes 200 reads. A definition Graph does not answer for (gone,
refused, not served in this cloud) is shown by its id, and counted so the report says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from shared.graph.client import GraphClient
from shared.platform.errors import GraphError

log = logging.getLogger(__name__)
_CONCURRENT_READS = 8


@dataclass(frozen=True)
class Definition:
    display_name: str
    options: dict[str, str] = field(default_factory=dict)  # itemId → label


class DefinitionCache:
    def __init__(self, client: GraphClient, tenant_id: str) -> None:
        self._client, self._tenant_id = client, tenant_id
        self._known: dict[str, Definition | None] = {}
        self._gate = asyncio.Semaphore(_CONCURRENT_READS)
        self.reads = 0
        self.unresolved = 0

    async def resolve(self, ids: Iterable[str]) -> None:
        """Read the definitions of ``ids`` not read yet in this run."""
        missing = sorted({i for i in ids if i and i not in self._known})
        for def_id in missing:
            self._known[def_id] = None  # claimed: concurrent callers do not read it again
        results = await asyncio.gather(*(self._read(i) for i in missing))
        for def_id, definition in zip(missing, results, strict=True):
            self._known[def_id] = definition
            if definition is None:
                self.unresolved += 1

    def get(self, def_id: str) -> Definition | None:
        return self._known.get(def_id)

    def label(self, def_id: str) -> str:
        found = self._known.get(def_id)
        return found.display_name if found and found.display_name else def_id

    def option(self, def_id: str, value: Any) -> str:
        found = self._known.get(def_id)
        text = str(value)
        return (found.options.get(text) if found else None) or text

    async def _read(self, def_id: str) -> Definition | None:
        async with self._gate:
            self.reads += 1
            try:
                body = await self._client.get_json(
                    self._tenant_id, f"deviceManagement/configurationSettings/"
                    f"{quote(def_id, safe='')}", version="beta")
            except GraphError as exc:
                log.info("setting definition %s not read (%s)", def_id, exc.code)
                return None
        options = {str(o.get("itemId")): str(o.get("displayName") or o.get("itemId"))
                   for o in body.get("options") or [] if isinstance(o, dict)}
        return Definition(str(body.get("displayName") or ""), options)


def definition_ids(settings: Iterable[Any]) -> set[str]:
    """Every ``settingDefinitionId`` inside a settings catalog policy's ``settings``."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            def_id = value.get("settingDefinitionId")
            if isinstance(def_id, str):
                found.add(def_id)
            for inner in value.values():
                walk(inner)
        elif isinstance(value, list):
            for inner in value:
                walk(inner)

    walk(list(settings))
    return found
