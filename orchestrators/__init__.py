"""Durable orchestrators, one per module; deterministic (no I/O, no clocks but the context's)."""
