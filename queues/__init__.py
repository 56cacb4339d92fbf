"""Queue-triggered functions."""
