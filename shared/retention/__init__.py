"""Retention (DESIGN §12): what a tenant keeps, and the daily purge of what it no longer does."""
