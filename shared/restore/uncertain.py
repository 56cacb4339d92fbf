"""Look before re-creating (issue 19, finding 6; DESIGN §8: never a second copy).

A live restore records ``creating`` before its POST. A later attempt that finds that step
does not know whether Graph committed the object: the POST timed out, its connection dropped,
Graph answered 500/502/504, or the process was killed. The restore's assessment already
looked the object up by its display name; a listing may lag behind a create, so before
creating again :func:`look_before_recreate` looks again, a bounded number of times with a
growing wait. An object found is the one the earlier POST made; none found after the wait is
taken as never created. Without a display name there is nothing to look for: the item fails
with ``uncertain_create`` rather than risk a duplicate. A POST Graph answered with a refusal
(4xx, 429, 503: not processed) leaves nothing uncertain (:func:`refused_before_commit`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from shared.graph import find_by_display_name
from shared.graph.resource import ResourceType
from shared.platform.codes import ErrorCode
from shared.platform.errors import GraphDeadlineExceeded, GraphError, PolicyVaultError

CONSISTENCY_WAITS_S = (0.5, 1.0, 2.0, 4.0)  # 7.5 s at most, only for an uncertain create
_UNCERTAIN_STATUSES = frozenset({500, 502, 504})


class UncertainCreate(PolicyVaultError):
    """Raised when an earlier create's outcome cannot be told (no name to look it up by, or
    several objects carry it): the item fails instead of risking a duplicate."""

    code = ErrorCode.UNCERTAIN_CREATE


def refused_before_commit(exc: GraphError) -> bool:
    """Graph answered the POST with a refusal that committed nothing."""
    if isinstance(exc, GraphDeadlineExceeded):
        return True  # never sent: the tenant's gate held it past its deadline
    return exc.status is not None and exc.status not in _UNCERTAIN_STATUSES


async def look_before_recreate(
        tenant_id: str, rtype: ResourceType, display_name: str, *,
        waits: Sequence[float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> str | None:
    """The id of the object an earlier, unanswered POST created, or None if it did not."""
    if not display_name or rtype.singleton:
        raise UncertainCreate(f"an earlier attempt to create this {rtype.key} got no answer, "
                              "and without a display name it cannot be looked up; it was not "
                              "created again")
    for wait in (0.0, *(CONSISTENCY_WAITS_S if waits is None else waits)):
        if wait:
            await sleep(wait)
        refs = await find_by_display_name(tenant_id, rtype.key, display_name)
        if len(refs) > 1:
            raise UncertainCreate(f"an earlier attempt to create this {rtype.key} got no "
                                  f"answer, and {len(refs)} objects are now named "
                                  f"{display_name!r}; none was chosen")
        if refs:
            return refs[0].id
    return None
