"""Integration fixtures: the real shared datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

from sociallearn.tasks import default_data_dir


@pytest.fixture(scope="session")
def datasets() -> Path:
    path = default_data_dir()
    if not (path / "sms_spam" / "SMSSpamCollection").is_file():
        pytest.fail(f"real datasets not found at {path}: set SOCIALLEARN_DATA_DIR")
    return path


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
