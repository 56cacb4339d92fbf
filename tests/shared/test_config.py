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
