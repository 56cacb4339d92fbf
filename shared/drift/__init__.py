"""Drift detection (DESIGN §10): the tenant's baseline, starting a check, matching live
objects to the baseline's items, and the alert a check with drift raises."""
