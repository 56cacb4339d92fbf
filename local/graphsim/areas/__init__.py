"""The simulated catalog's breadth (DESIGN §7.1), one module per area.

Each area module defines ``TYPES`` (its :class:`~local.graphsim.spec.TypeSpec` entries),
``POLICY_KEYS`` (those that are PolicyVault ``policy_type`` keys), ``COUNTS`` (default objects
per tenant) and ``seed(seeder)``, which adds the area's objects to a tenant after the first
twenty types are seeded (so references to groups, filters and scope tags resolve). Action
handlers of its types (``TypeSpec.handlers``) live beside them.
"""

from . import apps, configuration, identity, singletons, tenant_admin

AREAS = (configuration, tenant_admin, apps, identity, singletons)
