"""The local key-encryption key (``PV_SNAPSHOT_KEK``): AES key wrap, and it unwraps only
what it wrapped."""

from __future__ import annotations

import base64
import dataclasses
import os

import pytest

from shared.crypto.kek import LocalKek, kek_from_config, new_local_kek
from shared.platform.config import SnapshotKeyConfig
from shared.platform.errors import KeyUnavailable

pytestmark = pytest.mark.anyio
DATA_KEY = os.urandom(32)


async def test_local_kek_wrap_then_unwrap_returns_the_data_key() -> None:
    kek = LocalKek(os.urandom(32))
    wrapped = await kek.wrap(DATA_KEY)
    assert wrapped.kek_id == kek.kek_id and wrapped.algorithm == "A256KW"
    assert DATA_KEY not in wrapped.wrapped
    assert await kek.unwrap(wrapped) == DATA_KEY


async def test_local_kek_refuses_what_another_kek_wrapped() -> None:
    wrapped = await LocalKek(os.urandom(32)).wrap(DATA_KEY)
    with pytest.raises(KeyUnavailable, match="another key-encryption key"):
        await LocalKek(os.urandom(32)).unwrap(wrapped)


async def test_local_kek_refuses_a_tampered_wrapped_key() -> None:
    kek = LocalKek(os.urandom(32))
    wrapped = await kek.wrap(DATA_KEY)
    tampered = dataclasses.replace(wrapped, wrapped=bytes([wrapped.wrapped[0] ^ 1])
                                   + wrapped.wrapped[1:])
    with pytest.raises(KeyUnavailable, match="integrity"):
        await kek.unwrap(tampered)


def test_local_kek_id_is_a_fingerprint_that_shows_no_key_bytes() -> None:
    key = os.urandom(32)
    kek = LocalKek(key)
    assert kek.kek_id == LocalKek(key).kek_id != LocalKek(os.urandom(32)).kek_id
    assert key.hex()[:16] not in kek.kek_id and key.hex() not in repr(kek)


def test_new_local_kek_is_32_random_bytes_base64() -> None:
    assert len(base64.b64decode(new_local_kek(), validate=True)) == 32
    assert new_local_kek() != new_local_kek()


def test_kek_from_config_local_is_the_local_kek() -> None:
    key = os.urandom(32)
    assert kek_from_config(SnapshotKeyConfig(local_kek=key)).kek_id == LocalKek(key).kek_id
