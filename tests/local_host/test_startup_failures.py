"""`python -m local.host` refuses to start with exactly one clear line on stderr."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx

from local.azurite import ACCOUNT, ACCOUNT_KEY, free_port
from tests.local_host.helpers import REPO_ROOT, host_env, host_process, run_host

HTTP_APP = """
import azure.functions as func
app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

@app.route(route="ping")
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")
"""


def _write_app(folder: Path, source: str, files: dict[str, str] | None = None) -> Path:
    (folder / "function_app.py").write_text(textwrap.dedent(source))
    for name, text in (files or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


def _one_line(result) -> str:
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_startup_missing_module_is_one_line(tmp_path: Path) -> None:
    result = run_host(["--app", "no_such_module:app"], tmp_path, host_env())
    assert _one_line(result) == (
        "local.host: cannot import app 'no_such_module:app': "
        "ModuleNotFoundError: No module named 'no_such_module'"
    )


def test_startup_app_raising_at_import_names_error_and_place(tmp_path: Path) -> None:
    _write_app(tmp_path, "x = 1\nraise RuntimeError('broken at import')\n")
    line = _one_line(run_host([], tmp_path, host_env()))
    assert line.startswith(
        "local.host: cannot import app 'function_app:app': RuntimeError: broken at import"
    )
    assert "function_app.py:2" in line


def test_startup_missing_app_attribute(tmp_path: Path) -> None:
    _write_app(tmp_path, HTTP_APP)
    line = _one_line(run_host(["--app", "function_app:missing"], tmp_path, host_env()))
    assert "has no attribute 'missing'" in line


def test_startup_unreachable_storage_is_one_line_without_the_key(tmp_path: Path) -> None:
    _write_app(tmp_path, HTTP_APP)
    port = free_port()  # nothing listens there
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
        f"QueueEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
        f"TableEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )
    result = run_host([], tmp_path, host_env(AzureWebJobsStorage=connection))
    line = _one_line(result)
    assert line.startswith("local.host: storage unreachable: ")
    assert f"http://127.0.0.1:{port}/{ACCOUNT}" in line
    assert ACCOUNT_KEY not in result.stderr + result.stdout


def test_startup_app_config_error_is_one_line(tmp_path: Path, storage_connection: str) -> None:
    _write_app(
        tmp_path, HTTP_APP, {
        "shared/__init__.py": "",
        "shared/platform/__init__.py": "",
        "shared/platform/config.py": """
            import os

            class ConfigError(Exception):
                pass

            def validate():
                if not os.environ.get("NEEDED_SETTING"):
                    raise ConfigError("missing required configuration: NEEDED_SETTING")
        """},
    )
    line = _one_line(run_host([], tmp_path, host_env(AzureWebJobsStorage=storage_connection)))
    assert line == "local.host: configuration error: missing required configuration: NEEDED_SETTING"


def test_startup_local_settings_fill_environment_but_process_env_wins(
    tmp_path: Path, storage_connection: str
) -> None:
    _write_app(tmp_path, HTTP_APP + textwrap.dedent(f"""
        import os
        assert os.environ["FROM_FILE"] == "file-value", "local.settings.json not applied"
        assert os.environ["AzureWebJobsStorage"] == {storage_connection!r}, "env must win"
    """))
    (tmp_path / "local.settings.json").write_text(
        '{"Values": {"FROM_FILE": "file-value", "AzureWebJobsStorage": "wrong"}}'
    )
    env = host_env(AzureWebJobsStorage=storage_connection)
    with host_process(tmp_path, env, cwd=tmp_path) as running:
        assert httpx.get(f"{running.base_url}/api/ping").text == "pong"
    assert running.process.returncode == 0


def test_startup_unset_app_setting_in_host_json_is_one_line(tmp_path: Path) -> None:
    _write_app(tmp_path, HTTP_APP)
    (tmp_path / "host.json").write_text(
        '{"extensions": {"durableTask": {"hubName": "%NOT_SET_ANYWHERE%"}}}'
    )
    line = _one_line(run_host([], tmp_path, host_env()))
    assert line == (
        "local.host: host.json extensions.durableTask.hubName refers to app setting "
        "'NOT_SET_ANYWHERE', which is not set"
    )


def test_startup_bad_timer_schedule_names_the_function(
    tmp_path: Path, storage_connection: str
) -> None:
    _write_app(tmp_path, """
        import azure.functions as func
        app = func.FunctionApp()

        @app.timer_trigger(schedule="61 * * * * *", arg_name="timer")
        def nightly(timer: func.TimerRequest) -> None:
            pass
    """)
    line = _one_line(run_host([], tmp_path, host_env(AzureWebJobsStorage=storage_connection)))
    assert line.startswith("local.host: function 'nightly': timer schedule '61 * * * * *': ")
    assert "second '61' is outside 0-59" in line


def test_startup_bad_route_constraint_names_the_function(
    tmp_path: Path, storage_connection: str
) -> None:
    _write_app(tmp_path, HTTP_APP.replace('route="ping"', 'route="x/{id:nonsense}"'))
    line = _one_line(run_host([], tmp_path, host_env(AzureWebJobsStorage=storage_connection)))
    assert line.startswith("local.host: function 'ping': route 'x/{id:nonsense}': ")


def test_startup_of_policyvault_without_its_configuration_names_the_variable(
        storage_connection: str) -> None:
    """The real app, not a stand-in: its own configuration check runs before serving."""
    env = {k: v for k, v in host_env(AzureWebJobsStorage=storage_connection).items()
           if not k.startswith(("API_AUTH_", "GRAPH_CLIENT_"))}
    env.update(GRAPH_CLIENT_ID="00000000-0000-0000-0000-000000000001",
               GRAPH_CLIENT_SECRET="not-a-real-secret")
    line = _one_line(run_host([], REPO_ROOT, env))
    assert line == ("local.host: configuration error: missing required configuration: "
                    "API_AUTH_ISSUER")


def _policyvault_env(storage_connection: str, **snapshot_key: str) -> dict[str, str]:
    """The real app's configuration but the snapshot key, which the test sets."""
    env = {k: v for k, v in host_env(AzureWebJobsStorage=storage_connection).items()
           if k not in ("PV_SNAPSHOT_KEK", "PV_KEY_VAULT_KEY_ID")}
    env.update(GRAPH_CLIENT_ID="00000000-0000-0000-0000-000000000001",
               GRAPH_CLIENT_SECRET="not-a-real-secret", API_AUTH_ISSUER="https://issuer.example",
               API_AUTH_AUDIENCE="api://policyvault",
               API_AUTH_JWKS_URL="https://issuer.example/keys", **snapshot_key)
    return env


def test_startup_of_policyvault_without_a_snapshot_key_names_both_options(
        storage_connection: str) -> None:
    line = _one_line(run_host([], REPO_ROOT, _policyvault_env(storage_connection)))
    assert line == ("local.host: configuration error: missing required configuration: "
                    "PV_KEY_VAULT_KEY_ID or PV_SNAPSHOT_KEK")


def test_startup_of_policyvault_with_a_malformed_kek_is_one_line_without_it(
        storage_connection: str) -> None:
    kek = "c2hvcnQta2V5"  # base64 of 9 bytes
    result = run_host([], REPO_ROOT, _policyvault_env(storage_connection, PV_SNAPSHOT_KEK=kek))
    assert _one_line(result).startswith(
        "local.host: configuration error: PV_SNAPSHOT_KEK must be 32 random bytes, base64")
    assert kek not in result.stderr + result.stdout
