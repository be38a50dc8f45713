"""docs/configuration.md documents every environment variable the code reads, each exactly once."""

import re
from pathlib import Path

from tests.config.envvars import environment_variables

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "configuration.md").read_text()


def documented() -> dict[str, int]:
    """Variable -> how many table rows name it in their first column."""
    counts: dict[str, int] = {}
    for line in PAGE.splitlines():
        if line.startswith("| `"):
            for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]):
                counts[name] = counts.get(name, 0) + 1
    return counts


def test_every_variable_the_code_reads_is_documented():
    missing = {name: sorted(files) for name, files in environment_variables().items() if name not in documented()}
    assert not missing, f"read from the environment but missing from docs/configuration.md: {missing}"


def test_each_variable_is_documented_once():
    twice = sorted(name for name, count in documented().items() if count > 1)
    assert not twice, f"documented more than once in docs/configuration.md: {twice}"


def test_the_page_documents_nothing_the_code_does_not_read():
    stale = sorted(set(documented()) - set(environment_variables()))
    assert not stale, f"docs/configuration.md documents variables no code reads: {stale}"


def test_the_scan_finds_variables_read_in_each_way():
    # The scan itself must see every way the code reads the environment, or the tests above prove nothing.
    found = environment_variables()
    assert "DATABASE_URL" in found  # env_str(...) in config/settings/
    assert "CODA_BEAT_WORK_RESUME" in found  # _beat("work-resume", ...)
    assert "CODA_S3_SECRET_ACCESS_KEY" in found  # a storage location's "secret_key_env"
    assert "CODA_SOURCE_S3_REGION" in found  # os.environ.get(...) outside the settings
