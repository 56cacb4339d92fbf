"""Durable activities, verb-first functions grouped by the noun they act on."""
