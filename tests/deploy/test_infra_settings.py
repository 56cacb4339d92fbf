"""infra/resources.bicep against the app's configuration (DESIGN §2, §13): the app settings it
writes are the ones shared/platform/config.py reads, identity-based, and ones Flex Consumption
honours."""

from __future__ import annotations

import json
import re

from shared.platform.config import load_settings
from tests.deploy.package import ROOT

BICEP = (ROOT / "infra" / "resources.bicep").read_text(encoding="utf-8")
# Settings Flex Consumption rejects or ignores, and the key-based ones this deployment must
# not use.
NOT_ON_FLEX = {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION",
               "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE",
               "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "SCM_DO_BUILD_DURING_DEPLOYMENT",
               "ENABLE_ORYX_BUILD", "AzureWebJobsFeatureFlags"}
KEY_BASED = {"AzureWebJobsStorage", "APPINSIGHTS_INSTRUMENTATIONKEY"}


def _app_settings() -> dict[str, str]:
    block = BICEP[BICEP.index("appSettings: ["):]
    block = block[:block.index("\n      ]")]
    return dict(re.findall(r"name: '([^']+)'\n\s+value: (.+)", block))


def test_infra_app_settings_name_everything_the_app_requires():
    names = set(_app_settings())
    assert {"GRAPH_CLIENT_ID", "GRAPH_CLIENT_SECRET", "API_AUTH_ISSUER", "API_AUTH_AUDIENCE",
            "API_AUTH_JWKS_URL", "PORTAL_BASE_URL", "PV_STORAGE_PREFIX", "GRAPH_BASE_URL",
            "ENTRA_AUTHORITY_HOST", "PV_KEY_VAULT_KEY_ID", "AzureWebJobsStorage__accountName",
            "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"} <= names
    assert names & (NOT_ON_FLEX | KEY_BASED) == set()


def test_infra_app_settings_load_as_identity_based_storage():
    placeholders = {name: "https://placeholder.example/x" for name in _app_settings()}
    env = {**placeholders, "AzureWebJobsStorage__accountName": "stabc123",
           "PV_KEY_VAULT_KEY_ID": "https://kv-pv.vault.azure.net/keys/snapshot-kek",
           "AzureWebJobsStorage__credential": "managedidentity", "PV_STORAGE_PREFIX": "pv"}
    for service in ("blob", "queue", "table"):
        env[f"AzureWebJobsStorage__{service}ServiceUri"] = (
            f"https://stabc123.{service}.core.windows.net")
    settings = load_settings(env)
    assert settings.storage_identity is not None
    assert settings.storage_identity.client_id == "https://placeholder.example/x"


def test_infra_secret_is_a_key_vault_reference_and_storage_keys_are_off():
    settings = _app_settings()
    assert settings["GRAPH_CLIENT_SECRET"].startswith("'@Microsoft.KeyVault(SecretUri=")
    assert "allowSharedKeyAccess: false" in BICEP
    assert "DisableLocalAuth: true" in BICEP
    assert re.search(r"alwaysReady: \[\s+\{\s+name: 'durable'", BICEP)


def test_telemetry_goes_to_application_insights_through_opentelemetry():
    """What Microsoft's "Use OpenTelemetry with Azure Functions" asks of a Python app: the
    host in OpenTelemetry mode, the worker allowed to stream its own logs (so the host does
    not log them twice), and the distro it configures shipped with the app — with the
    exporter authenticating as the app's identity (local ingestion is off)."""
    settings = _app_settings()
    host = json.loads((ROOT / "host.json").read_text())
    requirements = (ROOT / "requirements.txt").read_text()

    assert host["telemetryMode"] == "OpenTelemetry"
    assert settings["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "'true'"
    assert "Authorization=AAD" in settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
    assert re.search(r"^azure-monitor-opentelemetry==\S+", requirements, re.MULTILINE)


def test_every_binding_setting_the_host_resolves_has_a_value():
    """A trigger's ``%NAME%`` must resolve to a non-empty app setting in Azure."""
    from function_app import app
    from local.host.app_loader import discover_functions

    settings = _app_settings()
    for spec in discover_functions(app):
        for binding in spec.bindings:
            for name in re.findall(r"%([^%]+)%", json.dumps(binding)):
                assert settings.get(name, "''") != "''", (spec.name, name)
