"""Retention settings and their bounds (DESIGN §12). A tenant's own ``retention_days`` and
``keep_min_sets`` live on its record (``shared.tenants.store.Tenant``); these are the
defaults, the limits the API enforces and what is kept whatever a tenant says."""

from __future__ import annotations

from datetime import timedelta

DEFAULT_RETENTION_DAYS = 90
MIN_RETENTION_DAYS = 7  # below this a PUT is a 400 validation_failed
MAX_RETENTION_DAYS = 3650
DEFAULT_KEEP_MIN_SETS = 7
MIN_KEEP_MIN_SETS = 1  # a tenant whose backups stopped never loses its last ones
MAX_KEEP_MIN_SETS = 1000
AUDIT_RETENTION_DAYS = 400  # audit events, whatever the tenant's retention
# An orphan blob is deleted this long after it was marked (the app setting
# PV_ORPHAN_GRACE_HOURS overrides it): longer than any activity runs, so a backup that read
# the latest-content index before the mark has written its rows before the delete.
DEFAULT_ORPHAN_GRACE = timedelta(hours=24)
