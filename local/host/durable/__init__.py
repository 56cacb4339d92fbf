"""Durable Functions for the local runtime (see `extension.DurableExtension`)."""

from local.host.durable.extension import DurableExtension

__all__ = ["DurableExtension"]
