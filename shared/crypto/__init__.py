"""Envelope encryption of snapshots (DESIGN §12): the key-encryption key (``kek``, locally or
in Key Vault: ``key_vault``) wraps each tenant's data key; the data key seals snapshot blobs
and names them (``envelope``). Stored data keys: :mod:`shared.backups.tenant_keys`."""
