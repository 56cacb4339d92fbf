"""Restore's building blocks (DESIGN §8): matching snapshots to live objects, the field diff,
the one-live-restore-per-tenant lock, and per-run steps and id maps."""
