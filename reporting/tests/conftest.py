import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """PDFs are written under a fresh directory per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
