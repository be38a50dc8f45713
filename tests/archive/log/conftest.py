from pathlib import Path

import pytest

from archive.descriptions import signing


@pytest.fixture
def signing_key(settings):
    """The archive's signing key, generated where the test settings point."""
    signing.key_generate(Path(settings.CODA_SIGNING_KEY_FILE))
    return signing.private_key_load()
