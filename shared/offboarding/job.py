"""The offboarding job (DESIGN §12): one run per tenant at a time, in the MSP's scope.

The run lives in the MSP's partition (:data:`~shared.tenants.store.MSP_SCOPE`), not the
tenant's — everything of the tenant's goes, and its routes answer 403 from the start. The
tenant it offboards is a run parameter; the key ``msp|offboard|{tenant}`` makes a repeated
``DELETE`` return the run in flight, and one after a failed run start a new one that
carries on where storage is.
"""

from __future__ import annotations

from shared.runs.jobs import Job
from shared.runs.model import Run, RunType
from shared.tenants.store import MSP_SCOPE

# Seconds between the last stopped orchestration and the second sweep: an activity that
# was running when its orchestration was terminated still finishes, and may write.
DRAIN_SECONDS = 15


def offboard_job(tenant_id: str) -> Job:
    return Job(
        tenant_id=MSP_SCOPE, run_type=RunType.OFFBOARD, orchestrator="offboard_tenant",
        key=f"{MSP_SCOPE}|offboard|{tenant_id}", route=f"/api/tenants/{tenant_id}",
        body={}, parameters={"tenant_id": tenant_id, "drain_seconds": DRAIN_SECONDS},
    )


def offboarded_tenant(run: Run) -> str:
    """The tenant an offboarding run offboards."""
    if run.run_type != RunType.OFFBOARD or run.tenant_id != MSP_SCOPE:
        raise ValueError(f"run {run.run_id} is not an offboarding")
    return str(run.parameters["tenant_id"])
