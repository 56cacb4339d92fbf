"""Rotate the key-encryption key: re-wrap every tenant's data key, touch no blob (DESIGN §12).

    python -m shared.backups.rotate_kek --old env:PV_SNAPSHOT_KEK_OLD --new env:PV_SNAPSHOT_KEK
    python -m shared.backups.rotate_kek --old https://v.vault.azure.net/keys/pv-kek \\
                                        --new https://v.vault.azure.net/keys/pv-kek

A KEK is ``env:NAME`` (an environment variable holding a local KEK, base64 — never on the
command line, where process lists and shell history would keep it) or a Key Vault key id
(wrapped by its current version, unwrapped by the version each row names). Storage is
``AzureWebJobsStorage`` and ``PV_STORAGE_PREFIX``, as for the app. Safe to run again: rows
the new KEK already wrapped are left alone, so an interrupted rotation is finished by running
it again. Prints one line; exits 1 with one line on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from shared.backups.tenant_keys import Rewrapped, TenantKeys
from shared.crypto.kek import Kek, LocalKek
from shared.platform.config import (
    DEFAULT_STORAGE,
    load_storage_prefix,
    parse_key_vault_key_id,
    parse_local_kek,
)
from shared.platform.errors import ConfigError, PolicyVaultError
from shared.platform.storage import Storage


def parse_kek(spec: str, env: dict[str, str] | None = None) -> Kek:
    """``env:NAME`` → the local KEK in that variable; ``https://…`` → that Key Vault key."""
    env = dict(os.environ if env is None else env)
    if spec.startswith("https://"):
        from shared.crypto.key_vault import KeyVaultKek

        return KeyVaultKek.with_managed_identity(parse_key_vault_key_id(spec, "the key id"))
    if spec.startswith("env:") and len(spec) > 4:
        name = spec[4:]
        if not env.get(name, "").strip():
            raise ConfigError(f"the environment variable {name} is not set")
        return LocalKek(parse_local_kek(env[name], name))
    raise ConfigError("a key-encryption key is env:NAME (a variable holding the base64 key) "
                      "or a Key Vault key id (https://…)")


async def rotate(storage: Storage, old: Kek, new: Kek) -> Rewrapped:
    return await TenantKeys(storage).rewrap_all(old, new)


async def _main(args: argparse.Namespace) -> Rewrapped:
    old, new = parse_kek(args.old), parse_kek(args.new)
    storage = Storage(os.environ.get("AzureWebJobsStorage") or DEFAULT_STORAGE,
                      load_storage_prefix(dict(os.environ)))
    try:
        return await rotate(storage, old, new)
    finally:
        await storage.close()
        await old.close()
        await new.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.backups.rotate_kek",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--old", required=True, help="the KEK that wrapped the data keys")
    parser.add_argument("--new", required=True, help="the KEK to wrap them with")
    args = parser.parse_args(argv)
    try:
        done = asyncio.run(_main(args))
    except PolicyVaultError as exc:
        print(f"rotate_kek: {exc.message}", file=sys.stderr)
        return 1
    print(f"rotate_kek: re-wrapped {done.rewrapped} data keys; "
          f"{done.already} were already wrapped by the new key")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
