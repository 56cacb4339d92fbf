"""Why the local runtime refuses to start. Each message is one safe line for stderr.

    HostStartError            the runtime cannot start; `str()` is the whole explanation
    ├── HostConfigError       host.json, local.settings.json, an app setting or a binding is wrong
    ├── AppLoadError          the app module cannot be imported or is not a function app
    ├── AppConfigError        the app's own configuration check (`shared.platform.config`) failed
    └── StorageUnreachable    the storage account does not answer or refuses the credentials
"""

from __future__ import annotations


class HostStartError(Exception):
    """Raised when the runtime cannot start."""


class HostConfigError(HostStartError):
    """Raised when host.json, local.settings.json, an app setting or a binding is invalid."""


class AppLoadError(HostStartError):
    """Raised when the app module cannot be imported or is not a function app."""


class AppConfigError(HostStartError):
    """Raised when the app's configuration validation hook reports a ConfigError."""


class StorageUnreachable(HostStartError):
    """Raised when the storage endpoints do not answer in time or reject the credentials."""
