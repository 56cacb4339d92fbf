"""Per-tenant schedules (DESIGN §10): which jobs run when, and the timer tick that starts them.

- ``model``: a tenant's ``schedules`` (NCRONTAB per job, the defaults, the 15-minute floor);
- ``due``: which (tenant, job) is due at a moment — pure, in memory;
- ``marks``: the ETag-guarded ``last_fired`` marker per (tenant, job);
- ``jobs``: the registry of schedulable jobs and the scheduler's principal;
- ``tick``: one tick — list, decide, claim, start, confirm.
"""
