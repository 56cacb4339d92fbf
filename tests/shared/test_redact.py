import pytest

from shared.platform.redact import REDACTED, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    "text",
    [
        f"Authorization: Bearer {JWT}",
        f'{{"error": {{"message": "bad header authorization=\\"Bearer {JWT}\\""}}}}',
        f"token {JWT} was rejected",
        "https://acct.blob.core.windows.net/c/b?sv=2024&sig=abcDEF123%3D&se=2030",
        "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=bXlrZXk=;",
        "client_secret=hunter2hunter2&grant_type=client_credentials",
        "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----",
    ],
)
def test_redact_known_credential_shapes_are_removed(text):
    cleaned = redact(text)
    assert REDACTED in cleaned
    for secret in (JWT, "abcDEF123", "bXlrZXk=", "hunter2hunter2", "MIIEv"):
        assert secret not in cleaned


def test_redact_literal_secrets_are_removed_anywhere():
    assert "the-app-secret" not in redact("echo: the-app-secret!", secrets=["the-app-secret"])


def test_redact_bounds_length():
    assert len(redact("x" * 5000, limit=100)) == 100


def test_redact_leaves_ordinary_text_alone():
    assert redact("Policy 'Baseline' not found (404)") == "Policy 'Baseline' not found (404)"
