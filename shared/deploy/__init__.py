"""Cross-tenant deployment (DESIGN §11): a source tenant's backup set restored into another
tenant, with a reviewable mapping plan of every reference the items carry.

- :mod:`shared.deploy.plan` finds the references (from the catalog's ``Reference``
  declarations, one piece for every type) and resolves each in the target;
- :mod:`shared.deploy.target` reads what the target has (by kind) and each tenant's domain;
- :mod:`shared.deploy.store` keeps a run's plan rows and the per-pair registry;
- :mod:`shared.deploy.transform` makes a source snapshot fit the target (mapped ids,
  dropped references, tenant values, secrets);
- :mod:`shared.deploy.start` checks a start (both tenants' roles, the bad input of §11).
"""
