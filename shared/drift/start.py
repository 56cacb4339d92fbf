"""Placeholder for the drift check's start, replaced at merge by the drift-check branch
(issue 15): the scheduler (``shared.schedules.jobs``) calls it with this signature.

The real function builds the ``drift_check`` job for the tenant's baseline — its pinned set,
else its newest succeeded full backup — and raises a :class:`Conflict` with code
``no_baseline`` when the tenant has none. Until then every tenant is treated as having none.
"""

from __future__ import annotations

from shared.platform.errors import Conflict
from shared.platform.storage import Storage
from shared.runs.jobs import Job

NO_BASELINE = "no_baseline"


async def drift_check_job(storage: Storage, tenant_id: str, baseline_id: str | None = None,
                          policy_types: list[str] | None = None) -> Job:
    """Placeholder: always the 409 ``no_baseline`` Conflict."""
    raise Conflict("the tenant has no baseline: pin a backup set or run a full backup first",
                   code=NO_BASELINE)
