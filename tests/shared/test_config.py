import base64

import pytest

from shared.platform.config import load_settings
from shared.platform.errors import ConfigError

BASE = {
    "GRAPH_CLIENT_ID": "00000000-0000-0000-0000-000000000001",
    "GRAPH_CLIENT_SECRET": "s3cret-value",
    "API_AUTH_ISSUER": "https://issuer.example/pv",
    "API_AUTH_AUDIENCE": "api://policyvault",
    "API_AUTH_JWKS_URL": "https://issuer.example/pv/keys",
    "PV_SNAPSHOT_KEK": base64.b64encode(bytes(range(32))).decode(),
}


def test_load_settings_minimal_environment_uses_documented_defaults():
    settings = load_settings(BASE)
    assert settings.storage_connection == "UseDevelopmentStorage=true"
    assert settings.graph_base_url == "https://graph.microsoft.com"
    assert settings.authority_host == "https://login.microsoftonline.com"
    assert settings.storage_prefix == ""
    assert settings.portal_base_url == ""


@pytest.mark.parametrize(
    "missing", ["GRAPH_CLIENT_ID", "API_AUTH_ISSUER", "API_AUTH_AUDIENCE", "API_AUTH_JWKS_URL"]
)
def test_load_settings_missing_required_names_the_variable(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(env)


def test_load_settings_without_any_credential_names_both_options():
    env = {k: v for k, v in BASE.items() if k != "GRAPH_CLIENT_SECRET"}
    with pytest.raises(ConfigError, match="GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE_PATH"):
        load_settings(env)


@pytest.mark.parametrize("name", ["GRAPH_BASE_URL", "ENTRA_AUTHORITY_HOST", "API_AUTH_JWKS_URL"])
def test_load_settings_plain_http_endpoint_is_refused(name):
    with pytest.raises(ConfigError, match=name):
        load_settings({**BASE, name: "http://127.0.0.1:8443"})


@pytest.mark.parametrize("prefix", ["Upper", "1abc", "has-dash", "x" * 21])
def test_load_settings_bad_storage_prefix_is_refused(prefix):
    with pytest.raises(ConfigError, match="PV_STORAGE_PREFIX"):
        load_settings({**BASE, "PV_STORAGE_PREFIX": prefix})


def test_settings_repr_never_shows_the_secret():
    settings = load_settings(BASE)
    assert "s3cret-value" not in repr(settings)


def test_load_settings_without_a_snapshot_key_names_both_options():
    env = {k: v for k, v in BASE.items() if k != "PV_SNAPSHOT_KEK"}
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == ("missing required configuration: "
                                 "PV_KEY_VAULT_KEY_ID or PV_SNAPSHOT_KEK")


@pytest.mark.parametrize("value", ["not base64 at all!", base64.b64encode(b"short").decode(),
                                   base64.b64encode(bytes(33)).decode()])
def test_load_settings_malformed_local_kek_names_it_and_never_echoes_it(value):
    with pytest.raises(ConfigError, match="PV_SNAPSHOT_KEK must be 32 random bytes") as caught:
        load_settings({**BASE, "PV_SNAPSHOT_KEK": value})
    assert value not in str(caught.value)


@pytest.mark.parametrize("key_id", [
    "http://pv.vault.azure.net/keys/pv-kek", "https://pv.vault.azure.net/secrets/pv-kek",
    "https://pv.vault.azure.net/keys/", "pv-kek"])
def test_load_settings_malformed_key_vault_key_id_is_refused(key_id):
    env = {k: v for k, v in BASE.items() if k != "PV_SNAPSHOT_KEK"}
    with pytest.raises(ConfigError, match="PV_KEY_VAULT_KEY_ID must be a Key Vault key"):
        load_settings({**env, "PV_KEY_VAULT_KEY_ID": key_id})


@pytest.mark.parametrize("key_id", [
    "https://pv.vault.azure.net/keys/pv-kek",
    "https://pv.vault.azure.net/keys/pv-kek/0123456789abcdef0123456789abcdef/"])
def test_load_settings_key_vault_key_id_is_the_snapshot_key(key_id):
    env = {k: v for k, v in BASE.items() if k != "PV_SNAPSHOT_KEK"}
    settings = load_settings({**env, "PV_KEY_VAULT_KEY_ID": key_id})
    assert settings.snapshot_key.key_vault_key_id == key_id.rstrip("/")
    assert settings.snapshot_key.local_kek is None


def test_load_settings_both_snapshot_keys_is_refused():
    with pytest.raises(ConfigError, match="only one of PV_KEY_VAULT_KEY_ID and PV_SNAPSHOT_KEK"):
        load_settings({**BASE, "PV_KEY_VAULT_KEY_ID": "https://pv.vault.azure.net/keys/k"})


def test_settings_repr_never_shows_the_local_kek():
    settings = load_settings(BASE)
    assert settings.snapshot_key.local_kek == bytes(range(32))
    assert repr(bytes(range(32))) not in repr(settings)
    assert BASE["PV_SNAPSHOT_KEK"] not in repr(settings)


def test_load_settings_webhook_allow_list_is_exact_lower_case_host_names():
    assert load_settings(BASE).webhook_allowed_hosts == frozenset()
    settings = load_settings({**BASE, "PV_WEBHOOK_ALLOWED_HOSTS": " LocalHost , hooks.lab., "})
    assert settings.webhook_allowed_hosts == frozenset({"localhost", "hooks.lab"})
    with pytest.raises(ConfigError, match="PV_WEBHOOK_ALLOWED_HOSTS"):
        load_settings({**BASE, "PV_WEBHOOK_ALLOWED_HOSTS": "https://localhost/"})
