"""A local Microsoft Graph + Entra ID simulator for tests, the demo and benchmarks.

Public API: `GraphSimulator` (in-process), `Limits` (throttling), `write_ca_bundle`,
`TYPES`/`POLICY_TYPE_KEYS` (the simulated collections). CLI: `python -m local.graphsim`.
"""

from .catalog import POLICY_TYPE_KEYS, TYPES, TypeSpec
from .certs import write_ca_bundle
from .simulator import GraphSimulator
from .throttle import Limits

__all__ = [
           "POLICY_TYPE_KEYS",
           "TYPES",
           "GraphSimulator",
           "Limits",
           "TypeSpec",
           "write_ca_bundle",
]
