from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.package import stage_package


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The deployment package, unpacked: only what .funcignore lets through."""
    return stage_package(tmp_path_factory.mktemp("package"))
