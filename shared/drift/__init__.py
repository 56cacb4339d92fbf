"""Drift detection against a tenant's baseline (DESIGN §10)."""
