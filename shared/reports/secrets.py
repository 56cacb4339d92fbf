"""Secret values in reports: ``<secret>``, whatever the format (DESIGN §12, §14).

One small function so catalog-driven redaction elsewhere (snapshot documents, diffs) can be
unified with it later: the catalog entry names each secret property (``ResourceType.secrets``,
at any depth); besides those, two shapes Graph uses for secrets in every type are masked —
an OMA-URI setting with ``isEncrypted`` (its ``value``) and a settings catalog secret value
(``…SecretSettingValue``: its ``value``).
"""

from __future__ import annotations

from typing import Any

from shared.graph.resource import ResourceType

SECRET = "<secret>"
_SECRET_SETTING_VALUE = "#microsoft.graph.deviceManagementConfigurationSecretSettingValue"


def mask_secrets(rtype: ResourceType, document: Any) -> Any:
    """A copy of ``document`` with every secret value replaced by ``<secret>`` (an empty or
    null secret stays as it is: there is nothing to hide and the report says so)."""
    return _mask(document, rtype.secrets)


def _mask(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, list):
        return [_mask(v, names) for v in value]
    if not isinstance(value, dict):
        return value
    hidden = set(names) & set(value)
    if value.get("isEncrypted") is True or value.get("@odata.type") == _SECRET_SETTING_VALUE:
        hidden.add("value")
    return {k: (SECRET if k in hidden and v not in (None, "") else _mask(v, names))
            for k, v in value.items()}
