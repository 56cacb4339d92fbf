"""Identity-based storage settings (AzureWebJobsStorage__*) and the clients built from them,
checked without Azure: which endpoints are derived, which settings win, what is refused."""

from __future__ import annotations

import asyncio

import pytest
from azure.identity.aio import DefaultAzureCredential

from shared.platform.config import load_settings
from shared.platform.errors import ConfigError
from shared.platform.storage import Storage
from shared.platform.storage_account import StorageIdentity, storage_identity
from tests.shared.test_config import BASE

ACCOUNT = {"AzureWebJobsStorage__accountName": "pvprodst"}


def test_storage_identity_account_name_derives_the_three_public_cloud_endpoints():
    assert storage_identity(ACCOUNT) == StorageIdentity(
        blob_url="https://pvprodst.blob.core.windows.net",
        queue_url="https://pvprodst.queue.core.windows.net",
        table_url="https://pvprodst.table.core.windows.net",
    )


def test_storage_identity_service_uri_overrides_only_its_own_endpoint():
    identity = storage_identity({
        **ACCOUNT, "AzureWebJobsStorage__blobServiceUri": "https://pvprodst.blob.core.usgovcloudapi.net/",
    })
    assert identity is not None
    assert identity.blob_url == "https://pvprodst.blob.core.usgovcloudapi.net"
    assert identity.queue_url == "https://pvprodst.queue.core.windows.net"


def test_storage_identity_three_service_uris_need_no_account_name():
    env = {f"AzureWebJobsStorage__{s}ServiceUri": f"https://acct.{s}.core.chinacloudapi.cn"
           for s in ("blob", "queue", "table")}
    identity = storage_identity(env)
    assert identity is not None
    assert identity.table_url == "https://acct.table.core.chinacloudapi.cn"


def test_storage_identity_missing_service_without_account_names_the_setting():
    env = {"AzureWebJobsStorage__blobServiceUri": "https://acct.blob.core.windows.net"}
    with pytest.raises(ConfigError, match="AzureWebJobsStorage__queueServiceUri"):
        storage_identity(env)


def test_storage_identity_client_id_selects_the_user_assigned_identity():
    identity = storage_identity({**ACCOUNT, "AzureWebJobsStorage__credential": "managedidentity",
                                 "AzureWebJobsStorage__clientId": "1b9c3c7e-0000-4000-8000-1"})
    assert identity is not None
    assert identity.client_id == "1b9c3c7e-0000-4000-8000-1"


def test_storage_identity_connection_string_wins_over_identity_settings():
    env = {**ACCOUNT, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    assert storage_identity(env) is None
    assert load_settings({**BASE, **env}).storage_identity is None


def test_storage_identity_without_any_storage_setting_is_none_and_azurite_applies():
    settings = load_settings(BASE)
    assert settings.storage_identity is None
    assert settings.storage_connection == "UseDevelopmentStorage=true"


@pytest.mark.parametrize("env, name", [
    ({"AzureWebJobsStorage__accountName": "Has-Dash"}, "accountName"),
    ({**ACCOUNT, "AzureWebJobsStorage__tableServiceUri": "http://acct.table"}, "tableServiceUri"),
    ({**ACCOUNT, "AzureWebJobsStorage__credential": "connectionstring"}, "credential"),
])
def test_storage_identity_bad_setting_is_refused_naming_it(env, name):
    with pytest.raises(ConfigError, match=f"AzureWebJobsStorage__{name}"):
        load_settings({**BASE, **env})


def test_storage_with_identity_clients_use_one_token_credential_at_the_derived_endpoints():
    async def build() -> tuple[list[str], list[object], str]:
        storage = Storage("", "pv", storage_identity(ACCOUNT))
        services = [storage._blob_service, storage._queue_service, storage._table_service]
        container = storage._blob_service.get_container_client(storage.name("snapshots")).url
        hosts, credentials = [s.url for s in services], [s.credential for s in services]
        await storage.close()
        return hosts, credentials, container

    hosts, credentials, container = asyncio.run(build())
    assert [h.split("/")[2] for h in hosts] == [
        "pvprodst.blob.core.windows.net", "pvprodst.queue.core.windows.net",
        "pvprodst.table.core.windows.net"]
    assert all(isinstance(c, DefaultAzureCredential) for c in credentials)
    assert len({id(c) for c in credentials}) == 1  # one credential, one token cache
    assert container == "https://pvprodst.blob.core.windows.net/pvsnapshots"
